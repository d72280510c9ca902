"""One repair order's life through the real services, in two halves, for the worker test (run with
`aftersales shell -c` in a sandbox, so each half is its own process): a dealer group with a store, its staff and a
customer's car; a group-wide subscription to every event type; then the order from arrival to delivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile, Store
from aftersales.organisation.permissions import Capability
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import RepairOrder
from aftersales.service.transitions import REPAIR_ORDER
from aftersales.webhooks.choices import ALL_TYPES
from aftersales.webhooks.services import subscription_create

QC_ALL_TICKED = {
    key: True for key in ("work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts")
}
PLATE = "沪A12345"


def setup(*, url: str, secret: str) -> None:
    group = make_group("g1", "测试集团")
    store = make_store(group, "SH01", "上海店")
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=d, opens=dt.time(0, 0), closes=dt.time(23, 59)) for d in range(7)]
    )
    Bay.objects.create(store=store, code="B01", name="机修1", capabilities=[BayCapability.GENERAL])
    make_user("advisor", Role.ADVISOR, store=store)
    foreman = make_user("foreman", Role.FOREMAN, store=store)
    senior = make_user("senior", Role.TECHNICIAN, store=store)
    StaffProfile.objects.filter(user__in=[senior, foreman]).update(technician_grade=TechnicianGrade.SENIOR)
    customer = make_customer(store, name="王五", phone="13800138000")
    make_vehicle(customer, plate=PLATE, mileage_km=12000)
    owner = make_user("integrator", Role.GROUP_MANAGER, group=group)
    subscription_create(
        by=owner, group=group, store=None, name="CRM", url=url, event_types=list(ALL_TYPES), secret=secret
    )


def _cast() -> tuple[Store, dict[str, Any]]:
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    return Store.objects.get(code="SH01"), users


def _mover(order: RepairOrder, target: str, users: dict[str, Any]) -> Any:
    """The advisor's moves (release, cancel) by the advisor, the workshop's by the assigned technician."""
    move = REPAIR_ORDER.find(order.status, target)
    if move is not None and Capability.DISPATCH not in move.capabilities:
        return users["advisor"]
    return order.technician or users["foreman"]


def first_half() -> None:
    """Arrival, inspection, an estimate the customer approves, dispatch, and work begun."""
    store, users = _cast()
    advisor, foreman, senior = users["advisor"], users["foreman"], users["senior"]
    order = services.walk_in_register(store=store, by=advisor, service_type="repair", plate=PLATE)
    services.inspection_record(order=order, by=advisor, mileage_in=12500, fuel_level=50)
    line = services.estimate_line_add(
        order=order, by=advisor, kind="labour", description="更换刹车片", standard_hours="1.0"
    )
    services.estimate_send(estimate=line.estimate, by=advisor)
    services.estimate_line_decide(line=line, decision="approved", channel="desk", by=advisor)
    services.repair_order_assign(order=order, by=foreman, technician=senior, bay=Bay.objects.get(code="B01"))
    for target in (S.WAITING, S.IN_BAY, S.IN_PROGRESS):
        order = services.repair_order_transition(order=order, to=target, by=_mover(order, target, users), reason="test")


def second_half() -> None:
    """Quality check, ready, delivered."""
    store, users = _cast()
    order = RepairOrder.objects.get(store=store)
    order = services.repair_order_transition(order=order, to=S.QC, by=_mover(order, S.QC, users), reason="test")
    services.quality_check_record(
        order=order, by=users["foreman"], passed=True, checklist=QC_ALL_TICKED, skip_washing=True
    )
    order.refresh_from_db()
    services.repair_order_deliver(
        order=order, by=users["advisor"], explanation="更换前刹车片", next_service_date=None, next_service_km=None
    )


def sweep_now() -> None:
    """Queue the webhook sweep for the worker (it also runs every minute on its own)."""
    from aftersales.webhooks.tasks import webhook_sweep

    webhook_sweep()
