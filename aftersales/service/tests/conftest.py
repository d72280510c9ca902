"""Fixtures for the service tests: store A of the cast, open 08:30–20:00 every day of the week (weekends
included), three bays (two general, one NEV high-voltage), a senior and a junior technician, a foreman and a
customer with a car.  Helpers walk a repair order through the real services, never by writing its status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.customers.models import Customer, Vehicle
from aftersales.messaging.backends import ConsoleBackend
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.services import settings_update
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import EstimateLine, RepairOrder
from aftersales.service.transitions import REPAIR_ORDER

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2 March 2026, 08:00 in Shanghai (00:00 UTC): the default "now" of the service tests.
MONDAY = dt.date(2026, 3, 2)
QC_ALL_TICKED = {
    key: True for key in ("work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts")
}


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def frozen(*args: int) -> Any:
    """A stopped clock at a Shanghai wall time."""
    return time_machine.travel(shanghai(*args), tick=False)


@dataclass
class Shop:
    cast: Any
    store: Store
    bay_1: Bay
    bay_2: Bay
    nev_bay: Bay
    senior: Any
    junior: Any
    foreman: Any
    customer: Customer
    vehicle: Vehicle

    @property
    def advisor(self) -> Any:
        return self.cast.alice


def _technician(username: str, store: Store, grade: str, role: str = Role.TECHNICIAN) -> Any:
    user = make_user(username, role, store=store)
    StaffProfile.objects.filter(user=user).update(technician_grade=grade)
    user.email = f"{username}@example.com"
    user.save(update_fields=["email"])
    user.refresh_from_db()
    return user


@pytest.fixture(autouse=True)
def console_outbox():
    ConsoleBackend.clear()
    yield ConsoleBackend.sent
    ConsoleBackend.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def shop(cast) -> Shop:
    store = cast.store_a
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=day, opens=dt.time(8, 30), closes=dt.time(20, 0)) for day in range(7)]
    )
    bays = [
        Bay.objects.create(store=store, code="B01", name="机修1", capabilities=[BayCapability.GENERAL]),
        Bay.objects.create(
            store=store, code="B02", name="机修2", capabilities=[BayCapability.GENERAL, BayCapability.MAINTENANCE]
        ),
        Bay.objects.create(store=store, code="N01", name="新能源", capabilities=[BayCapability.NEV_HIGH_VOLTAGE]),
    ]
    customer = make_customer(store, by=cast.alice, name="王五", phone="13800138000")
    vehicle = make_vehicle(customer, by=cast.alice, plate="沪A12345", mileage_km=12000)
    return Shop(
        cast=cast,
        store=store,
        bay_1=bays[0],
        bay_2=bays[1],
        nev_bay=bays[2],
        senior=_technician("sam", store, TechnicianGrade.SENIOR),
        junior=_technician("jun", store, TechnicianGrade.JUNIOR),
        foreman=_technician("fred", store, TechnicianGrade.SENIOR, role=Role.FOREMAN),
        customer=customer,
        vehicle=vehicle,
    )


def set_store_setting(shop: Shop, **changes: Any) -> None:
    settings_update(group=shop.store.group, store=shop.store, changes=changes, by=shop.cast.mia)


def open_order(shop: Shop, *, service_type: str = "repair", vehicle: Vehicle | None = None) -> RepairOrder:
    vehicle = vehicle or shop.vehicle
    return services.walk_in_register(store=shop.store, by=shop.advisor, service_type=service_type, plate=vehicle.plate)


def inspect(shop: Shop, order: RepairOrder, mileage: int = 12500) -> RepairOrder:
    return services.inspection_record(order=order, by=shop.advisor, mileage_in=mileage, fuel_level=50)


def approved_labour(shop: Shop, order: RepairOrder, hours: str = "1.0", min_grade: str = "") -> EstimateLine:
    """One labour line, sent and approved at the desk."""
    line = services.estimate_line_add(
        order=order, by=shop.advisor, kind="labour", description="更换刹车片", standard_hours=hours, min_grade=min_grade
    )
    services.estimate_send(estimate=line.estimate, by=shop.advisor)
    return services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)


def mover(shop: Shop, order: RepairOrder, target: str) -> Any:
    """The person whose move `order.status → target` is: the advisor's moves (release, cancel) by the advisor, the
    workshop's by the technician on his own job, or by the foreman while no technician is assigned."""
    move = REPAIR_ORDER.find(order.status, target)
    if move is not None and Capability.DISPATCH not in move.capabilities:
        return shop.advisor
    if order.technician_id is not None:
        return order.technician
    return shop.foreman


def walk(shop: Shop, order: RepairOrder, *targets: str) -> RepairOrder:
    """Move the order through `targets`, each move made by the person whose move it is (see `mover`)."""
    for target in targets:
        order = services.repair_order_transition(order=order, to=target, by=mover(shop, order, target), reason="test")
    return order


def order_in_progress(shop: Shop, *, hours: str = "1.0", bay: Bay | None = None) -> RepairOrder:
    """Reception → waiting → in bay → in progress, with one approved labour line of `hours`."""
    order = open_order(shop)
    inspect(shop, order)
    approved_labour(shop, order, hours)
    services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=bay or shop.bay_1)
    return walk(shop, order, S.WAITING, S.IN_BAY, S.IN_PROGRESS)


def order_ready(shop: Shop) -> RepairOrder:
    order = order_in_progress(shop)
    walk(shop, order, S.QC)
    services.quality_check_record(order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=True)
    order.refresh_from_db()
    return order
