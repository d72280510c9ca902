"""The migration to one file per customer and vehicle in the group (customers 0005), on both databases:
two stores' duplicate records of one car become one vehicle carrying both stores' visits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent, Customer, CustomerStoreLink, Vehicle
from aftersales.service.models import RepairOrder

BEFORE = ("customers", "0004_group_files_schema")
GEO = {"latitude": Decimal("31.2"), "longitude": Decimal("121.5")}


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what was just applied


def _at(day: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 6, day, 9, 0))


@pytest.mark.django_db(transaction=True)
def test_duplicate_records_of_one_car_at_two_stores_become_one_file_with_both_histories() -> None:
    executor = _migrate([BEFORE])
    # Every app as migrated now (the service app's orders included), with customers at 0004.
    old = executor._create_project_state(with_applied_migrations=True).apps
    Group, Store = old.get_model("organisation", "DealerGroup"), old.get_model("organisation", "Store")
    OldCustomer, OldVehicle = old.get_model("customers", "Customer"), old.get_model("customers", "Vehicle")
    OldConsent = old.get_model("customers", "Consent")
    OldOrder = old.get_model("service", "RepairOrder")

    group = Group.objects.create(code="mg", name="迁移集团")
    other_group = Group.objects.create(code="og", name="别的集团")
    store_a = Store.objects.create(group=group, code="MA01", name="A店", city="上海", address="A路1号", **GEO)
    store_b = Store.objects.create(group=group, code="MB01", name="B店", city="杭州", address="B路2号", **GEO)
    store_c = Store.objects.create(group=other_group, code="MC01", name="C店", city="北京", address="C路3号", **GEO)

    def customer(store, name: str, phone_hash: str, **extra):  # noqa: ANN001, ANN202
        return OldCustomer.objects.create(
            store=store, name=name, phone_encrypted="x", phone_hash=phone_hash, phone_last4_hash="l4", **extra
        )

    at_a = customer(store_a, "王建华", "same-phone")
    at_b = customer(store_b, "王建华", "same-phone", birthday=dt.date(1985, 6, 12))
    elsewhere = customer(store_c, "王建华", "same-phone")  # another group: another handler, another file
    car_a = OldVehicle.objects.create(
        store=store_a, customer=at_a, vin="LSVAB2BM5LN000001", plate="沪A12345", brand="大众", model_name="朗逸",
        mileage_km=20000, mileage_recorded_on=dt.date(2026, 3, 1),
    )  # fmt: skip
    car_b = OldVehicle.objects.create(
        store=store_b, customer=at_b, vin="LSVAB2BM5LN000001", plate="沪A12345", brand="大众", model_name="朗逸",
        mileage_km=31000, mileage_recorded_on=dt.date(2026, 6, 1),
    )  # fmt: skip
    OldConsent.objects.create(
        customer=at_a, purpose="marketing", granted=True, notice_version="2026-01", channel="desk", decided_at=_at(1)
    )
    OldConsent.objects.create(
        customer=at_b, purpose="marketing", granted=False, notice_version="2026-01", channel="desk", decided_at=_at(5)
    )
    for number, store, owner, car, day in (("RO-A-1", store_a, at_a, car_a, 2), ("RO-B-1", store_b, at_b, car_b, 8)):
        OldOrder.objects.create(
            store=store, number=number, customer=owner, vehicle=car, service_type="maintenance", status="delivered",
            arrived_at=_at(day), delivered_at=_at(day) + dt.timedelta(hours=3), billed_total=Decimal("680.00"),
        )  # fmt: skip

    executor.loader.build_graph()
    _migrate(executor.loader.graph.leaf_nodes())

    merged = Customer.objects.get(group__code="mg")
    assert merged.pk == at_a.pk and merged.birthday == dt.date(1985, 6, 12)  # the oldest file, completed
    assert set(merged.store_links.values_list("store__code", flat=True)) == {"MA01", "MB01"}
    vehicle = Vehicle.objects.get(group__code="mg", vin="LSVAB2BM5LN000001")
    assert vehicle.pk == car_a.pk and vehicle.customer_id == merged.pk
    assert (vehicle.plate, vehicle.mileage_km, vehicle.mileage_recorded_on) == ("沪A12345", 31000, dt.date(2026, 6, 1))
    visits = RepairOrder.objects.filter(vehicle=vehicle).order_by("arrived_at")
    assert [(o.number, o.store.code, o.customer_id) for o in visits] == [
        ("RO-A-1", "MA01", merged.pk),
        ("RO-B-1", "MB01", merged.pk),
    ]
    # The latest answer per purpose wins: the withdrawal at store B holds for the group.
    assert list(Consent.objects.filter(customer=merged).values_list("purpose", "granted")) == [("marketing", False)]
    assert Customer.objects.filter(pk=elsewhere.pk, group__code="og").exists()
    assert CustomerStoreLink.objects.filter(customer_id=elsewhere.pk, store__code="MC01").exists()
    assert AuditEntry.objects.filter(action="customer.merge", object_id=str(merged.pk)).exists()
    assert AuditEntry.objects.filter(action="vehicle.merge", object_id=str(vehicle.pk)).exists()
