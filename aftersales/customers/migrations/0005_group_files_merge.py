"""One customer and one vehicle file per dealer group (issue 11).

Until now a store owned its customers and vehicles, so a car serviced at two stores of a group had two files.
This migration:
1. puts every customer and vehicle in the group of the store that registered it;
2. merges customers of one group that share a mobile number (through its keyed hash), keeping the oldest file,
   filling its empty fields from the others and keeping, per consent purpose, the most recent answer;
3. merges vehicles of one group that share a VIN, keeping the oldest file, the latest owner, plate and odometer;
4. where two remaining vehicles of a group still carry the same plate, keeps it on the one updated last;
5. links each customer to every store that registered, booked, served or wrote to them.
Every row that pointed at a merged record (orders, bookings, surveys, complaints, messages, consents …) is moved
to the kept one, found through the relations of the historical models, so no visit is lost whatever app holds it.
Each merge is written to the audit trail.  The data cannot be split again, so going back leaves it merged.
"""

from __future__ import annotations

from django.db import migrations
from django.db.models import Count


def _related(model):  # noqa: ANN001, ANN202 - historical models
    """The foreign keys of other models (and of the model itself) that point at `model`."""
    return [rel for rel in model._meta.related_objects if rel.one_to_many or rel.one_to_one]


def _repoint(model, keep: int, drop: list[int], *, skip: tuple = ()) -> None:  # noqa: ANN001
    for rel in _related(model):
        if rel.related_model in skip:
            continue
        column = rel.field.attname
        rel.related_model._base_manager.filter(**{f"{column}__in": drop}).update(**{column: keep})


def _audit(apps, *, action: str, object_type: str, object_id: int, store_id: int | None, changes: dict) -> None:  # noqa: ANN001
    apps.get_model("core", "AuditEntry").objects.create(
        actor=None,
        store_id=store_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=changes,
    )


def _merge_customers(apps, links: set[tuple[int, int]]) -> None:  # noqa: ANN001
    Customer = apps.get_model("customers", "Customer")
    Consent = apps.get_model("customers", "Consent")
    Link = apps.get_model("customers", "CustomerStoreLink")
    duplicated = (
        Customer.objects.values("group_id", "phone_hash").annotate(n=Count("id")).filter(n__gt=1).order_by()
    )
    for row in duplicated:
        files = list(Customer.objects.filter(group_id=row["group_id"], phone_hash=row["phone_hash"]).order_by("id"))
        keep, others = files[0], files[1:]
        drop = [c.pk for c in others]
        for other in others:
            links.add((keep.pk, other.store_id))
            for field in ("gender", "birthday", "id_number_encrypted", "id_number_hash", "address_encrypted"):
                if not getattr(keep, field) and getattr(other, field):
                    setattr(keep, field, getattr(other, field))
            keep.is_priority = keep.is_priority or other.is_priority
            if keep.referred_by_customer_id is None and other.referred_by_customer_id not in (None, keep.pk):
                keep.referred_by_customer_id = other.referred_by_customer_id
            if keep.referred_by_staff_id is None:
                keep.referred_by_staff_id = other.referred_by_staff_id
        keep.save()
        # Per purpose the latest answer wins: a withdrawal at one store is a withdrawal for the group.
        everyone = [keep.pk, *drop]
        for purpose in set(Consent.objects.filter(customer_id__in=everyone).values_list("purpose", flat=True)):
            answers = list(Consent.objects.filter(customer_id__in=everyone, purpose=purpose).order_by("-decided_at", "-id"))
            Consent.objects.filter(pk__in=[a.pk for a in answers[1:]]).delete()
            Consent.objects.filter(pk=answers[0].pk).update(customer_id=keep.pk)
        _repoint(Customer, keep.pk, drop, skip=(Consent, Link))
        Customer.objects.filter(pk__in=drop).delete()
        _audit(
            apps,
            action="customer.merge",
            object_type="customers.customer",
            object_id=keep.pk,
            store_id=keep.store_id,
            changes={"merged": drop, "by": "phone"},
        )


