"""The rulebook as the services enforce it (issue 9, item 1 and 3).

- The customer's link is the customer's: a decision posted to it from a browser with a staff session is refused and
  writes nothing; the same POST without a session is the customer's decision, recorded with the channel `link`.
- The link itself is given only to the roles that send it (RECEIVE: advisor, manager), in the API and on the page.
- Every service of the service process refuses a role the rulebook does not allow, before anything else and
  writing nothing; the roles it allows get through (so a refusal is the role's, not the scene's).

The expectations are written out by hand from the rules of issue 9 (SPEC §3.4 for the states), not read from
`transitions.py`, so a change to the table must be made on purpose in both places.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core.models import AuditEntry
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.choices import Role
from aftersales.organisation.rules import Party
from aftersales.parts import services as parts_services
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import (
    Appointment,
    Attachment,
    DeferredWork,
    Estimate,
    EstimateLine,
    JobClockSegment,
    LinePartIssue,
    PickupEvent,
    QualityCheck,
    RepairOrder,
    RepairOrderEvent,
)
from aftersales.service.services.links import order_from_token, order_link_token
from aftersales.service.transitions import APPOINTMENT, DEFERRED_WORK, ESTIMATE_LINE, PICKUP, REPAIR_ORDER

from .conftest import QC_ALL_TICKED, Shop, approved_labour, frozen, inspect, open_order, shanghai

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Everyone who might try: the store's roles, the technician on the job and another one, the group's analyst,
# another store's advisor, and the two parties that are not staff.
PERSONAS = (
    "advisor",
    "own_technician",
    "other_technician",
    "foreman",
    "agent",
    "parts",
    "manager",
    "group",
    "stranger",
    "driver",
    "other_driver",
    "customer",
    "system",
)
_RECEIVE = {"advisor", "manager"}
_WORKSHOP = {"own_technician", "foreman", "manager"}  # DISPATCH, or WORK on one's own job
_QC = {"foreman", "manager"}
_BOOK = {"advisor", "agent", "manager"}
_PICKUP = _RECEIVE | {"driver"}  # the advisor, or the driver on the pick-up assigned to them (never another driver)


@dataclass
class Scene:
    """Store A (conftest `shop`) with an order at reception: inspected, an approved labour line and an approved part
    line, the senior technician `sam` and bay 1 assigned; and a booked appointment of another car with a pick-up."""

    shop: Shop
    people: dict[str, Any]
    order: RepairOrder
    labour: EstimateLine
    part: EstimateLine
    appointment: Appointment
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def alice(self) -> Any:
        return self.shop.cast.alice

    def at(self, state: str) -> RepairOrder:
        """Put the order in `state` (test data only: every guard of the moves tried from there is satisfied)."""
        RepairOrder.objects.filter(pk=self.order.pk).update(status=state)
        self.order.refresh_from_db()
        return self.order

    def sent_line(self) -> EstimateLine:
        """A fee line sent to the customer and still pending."""
        line = services.estimate_line_add(order=self.order, by=self.alice, kind="fee", description="检测费", amount=50)
        services.estimate_send(estimate=line.estimate, by=self.alice)
        return line

    def draft_line(self) -> EstimateLine:
        return services.estimate_line_add(order=self.order, by=self.alice, kind="fee", description="洗车", amount=30)

    def car_ready(self) -> None:
        """The booked car checked in (at the store) and its order ready to go back."""
        order = services.appointment_check_in(appointment=self.appointment, by=self.alice)
        RepairOrder.objects.filter(pk=order.pk).update(status=S.READY)
        self.appointment.refresh_from_db()

    def deferred(self) -> DeferredWork:
        line = self.sent_line()
        services.estimate_line_decide(line=line, decision="declined", channel="desk", by=self.alice)
        return DeferredWork.objects.get(source_line=line)


@pytest.fixture
def scene(shop) -> Any:
    with frozen(2026, 3, 2, 9, 0):
        cast = shop.cast
        people = {
            "advisor": cast.alice,
            "own_technician": shop.senior,
            "other_technician": shop.junior,
            "foreman": shop.foreman,
            "agent": make_user("ada", Role.AGENT, store=shop.store),
            "parts": make_user("pat", Role.PARTS_CLERK, store=shop.store),
            "manager": cast.mia,
            "group": cast.grace,
            "stranger": cast.carol,
            "driver": cast.dan,
            "other_driver": make_user("dora", Role.DRIVER, store=shop.store),
            "customer": Party.CUSTOMER,
            "system": Party.SYSTEM,
        }
        order = open_order(shop)
        inspect(shop, order)
        labour = approved_labour(shop, order)
        # The part line is of a catalogue part with two on the shelf (for the parts clerk's issue and return).
        pads = parts_services.part_save(
            group=shop.store.group, by=people["parts"], code="BP-1", name="刹车片", category="oem"
        )
        parts_services.goods_receive(
            store=shop.store,
            by=people["parts"],
            part=pads,
            supplier="配件中心",
            received_on=dt.date(2026, 3, 1),
            unit_cost="100",
            quantity=2,
            batch_number="L1",
            source_voucher="V1",
            certificate_checked=True,
        )
        part = services.estimate_line_add(
            order=order, by=cast.alice, kind="part", description="刹车片", part_number="BP-1", unit_price="380"
        )
        services.estimate_send(estimate=part.estimate, by=cast.alice)
        part = services.estimate_line_decide(line=part, decision="approved", channel="desk", by=cast.alice)
        services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
        order.refresh_from_db()
        customer = make_customer(shop.store, by=cast.alice, name="赵六", phone="13900139000")
        vehicle = make_vehicle(customer, by=cast.alice, plate="沪A67890", mileage_km=3000)
        start = shanghai(2026, 3, 3, 9, 30)
        appointment = services.appointment_book(
            store=shop.store,
            start=start,
            service_type="maintenance",
            channel="phone",
            customer=customer,
            vehicle=vehicle,
            by=cast.alice,
            advisor=cast.alice,
            pickup_address="上海市徐汇区漕溪北路1号",
            pickup_from=start - dt.timedelta(hours=2),
            pickup_to=start - dt.timedelta(hours=1),
        )
        appointment = services.appointment_assign_driver(appointment=appointment, driver=cast.dan, by=cast.alice)
        yield Scene(shop=shop, people=people, order=order, labour=labour, part=part, appointment=appointment)


@dataclass(frozen=True)
class Call:
    """One service call of the service process: the move of the rulebook it makes, who may make it (by hand), the
    record put in the state the move starts from, and the call itself."""

    move: tuple[str, str]  # (lifecycle, move)
    allowed: frozenset[str]
    prepare: Callable[[Scene], Any]
    run: Callable[[Scene, Any, Any], Any]


def _transition(state: str, target: str) -> tuple[Callable[[Scene], Any], Callable[[Scene, Any, Any], Any]]:
    def run(sc: Scene, _ctx: Any, by: Any) -> Any:
        return services.repair_order_transition(order=sc.order, to=target, by=by, reason="测试")

    return (lambda sc: sc.at(state)), run


def _qc(passed: bool, skip_washing: bool = False) -> Callable[[Scene, Any, Any], Any]:
    def run(sc: Scene, _ctx: Any, by: Any) -> Any:
        return services.quality_check_record(
            order=sc.order,
            by=by,
            passed=passed,
            checklist=QC_ALL_TICKED if passed else {},
            notes="" if passed else "漏油",
            skip_washing=skip_washing,
        )

    return run


def _decide(decision: str) -> Callable[[Scene, Any, Any], Any]:
    def run(sc: Scene, line: EstimateLine, by: Any) -> Any:
        # The customer decides through the link; staff note a decision given at the desk.
        channel = "link" if by is Party.CUSTOMER else "desk"
        return services.estimate_line_decide(line=line, decision=decision, channel=channel, by=by)

    return run


def _close(status: str) -> Callable[[Scene, Any, Any], Any]:
    def run(sc: Scene, item: DeferredWork, by: Any) -> Any:
        return services.deferred_work_close(item=item, by=by, status=status)

    return run


def _nothing(sc: Scene) -> None:
    return None


CALLS: dict[str, Call] = {
    # The repair order's generic moves.
    "release": Call(("repair_order", "release"), frozenset(_RECEIVE), *_transition(S.RECEPTION, S.WAITING)),
    "to_bay": Call(("repair_order", "to_bay"), frozenset(_WORKSHOP), *_transition(S.WAITING, S.IN_BAY)),
    "start_work": Call(("repair_order", "start_work"), frozenset(_WORKSHOP), *_transition(S.IN_BAY, S.IN_PROGRESS)),
    # (1) the technician takes his own job out of the bay.
    "out_of_bay": Call(("repair_order", "out_of_bay"), frozenset(_WORKSHOP), *_transition(S.IN_BAY, S.WAITING)),
    "wait_parts": Call(
        ("repair_order", "wait_parts"), frozenset(_WORKSHOP), *_transition(S.IN_PROGRESS, S.WAITING_PARTS)
    ),
    "parts_arrived": Call(
        ("repair_order", "parts_arrived"), frozenset(_WORKSHOP), *_transition(S.WAITING_PARTS, S.IN_PROGRESS)
    ),
    "to_qc": Call(("repair_order", "to_qc"), frozenset(_WORKSHOP), *_transition(S.IN_PROGRESS, S.QC)),
    # (3) the advisor may mark a washed car ready.
    "washed": Call(("repair_order", "washed"), frozenset(_WORKSHOP | {"advisor"}), *_transition(S.WASHING, S.READY)),
    # (2) cancelling is the advisor's only.
    "cancel": Call(("repair_order", "cancel"), frozenset(_RECEIVE), *_transition(S.IN_BAY, S.CANCELLED)),
    # Opening it (a walk-in at the desk; here the booked car of the scene, which has no open order).
    "walk_in": Call(
        ("repair_order", "open"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.walk_in_register(
            store=sc.shop.store, by=by, service_type="repair", plate=sc.appointment.vehicle.plate
        ),
    ),
    # Its forms and actions.
    "qc_pass": Call(("repair_order", "qc_pass"), frozenset(_QC), lambda sc: sc.at(S.QC), _qc(True)),
    "qc_pass_no_wash": Call(
        ("repair_order", "qc_pass_no_wash"), frozenset(_QC), lambda sc: sc.at(S.QC), _qc(True, skip_washing=True)
    ),
    "qc_fail": Call(("repair_order", "qc_fail"), frozenset(_QC), lambda sc: sc.at(S.QC), _qc(False)),
    "deliver": Call(
        ("repair_order", "deliver"),
        frozenset(_RECEIVE),
        lambda sc: sc.at(S.READY),
        lambda sc, _ctx, by: services.repair_order_deliver(
            order=sc.order,
            by=by,
            explanation="已更换刹车片",
            next_service_date=None,
            next_service_km=None,
            confirm_pending_batches=True,  # the scene's part has no batch recorded
        ),
    ),
    "assign": Call(
        ("repair_order", "assign"),
        frozenset(_QC),  # DISPATCH: the foreman and the manager
        _nothing,
        lambda sc, _ctx, by: services.repair_order_assign(
            order=sc.order, by=by, technician=sc.shop.junior, bay=sc.shop.bay_2
        ),
    ),
    "inspect": Call(
        ("repair_order", "inspect"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.inspection_record(order=sc.order, by=by, mileage_in=12600, fuel_level=40),
    ),
    "estimate_line_add": Call(
        ("repair_order", "estimate"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.estimate_line_add(
            order=sc.order, by=by, kind="fee", description="环保费", amount=15
        ),
    ),
    "estimate_line_remove": Call(
        ("repair_order", "estimate"),
        frozenset(_RECEIVE),
        Scene.draft_line,
        lambda sc, line, by: services.estimate_line_remove(line=line, by=by),
    ),
    "estimate_send": Call(
        ("repair_order", "estimate"),
        frozenset(_RECEIVE),
        Scene.draft_line,
        lambda sc, line, by: services.estimate_send(estimate=line.estimate, by=by),
    ),
    "evidence": Call(
        ("repair_order", "evidence"),
        frozenset(_RECEIVE | _WORKSHOP),
        _nothing,
        lambda sc, _ctx, by: services.attachment_add(
            order=sc.order,
            by=by,
            upload=SimpleUploadedFile("x.png", PNG, content_type="image/png"),
            purpose="evidence",
            line=sc.labour,
        ),
    ),
    "part_trace": Call(
        ("repair_order", "part_trace"),
        frozenset(_RECEIVE | _WORKSHOP),  # RECEIVE or DISPATCH, or the technician on his own job
        _nothing,
        lambda sc, _ctx, by: services.part_trace_record(line=sc.part, by=by, batch_number="B2026-03"),
    ),
    # The parts ledger onto the order: the parts clerk or the manager; the removed part's fate: the advisor's.
    "part_issue": Call(
        ("repair_order", "part_issue"),
        frozenset({"parts", "manager"}),
        _nothing,
        lambda sc, _ctx, by: services.line_part_issue(line=sc.part, by=by),
    ),
    "part_return": Call(
        ("repair_order", "part_return"),
        frozenset({"parts", "manager"}),
        lambda sc: services.line_part_issue(line=sc.part, by=sc.people["parts"])[0].batch,
        lambda sc, batch, by: services.line_part_return(line=sc.part, by=by, batch=batch, quantity="1"),
    ),
    "removed_part": Call(
        ("repair_order", "removed_part"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.line_removed_part_record(line=sc.part, by=by, disposition="returned"),
    ),
    # A line's decision: the advisor at the desk, or the customer through the link (the system never decides).
    "decide_approve": Call(
        ("estimate_line", "approve"), frozenset(_RECEIVE | {"customer"}), Scene.sent_line, _decide("approved")
    ),
    "decide_decline": Call(
        ("estimate_line", "decline"), frozenset(_RECEIVE | {"customer"}), Scene.sent_line, _decide("declined")
    ),
    "deferred_done": Call(("deferred_work", "done"), frozenset(_RECEIVE), Scene.deferred, _close("done")),
    "deferred_dismiss": Call(("deferred_work", "dismiss"), frozenset(_RECEIVE), Scene.deferred, _close("dismissed")),
    # The appointment.
    "appointment_reschedule": Call(
        ("appointment", "reschedule"),
        frozenset(_BOOK | {"customer"}),
        _nothing,
        lambda sc, _ctx, by: services.appointment_reschedule(
            appointment=sc.appointment, start=shanghai(2026, 3, 3, 10, 30), by=by
        ),
    ),
    "appointment_cancel": Call(
        ("appointment", "cancel"),
        frozenset(_BOOK | {"customer"}),
        _nothing,
        lambda sc, _ctx, by: services.appointment_cancel(appointment=sc.appointment, by=by, reason="改期"),
    ),
    "appointment_assign_driver": Call(
        ("appointment", "assign_driver"),
        frozenset(_BOOK),  # BOOK or RECEIVE
        _nothing,
        lambda sc, _ctx, by: services.appointment_assign_driver(
            appointment=sc.appointment, driver=sc.people["other_driver"], by=by
        ),
    ),
    "appointment_book": Call(
        ("appointment", "book"),
        frozenset(_BOOK | {"customer"}),  # staff who book, or the customer on the store's booking page
        _nothing,
        lambda sc, _ctx, by: services.appointment_book(
            store=sc.shop.store,
            start=shanghai(2026, 3, 3, 11, 30),
            service_type="maintenance",
            channel="online" if by is Party.CUSTOMER else "phone",
            customer=sc.shop.customer,
            vehicle=sc.shop.vehicle,
            by=by,
        ),
    ),
    "appointment_check_in": Call(
        ("appointment", "check_in"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.appointment_check_in(appointment=sc.appointment, by=by),
    ),
    # The pick-up: the driver of this booking (dan) or the advisor; the check-in puts the car at the store.
    "pickup_collect": Call(
        ("pickup", "collect"),
        frozenset(_PICKUP),
        _nothing,
        lambda sc, _ctx, by: services.pickup_record(appointment=sc.appointment, move="collect", by=by),
    ),
    "pickup_arrive": Call(
        ("pickup", "arrive"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.appointment_check_in(appointment=sc.appointment, by=by),
    ),
    "pickup_deliver_back": Call(
        ("pickup", "deliver_back"),
        frozenset(_PICKUP),
        Scene.car_ready,
        lambda sc, _ctx, by: services.pickup_record(appointment=sc.appointment, move="deliver_back", by=by),
    ),
    # The facts the KPIs read (KPIS.md): the advisor's reception facts and comeback decision, the technician's
    # own job clock (nobody else clocks for him, not even the foreman).
    "receive": Call(
        ("repair_order", "receive"),
        frozenset(_RECEIVE),
        lambda sc: RepairOrder.objects.filter(pk=sc.order.pk).update(reception_started_at=None),
        lambda sc, _ctx, by: services.repair_order_receive(order=sc.order, by=by),
    ),
    "record_facts": Call(
        ("repair_order", "record_facts"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.repair_order_facts_update(
            order=sc.order, by=by, waits_on_site=True, concern_category="brakes"
        ),
    ),
    "comeback": Call(
        ("repair_order", "comeback"),
        frozenset(_RECEIVE),
        _nothing,
        lambda sc, _ctx, by: services.repair_order_comeback_clear(order=sc.order, by=by),
    ),
    "clock_start": Call(
        ("repair_order", "clock_start"),
        frozenset({"own_technician"}),
        lambda sc: sc.at(S.IN_PROGRESS),
        lambda sc, _ctx, by: services.labour_clock_start(line=sc.labour, user=by),
    ),
    "clock_stop": Call(
        ("repair_order", "clock_stop"),
        frozenset({"own_technician"}),
        lambda sc: (sc.at(S.IN_PROGRESS), services.labour_clock_start(line=sc.labour, user=sc.shop.senior)),
        lambda sc, _ctx, by: services.labour_clock_pause(line=sc.labour, user=by),
    ),
}
# Moves no service makes with an acting user: the links are signed tokens handed out by the pages and the API
# (tested below), and no-shows are marked by the system's sweep.
NO_SERVICE = {("repair_order", "send_link"), ("appointment", "send_link"), ("appointment", "no_show")}
# A decision by the system is refused on its channel (ValidationError, test_services_estimates), not by role.
NOT_TRIED = {("decide_approve", "system"), ("decide_decline", "system")}


def _snapshot() -> tuple:
    """Everything a service of the service process writes."""
    return (
        AuditEntry.objects.count(),
        OutboxMessage.objects.count(),
        RepairOrderEvent.objects.count(),
        QualityCheck.objects.count(),
        Attachment.objects.count(),
        list(
            RepairOrder.objects.order_by("pk").values_list(
                "status", "technician_id", "bay_id", "mileage_in", "fuel_level", "delivered_at", "qc_failures"
            )
        ),
        list(Estimate.objects.order_by("pk").values_list("status", "sent_at")),
        list(
            EstimateLine.objects.order_by("pk").values_list(
                "decision", "decision_channel", "decided_by", "batch_number", "amount", "removed_part"
            )
        ),
        list(DeferredWork.objects.order_by("pk").values_list("status", "resolved_order")),
        list(
            Appointment.objects.order_by("pk").values_list(
                "status", "slot_id", "driver_id", "cancel_reason", "pickup_status"
            )
        ),
        PickupEvent.objects.count(),
        list(JobClockSegment.objects.order_by("pk").values_list("line_id", "ended_at")),
        LinePartIssue.objects.count(),
    )


def test_every_move_with_a_service_is_tried():
    covered = {call.move for call in CALLS.values()}
    lifecycles = (REPAIR_ORDER, APPOINTMENT, ESTIMATE_LINE, DEFERRED_WORK, PICKUP)
    every = {(lifecycle.name, m.name) for lifecycle in lifecycles for m in lifecycle.moves}
    assert covered | NO_SERVICE == every
    assert not covered & NO_SERVICE


def _attempt(sc: Scene, call: Call, persona: str) -> str:
    """Prepare the scene, make the call as `persona`, read the verdict, undo everything (a savepoint per persona
    keeps one scene for all of them: the whole table runs in the time of one set-up)."""
    sid = transaction.savepoint()
    try:
        for record in (sc.order, sc.appointment, sc.labour, sc.part):
            record.refresh_from_db()
        context = call.prepare(sc)
        before = _snapshot()
        try:
            call.run(sc, context, sc.people[persona])
        except PermissionDenied:
            return "refused" if _snapshot() == before else "refused but wrote"
        return "allowed" if _snapshot() != before else "allowed but wrote nothing"
    finally:
        transaction.savepoint_rollback(sid)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_service_refuses_the_roles_the_rulebook_does_not_allow_and_writes_nothing(scene, name):
    """Per service call, every persona: a role the rulebook does not allow gets PermissionDenied and nothing is
    written; the roles it allows make the move in the same scene and it writes (so a refusal is the role's, not the
    scene's).  The failure shows the whole table of (persona, verdict)."""
    call = CALLS[name]
    personas = [persona for persona in PERSONAS if (name, persona) not in NOT_TRIED]
    with frozen(2026, 3, 2, 9, 30):
        verdicts = {persona: _attempt(scene, call, persona) for persona in personas}
    assert verdicts == {persona: "allowed" if persona in call.allowed else "refused" for persona in personas}


# (4) Permission comes before the state: a role without the right learns nothing about where the record stands.
# (The generic transition checks the move it finds from the present state; a pair outside the table has no move to
# check, so it answers invalid_transition to anyone: see test_transitions.)
def _dismissed(sc: Scene) -> DeferredWork:
    item = sc.deferred()
    return services.deferred_work_close(item=item, by=sc.alice, status="dismissed")


def _cancelled_appointment(sc: Scene) -> None:
    services.appointment_cancel(appointment=sc.appointment, by=sc.alice, reason="改期")
    sc.appointment.refresh_from_db()


WRONG_STATE: list[Any] = [
    ("qc_pass", "own_technician", lambda sc: sc.at(S.RECEPTION)),
    ("deliver", "foreman", lambda sc: sc.at(S.RECEPTION)),
    ("inspect", "own_technician", lambda sc: sc.at(S.IN_PROGRESS)),
    ("estimate_line_add", "foreman", lambda sc: sc.at(S.READY)),
    ("estimate_send", "foreman", lambda sc: sc.sent_line()),  # already sent
    ("assign", "advisor", lambda sc: sc.at(S.DELIVERED)),
    ("part_trace", "parts", lambda sc: sc.at(S.CANCELLED)),
    ("deferred_dismiss", "other_technician", _dismissed),
    ("appointment_cancel", "other_technician", _cancelled_appointment),
    ("appointment_check_in", "group", _cancelled_appointment),
    ("pickup_deliver_back", "other_driver", lambda sc: None),  # planned: the move does not start here
    ("pickup_collect", "other_driver", _cancelled_appointment),
    pytest.param("decide_approve", "own_technician", Scene.draft_line, id="decide_approve-own_technician-draft"),
]


@pytest.mark.parametrize(("name", "persona", "prepare"), WRONG_STATE)
def test_permission_is_checked_before_the_state(scene, name, persona, prepare):
    call = CALLS[name]
    assert persona not in call.allowed
    with frozen(2026, 3, 2, 9, 30):
        context = prepare(scene)
        before = _snapshot()
        with pytest.raises(PermissionDenied):
            call.run(scene, context, scene.people[persona])
    assert _snapshot() == before


# --------------------------------------------------------------------------------------------- the customer's link


@pytest.fixture
def sent(shop) -> tuple[RepairOrder, EstimateLine]:
    """An order whose estimate has one labour line waiting for the customer."""
    order = open_order(shop)
    line = services.estimate_line_add(
        order=order, by=shop.advisor, kind="labour", description="更换刹车片", standard_hours="1.0"
    )
    services.estimate_send(estimate=line.estimate, by=shop.advisor)
    return order, line


def _decision_rows() -> tuple:
    return (
        list(EstimateLine.objects.values_list("decision", "decided_at", "decision_channel", "decided_by")),
        list(Estimate.objects.values_list("status", flat=True)),
        DeferredWork.objects.count(),
        AuditEntry.objects.filter(action__startswith="estimate.line_").count(),
    )


@pytest.mark.parametrize("decision", ["approved", "declined"])
@pytest.mark.parametrize("who", ["advisor", "technician", "foreman", "manager", "group", "stranger"])
def test_a_staff_session_cannot_decide_through_the_customers_link(shop, sent, who, decision):
    order, line = sent
    staff = {
        "advisor": shop.cast.alice,  # even the advisor, who may note the decision at the desk with her name
        "technician": shop.senior,
        "foreman": shop.foreman,
        "manager": shop.cast.mia,
        "group": shop.cast.grace,
        "stranger": shop.cast.carol,
    }[who]
    token = order_link_token(order)
    url = reverse("service:customer-order-decide", args=[token, line.pk])
    before = _decision_rows()
    browser = Client(headers={"accept-language": "en"})
    browser.force_login(staff)
    response = browser.post(url, {"decision": decision, "reason": "太贵"})
    assert response.status_code == 302
    assert response["Location"] == reverse("service:customer-order", args=[token]) + "?error=staff_session#estimate"
    assert _decision_rows() == before
    page = browser.get(response["Location"]).content.decode()
    assert "The customer&#x27;s link is for the customer." in page  # the alert points to the desk decision

    # The same POST without a session is the customer's own decision.
    customer = Client(headers={"accept-language": "en"})
    response = customer.post(url, {"decision": decision, "reason": "太贵"})
    assert response["Location"] == reverse("service:customer-order", args=[token]) + f"#line-{line.pk}"
    line.refresh_from_db()
    assert (line.decision, line.decision_channel, line.decided_by) == (decision, "link", None)
    assert DeferredWork.objects.count() == (1 if decision == "declined" else 0)


@pytest.fixture
def link_people(shop) -> dict[str, Any]:
    return {
        "tom": shop.cast.tom,
        "fred": shop.foreman,
        "pat": make_user("pat", Role.PARTS_CLERK, store=shop.store),
        "grace": shop.cast.grace,
        "alice": shop.cast.alice,
        "mia": shop.cast.mia,
    }


SENDS_THE_LINK = {"alice", "mia"}  # RECEIVE: the advisor and the manager


def _links_in(text: str) -> list[str]:
    return re.findall(r"http://testserver/r/([^/\"]+)/", text)


@pytest.mark.parametrize("who", ["tom", "fred", "pat", "grace", "alice", "mia"])
def test_the_api_gives_the_customers_link_only_to_those_who_send_it(client, shop, link_people, api_token, who):
    order = open_order(shop)
    response = client.get(f"/api/v1/repair-orders/{order.pk}", **api_token(link_people[who]))
    assert response.status_code == 200, response.content
    detail = response.json()
    moves = {m["name"] for m in detail["moves"]}
    if who in SENDS_THE_LINK:
        (token,) = _links_in(detail["customer_link"])
        assert order_from_token(token) == order  # a working link to this order
        assert "send_link" in moves
    else:
        assert "customer_link" in detail and detail["customer_link"] is None
        assert "send_link" not in moves
        assert _links_in(response.content.decode()) == []


@pytest.mark.parametrize("who", ["tom", "fred", "pat", "grace", "alice", "mia"])
def test_the_order_page_shows_the_link_only_to_those_who_send_it(client, shop, link_people, who):
    order = open_order(shop)
    client.force_login(link_people[who])
    response = client.get(reverse("service:order-detail", args=[order.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    if who in SENDS_THE_LINK:
        assert 'id="customer-link"' in body
        (token,) = set(_links_in(body))
        assert order_from_token(token) == order
    else:
        assert 'id="customer-link"' not in body
        assert _links_in(body) == []
