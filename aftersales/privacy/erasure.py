"""Erasure of a customer's personal data (PIPL art. 47) by anonymisation: the personal fields go everywhere, the
orders, amounts, scores, dates and store links stay so that every statistic is unchanged.

`erasure_refusals` names the legal reasons the erasure must wait; `erase_customer` is the audited service (the
handler's move); `anonymise_customer` the low-level anonymiser the retention purge reuses (no permission, no audit,
the caller holds the transaction).  What happens to each field is documented in docs/privacy.md ("Erasure")."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.customers import crypto
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.selectors import acting_store_id
from aftersales.organisation.permissions import Capability
from aftersales.privacy.choices import RequestScope, RequestStatus
from aftersales.privacy.export import customer_querysets
from aftersales.privacy.models import RightsRequest

MASK = "***"
# 机动车维修管理规定 (the Ministry of Transport's provisions on motor-vehicle repair, as amended): the repair file
# (维修档案) is kept at least 2 years.
REPAIR_FILE_YEARS = 2
# Tables never searched for the customer's values: Django's own, and the staff and organisation records (a
# member of staff may share the customer's name).  Customer and Vehicle rows are anonymised field by field.
_SWEEP_SKIP_APPS = frozenset({"auth", "admin", "contenttypes", "sessions", "organisation", "staff"})
_SWEEP_SKIP_MODELS = frozenset({"customers.Customer", "customers.Vehicle"})


def _years_after(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def erasure_refusals(customer: Customer, *, scope: str = "all", on: dt.datetime | None = None) -> list[str]:
    """The legal reasons erasure must wait (empty when it may go ahead), each naming when it becomes possible.
    The same for both scopes: the vehicle's VIN and plate are part of the repair file."""
    from aftersales.feedback.choices import ComplaintStatus
    from aftersales.feedback.models import Complaint
    from aftersales.rescue.choices import OPEN as RESCUE_OPEN
    from aftersales.rescue.models import RescueRequest
    from aftersales.service.choices import RepairOrderStatus
    from aftersales.service.models import RepairOrder

    on = on or clock.now()
    reasons: list[str] = []
    still = _(
        "the service is still being performed, so the data is needed to perform the contract (PIPL art. 13(2)); "
        "erasure becomes possible once it is finished."
    )
    for number in (
        RepairOrder.objects.filter(customer=customer)
        .exclude(status__in=(RepairOrderStatus.DELIVERED, RepairOrderStatus.CANCELLED))
        .order_by("pk")
        .values_list("number", flat=True)
    ):
        reasons.append(_("Repair order %(number)s is still open: %(why)s") % {"number": number, "why": still})
    for pk in (
        Complaint.objects.filter(customer=customer)
        .exclude(status=ComplaintStatus.CLOSED)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        reasons.append(_("Complaint #%(id)s is still being handled: %(why)s") % {"id": pk, "why": still})
    for pk in (
        RescueRequest.objects.filter(customer=customer, status__in=RESCUE_OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        reasons.append(_("Rescue request R%(id)s is still open: %(why)s") % {"id": pk, "why": still})
    last = (
        RepairOrder.objects.filter(customer=customer, status=RepairOrderStatus.DELIVERED)
        .exclude(delivered_at=None)
        .order_by("-delivered_at")
        .values_list("number", "delivered_at")
        .first()
    )
    if last is not None:
        number, delivered_at = last
        assert delivered_at is not None  # excluded above
        until = _years_after(delivered_at, REPAIR_FILE_YEARS)
        if until > on:
            reasons.append(
                _(
                    "The repair file (维修档案) of repair order %(number)s must be kept for at least %(years)s years "
                    "after the repair (机动车维修管理规定). Until then the data is only stored: all "
                    "processing other than storage has stopped (PIPL art. 47 para. 2). Erasure is possible from "
                    "%(date)s."
                )
                % {"number": number, "years": REPAIR_FILE_YEARS, "date": timezone.localtime(until).date().isoformat()}
            )
    return reasons


# ---------------------------------------------------------------------------------------------------- the anonymiser


def erased_label(customer_id: int) -> str:
    return f"已删除客户 Erased customer #{customer_id}"


def erased_vin(vehicle_id: int) -> str:
    """17 characters, unique (by the vehicle's id), plainly not a VIN (a VIN never holds I, O or Q)."""
    return f"ERASED{vehicle_id:011d}"[:17]


def _needle_forms(values: set[str]) -> list[str]:
    """Each value as stored in a text column and as JSON with ensure_ascii writes it (SQLite's JSON columns)."""
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        forms.add(value)
        forms.add(json.dumps(value)[1:-1])
    return sorted(forms, key=len, reverse=True)  # longest first: a phone inside an address goes with the address


def _scrub(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        for needle in needles:
            if needle in value:
                value = value.replace(needle, MASK)
        return value
    if isinstance(value, list):
        return [_scrub(item, needles) for item in value]
    if isinstance(value, dict):
        return {_scrub(key, needles): _scrub(item, needles) for key, item in value.items()}
    return value


def _text_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        and not f.choices
        and not isinstance(f, models.FileField)
    ]


def _scrub_rows(model: type[models.Model], pks: list[Any], needles: list[str]) -> int:
    """Replace the needles in every text and JSON field of the rows; the count of rows changed."""
    fields = _text_fields(model)
    if not fields or not pks or not needles:
        return 0
    changed = 0
    for row in model._base_manager.filter(pk__in=pks).only("pk", *[f.name for f in fields]):
        updates = {}
        for f in fields:
            old = getattr(row, f.attname)
            new = _scrub(old, needles)
            if new != old:
                updates[f.attname] = new
        if updates:
            model._base_manager.filter(pk=row.pk).update(**updates)
            changed += 1
    return changed


def _sweep(needles: list[str]) -> int:
    """Search every text and JSON column of every table of ours (but the skipped ones) for the needles, in SQL,
    and scrub the rows found: what a webhook payload, an audit entry, a cached API answer or a staff member's
    notification copied of the customer goes too."""
    if not needles:
        return 0
    quote = connection.ops.quote_name
    changed = 0
    for model in apps.get_models():
        if model._meta.app_label in _SWEEP_SKIP_APPS or model._meta.label in _SWEEP_SKIP_MODELS:
            continue
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = _text_fields(model)
        if not fields:
            continue
        clauses, params = [], []
        for f in fields:
            column = f"CAST({quote(str(f.column))} AS TEXT)"
            for needle in needles:
                escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                clauses.append(f"{column} LIKE %s ESCAPE '\\'")
                params.append(f"%{escaped}%")
        table, pk = quote(model._meta.db_table), quote(str(model._meta.pk.column))
        sql = f"SELECT {pk} FROM {table} WHERE {' OR '.join(clauses)}"  # noqa: S608 - names quoted, values bound
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            pks = [row[0] for row in cursor.fetchall()]
        changed += _scrub_rows(model, pks, needles)
    return changed


def _delete_files(model: type[models.Model], queryset: Any, field_name: str) -> int:
    deleted = 0
    for row in queryset.exclude(**{field_name: ""}):
        stored = getattr(row, field_name)
        if stored:
            stored.delete(save=False)  # the file leaves the storage at once; a rollback cannot bring it back
            deleted += 1
    queryset.update(**{field_name: ""})
    return deleted


def _vehicle_part(customer: Customer, counts: Counter[str]) -> set[str]:
    """Erase the vehicle data of the customer's cars; returns the values to search for elsewhere."""
    from aftersales.rescue.models import RescueRequest
    from aftersales.telematics.models import OdometerDay, VehicleAlert, VehicleEvent

    values: set[str] = set()
    vehicles = list(Vehicle.objects.filter(customer=customer))
    for vehicle in vehicles:
        values |= {vehicle.vin, vehicle.plate}
        Vehicle.objects.filter(pk=vehicle.pk).update(
            vin=erased_vin(vehicle.pk),
            plate="",
            purchase_date=None,
            purchase_price=None,
            insurance_expires_on=None,
            inspection_due_on=None,
            updated_at=clock.now(),
        )
    counts["vehicles"] += len(vehicles)
    ids = [v.pk for v in vehicles]
    counts["vehicle_alerts"] += VehicleAlert.objects.filter(vehicle_id__in=ids).update(reported={})
    counts["vehicle_events"] += VehicleEvent.objects.filter(vehicle_id__in=ids).delete()[0]
    counts["odometer_days"] += OdometerDay.objects.filter(vehicle_id__in=ids).delete()[0]
    rescues = RescueRequest.objects.filter(models.Q(customer=customer) | models.Q(vehicle_id__in=ids))
    for rescue in rescues.only("plate", "vin", "address"):
        values |= {rescue.plate, rescue.vin, rescue.address}
    counts["rescue_requests"] += rescues.update(plate="", vin="", address="", latitude=None, longitude=None)
    return {v for v in values if v}


def anonymise_customer(customer: Customer, *, scope: str = "all") -> dict[str, int]:
    """Anonymise the customer (scope "all") or only their vehicles' data (scope "vehicle"); no permission check
    and no audit: the caller (erase_customer, the retention purge) holds the transaction and answers for it.
    Returns what was done, per kind of record (counts only, never a value)."""
    from aftersales.messaging.models import InboundMessage, OutboxMessage
    from aftersales.service.models import Appointment, PickupEvent

    counts: Counter[str] = Counter()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    values = _vehicle_part(customer, counts)
    if scope == RequestScope.VEHICLE:
        counts["rows_scrubbed"] += _sweep(_needle_forms(values))
        return dict(counts)

    # What identifies the person, read before it goes: searched for in every table afterwards.
    values |= {customer.phone, customer.id_number, customer.address}
    tokens = {customer.phone_encrypted, customer.id_number_encrypted, customer.address_encrypted}
    tokens |= {customer.phone_hash, customer.phone_last4_hash, customer.id_number_hash}
    appointments = Appointment.objects.filter(customer=customer)
    for token in appointments.exclude(pickup_address_encrypted="").values_list("pickup_address_encrypted", flat=True):
        values.add(crypto.decrypt(token))
        tokens.add(token)
    outbox = OutboxMessage.objects.filter(customer=customer)
    for token in outbox.exclude(recipient_encrypted="").values_list("recipient_encrypted", flat=True):
        values.add(crypto.decrypt(token))
        tokens.add(token)
    inbound = InboundMessage.objects.filter(
        models.Q(customer=customer) | models.Q(sender_hash=customer.phone_hash) & ~models.Q(sender_hash="")
    )
    for token in inbound.exclude(sender_encrypted="").values_list("sender_encrypted", flat=True):
        values.add(crypto.decrypt(token))
        tokens.add(token)
    name = customer.name

    # The encrypted columns and their hashes: emptied.  The mobile's hash keeps the (group, hash) uniqueness with
    # a placeholder no mobile hashes to.
    Customer.objects.filter(pk=customer.pk).update(
        name=erased_label(customer.pk),
        gender="",
        birthday=None,
        phone_encrypted="",
        phone_hash=f"erased-{customer.pk}",
        phone_last4_hash="",
        id_number_encrypted="",
        id_number_hash="",
        address_encrypted="",
        # The integrator's id for the person would identify them again (and a re-sent person would land on the
        # erased file): gone too.
        external_source="",
        external_ref="",
        updated_at=clock.now(),
    )
    counts["customers"] += 1
    # The trail of the customer's own record keeps who changed what and when, not the values (former names,
    # birthday, gender): each value becomes the mask.
    from aftersales.core.models import AuditEntry

    for entry in AuditEntry.objects.filter(
        object_type="customers.customer", object_id=str(customer.pk), action__in=("customer.create", "customer.update")
    ):
        masked = {key: MASK for key in entry.changes} if isinstance(entry.changes, dict) else {}
        if masked != entry.changes:
            AuditEntry.objects.filter(pk=entry.pk).update(changes=masked)
            counts["audit_entries"] += 1
    counts["appointments"] += appointments.exclude(pickup_address_encrypted="").update(pickup_address_encrypted="")
    # Pick-up photos show the car at the customer's door (their home, often them): deleted.  The workshop's
    # inspection photos and evidence (service.Attachment) show the car and belong to the repair file: kept.
    counts["photos_deleted"] += _delete_files(
        PickupEvent, PickupEvent.objects.filter(appointment__customer=customer), "photo"
    )
    counts["outbox_messages"] += outbox.update(recipient_encrypted="", body=MASK, subject="")
    counts["inbound_messages"] += inbound.update(sender_encrypted="", sender_hash="")

    # Free text in the customer's own records: every occurrence of the name and the identifiers.
    own = _needle_forms(values | tokens | {name})
    for model, queryset in customer_querysets(customer):
        if model._meta.label in _SWEEP_SKIP_MODELS:
            continue
        counts["rows_scrubbed"] += _scrub_rows(model, list(queryset.values_list("pk", flat=True)), own)
    # Everywhere else: the identifiers, and the name when no other customer's name contains it (a common name
    # in someone else's complaint is not this customer).
    anywhere = values | tokens
    if len(name) >= 2 and not Customer.objects.exclude(pk=customer.pk).filter(name__contains=name).exists():
        anywhere.add(name)
    counts["rows_scrubbed"] += _sweep(_needle_forms(anywhere))
    return dict(counts)


# ---------------------------------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class ErasureResult:
    customer_id: int
    scope: str
    counts: dict[str, int] = field(default_factory=dict)


def erase_customer(
    *, customer: Customer, by: User, scope: str = "all", rights_request: RightsRequest | None = None
) -> ErasureResult:
    """Erase the customer's personal data (or only their vehicles' data) for a rights request or at the desk.
    Refused (PermissionDenied) unless `by` handles rights requests in a store the customer is linked to; refused
    with the legal reasons (ValidationError on "customer", nothing written) while the law requires keeping."""
    if scope not in RequestScope.values:
        raise ValidationError({"scope": [_("Choose “all” or “vehicle”.")]})
    store_id = acting_store_id(by, Capability.HANDLE_RIGHTS_REQUESTS, customer)
    if store_id is None:
        raise PermissionDenied(_("Your role may not erase this customer's data."))
    if rights_request is not None:
        # Only as the answer to a request in progress (identity checked), of this customer: rights_request_answer.
        if rights_request.customer_id != customer.pk:
            raise ValidationError({"rights_request": [_("This request is about another customer.")]})
        if rights_request.identity_checked_at is None or rights_request.status != RequestStatus.IN_PROGRESS:
            raise ValidationError(
                {"rights_request": [_("Check the customer's identity on the request before erasing their data.")]}
            )
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        reasons = erasure_refusals(locked, scope=scope)
        if reasons:
            raise ValidationError({"customer": reasons})
        counts = anonymise_customer(locked, scope=scope)
        audit_record(
            actor=by,
            action="customer.erase",
            object_type="customers.customer",
            object_id=customer.pk,
            store_id=store_id,
            changes={"scope": scope, "rights_request": rights_request.pk if rights_request else None, **counts},
        )
    customer.refresh_from_db()
    return ErasureResult(customer_id=customer.pk, scope=scope, counts=counts)