def _merge_vehicles(apps) -> None:  # noqa: ANN001
    Vehicle = apps.get_model("customers", "Vehicle")
    duplicated = Vehicle.objects.values("group_id", "vin").annotate(n=Count("id")).filter(n__gt=1).order_by()
    for row in duplicated:
        files = list(Vehicle.objects.filter(group_id=row["group_id"], vin=row["vin"]).order_by("id"))
        keep, others = files[0], files[1:]
        latest = max(files, key=lambda v: (v.mileage_recorded_on or v.created_at.date(), v.updated_at, v.pk))
        furthest = max(files, key=lambda v: (v.mileage_km, v.pk))
        keep.customer_id = latest.customer_id
        keep.plate = latest.plate or next((v.plate for v in sorted(files, key=lambda v: -v.pk) if v.plate), "")
        keep.mileage_km, keep.mileage_recorded_on = furthest.mileage_km, furthest.mileage_recorded_on
        for field in ("purchase_date", "purchase_price", "insurance_expires_on", "inspection_due_on"):
            values = [getattr(v, field) for v in files if getattr(v, field) is not None]
            if field in ("insurance_expires_on", "inspection_due_on") and values:
                setattr(keep, field, max(values))
            elif getattr(keep, field) is None and values:
                setattr(keep, field, values[0])
        drop = [v.pk for v in others]
        # The plate moves to the kept file: free it on the others first (plates are unique per store until 0006).
        Vehicle.objects.filter(pk__in=drop).update(plate="")
        keep.save()
        _repoint(Vehicle, keep.pk, drop)
        Vehicle.objects.filter(pk__in=drop).delete()
        _audit(
            apps,
            action="vehicle.merge",
            object_type="customers.vehicle",
            object_id=keep.pk,
            store_id=keep.store_id,
            changes={"merged": drop, "by": "vin"},
        )


def _free_shared_plates(apps) -> None:  # noqa: ANN001
    Vehicle = apps.get_model("customers", "Vehicle")
    shared = (
        Vehicle.objects.exclude(plate="").values("group_id", "plate").annotate(n=Count("id")).filter(n__gt=1).order_by()
    )
    for row in shared:
        holders = list(Vehicle.objects.filter(group_id=row["group_id"], plate=row["plate"]).order_by("-updated_at", "-id"))
        for vehicle in holders[1:]:
            Vehicle.objects.filter(pk=vehicle.pk).update(plate="")
            _audit(
                apps,
                action="vehicle.merge",
                object_type="customers.vehicle",
                object_id=vehicle.pk,
                store_id=vehicle.store_id,
                changes={"plate": [row["plate"], ""], "plate_kept_by": holders[0].pk},
            )


def _link_stores(apps, links: set[tuple[int, int]]) -> None:  # noqa: ANN001
    Customer = apps.get_model("customers", "Customer")
    Link = apps.get_model("customers", "CustomerStoreLink")
    Store = apps.get_model("organisation", "Store")
    registered = set(Customer.objects.values_list("id", "store_id"))
    served: set[tuple[int, int]] = set()
    for rel in _related(Customer):
        model = rel.related_model
        if model is Link or model is Customer:
            continue
        store_field = next((f for f in model._meta.concrete_fields if f.name == "store" and f.related_model is Store), None)
        if store_field is None:
            continue
        pairs = model._base_manager.exclude(**{f"{rel.field.attname}__isnull": True}).values_list(
            rel.field.attname, "store_id"
        )
        served.update(pairs.distinct())
    existing = set(Customer.objects.values_list("id", flat=True))
    rows = []
    for customer_id, store_id in sorted(registered | served | links):
        if customer_id not in existing:
            continue
        reason = "registered" if (customer_id, store_id) in registered else ("merged" if (customer_id, store_id) in links else "visit")
        rows.append(Link(customer_id=customer_id, store_id=store_id, reason=reason))
    Link.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def forwards(apps, schema_editor) -> None:  # noqa: ANN001, ARG001
    Customer = apps.get_model("customers", "Customer")
    Vehicle = apps.get_model("customers", "Vehicle")
    Store = apps.get_model("organisation", "Store")
    for store_id, group_id in Store.objects.values_list("id", "group_id"):
        Customer.objects.filter(store_id=store_id).update(group_id=group_id)
        Vehicle.objects.filter(store_id=store_id).update(group_id=group_id)
    links: set[tuple[int, int]] = set()
    _merge_customers(apps, links)
    _merge_vehicles(apps)
    _free_shared_plates(apps)
    _link_stores(apps, links)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("customers", "0004_group_files_schema"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
