"""The service process's lifecycles as data (SPEC §3.4): which move leads from which state to which, and who
may make it.  The rulebook (`organisation.rules`) enforces these tables in the services; pages, the API, the
technician's job list and the demo ask `repair_order_moves_for` / `appointment_moves_for` / `estimate_line_moves_for`
what to offer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from aftersales.organisation.permissions import Capability as C
from aftersales.organisation.rules import TRANSITION, Actor, Lifecycle, Move, Party, move
from aftersales.service.choices import AppointmentStatus as A
from aftersales.service.choices import DeferredStatus as D
from aftersales.service.choices import LineDecision as L
from aftersales.service.choices import PickupStatus as P
from aftersales.service.choices import RepairOrderStatus as S

if TYPE_CHECKING:
    from aftersales.service.models import Appointment, EstimateLine, RepairOrder

OPEN_STATES = frozenset(set(S.values) - {S.DELIVERED, S.CANCELLED})
# States in which the estimate may still get new lines (a supplementary estimate is allowed while work goes on).
ESTIMATE_EDITABLE = frozenset({S.RECEPTION, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS})
# States that count as "in the workshop" for the board and the technician's list.
WORKSHOP_STATES = (S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS, S.QC, S.WASHING, S.READY)
# States in which the clock of work time runs (for the efficiency warning).
WORK_CLOCK_STATES = frozenset({S.IN_PROGRESS})

# Actions made through their own forms rather than the generic "move to state X".
QUALITY_CHECK = "quality_check"
DELIVERY = "delivery"
ACTION = "action"  # keeps the state: dispatch, inspection, estimate work, evidence

# The workshop's moves belong to whoever dispatches, and to the technician on their own job.
_DISPATCH, _OWN_WORK = (C.DISPATCH,), (C.WORK,)

REPAIR_ORDER = Lifecycle(
    "repair_order",
    states=tuple(S.values),
    moves=(
        # Opening an order (a walk-in at the desk, or a booked car checked in) is the advisor's.
        move("open", [], S.RECEPTION, capabilities=[C.RECEIVE], via=ACTION),
        move("release", [S.RECEPTION], S.WAITING, capabilities=[C.RECEIVE], label=_("Release to the workshop")),
        move("to_bay", [S.WAITING], S.IN_BAY, capabilities=_DISPATCH, own=_OWN_WORK, label=_("Car is in the bay")),
        move("start_work", [S.IN_BAY], S.IN_PROGRESS, capabilities=_DISPATCH, own=_OWN_WORK, label=_("Start work")),
        move(
            "out_of_bay",
            [S.IN_BAY],
            S.WAITING,
            capabilities=_DISPATCH,
            own=_OWN_WORK,
            label=_("Out of the bay: back to the queue"),
        ),
        move(
            "wait_parts",
            [S.IN_PROGRESS],
            S.WAITING_PARTS,
            capabilities=_DISPATCH,
            own=_OWN_WORK,
            needs_reason=True,
            label=_("Waiting for parts"),
        ),
        move(
            "parts_arrived",
            [S.WAITING_PARTS],
            S.IN_PROGRESS,
            capabilities=_DISPATCH,
            own=_OWN_WORK,
            label=_("Parts are here: resume work"),
        ),
        move(
            "to_qc",
            [S.IN_PROGRESS],
            S.QC,
            capabilities=_DISPATCH,
            own=_OWN_WORK,
            label=_("Work done: to quality check"),
        ),
        # The quality check form moves the car on (or back, counting the failure).
        move("qc_pass", [S.QC], S.WASHING, capabilities=[C.QUALITY_CHECK], via=QUALITY_CHECK),
        move("qc_pass_no_wash", [S.QC], S.READY, capabilities=[C.QUALITY_CHECK], via=QUALITY_CHECK),
        move("qc_fail", [S.QC], S.IN_PROGRESS, capabilities=[C.QUALITY_CHECK], via=QUALITY_CHECK),
        # Washing is done by the workshop; the advisor who sees the clean car may also mark it ready.
        move(
            "washed",
            [S.WASHING],
            S.READY,
            capabilities=[C.DISPATCH, C.RECEIVE],
            own=[C.WORK],
            label=_("Ready for pick-up"),
        ),
        # The delivery form records the explanation, the next maintenance and the rating.
        move("deliver", [S.READY], S.DELIVERED, capabilities=[C.RECEIVE], via=DELIVERY),
        # Cancelling is the advisor's: the customer is theirs, and the booking is cancelled with the order.
        move(
            "cancel",
            [S.RECEPTION, S.WAITING, S.IN_BAY],
            S.CANCELLED,
            capabilities=[C.RECEIVE],
            needs_reason=True,
            label=_("Cancel the order"),
        ),
        # Actions that keep the state.
        move("assign", OPEN_STATES, None, capabilities=[C.DISPATCH], via=ACTION),
        move("inspect", [S.RECEPTION], None, capabilities=[C.RECEIVE], via=ACTION),
        move("estimate", ESTIMATE_EDITABLE, None, capabilities=[C.RECEIVE], via=ACTION),
        move("evidence", OPEN_STATES, None, capabilities=[C.RECEIVE, C.DISPATCH], own=[C.WORK], via=ACTION),
        # Parts out of the store's stock onto an approved part line, and unused ones back (the parts ledger):
        # the parts clerk's and the store manager's.  A return also after delivery or cancellation.
        move("part_issue", OPEN_STATES, None, capabilities=[C.MANAGE_PARTS], via=ACTION),
        move("part_return", S.values, None, capabilities=[C.MANAGE_PARTS], via=ACTION),
        # What became of the part taken off the car (returned to the customer / waived): the advisor's, at the desk.
        move("removed_part", set(S.values) - {S.CANCELLED}, None, capabilities=[C.RECEIVE], via=ACTION),
        # The batch of a fitted part: the advisor or the foreman, and the technician who fitted it on his own job.
        move(
            "part_trace",
            set(S.values) - {S.CANCELLED},
            None,
            capabilities=[C.RECEIVE, C.DISPATCH],
            own=[C.WORK],
            via=ACTION,
        ),
        # The facts the KPIs read (KPIS.md): the advisor starts the reception, records arrival / waiting on site /
        # concern category, and confirms or clears a suggested comeback (also after delivery: a return is judged
        # when it comes back).
        move("receive", [S.RECEPTION], None, capabilities=[C.RECEIVE], via=ACTION, label=_("Start the reception")),
        move("record_facts", OPEN_STATES, None, capabilities=[C.RECEIVE], via=ACTION),
        move("comeback", set(S.values) - {S.CANCELLED}, None, capabilities=[C.RECEIVE], via=ACTION),
        # The job clock per labour line is the technician's own, on their own job only (nobody clocks for them).
        # Leaving "in progress" pauses the running clocks, so stopping is also possible from the later states.
        move("clock_start", [S.IN_PROGRESS], None, own=_OWN_WORK, via=ACTION),
        move("clock_stop", [S.IN_PROGRESS, S.WAITING_PARTS, S.QC], None, own=_OWN_WORK, via=ACTION),
        # The customer's signed link goes only to those who send it to the customer: whoever holds it can act as
        # the customer (approve lines), so the workshop, the parts desk and the group's analysts never see it.
        move("send_link", S.values, None, capabilities=[C.RECEIVE], via=ACTION),
    ),
)
REPAIR_ORDER_FLOW = REPAIR_ORDER.flow

APPOINTMENT = Lifecycle(
    "appointment",
    states=tuple(A.values),
    moves=(
        # Booking: by staff who book (phone, WeChat, desk), or by the customer on the store's booking page.
        move("book", [], A.BOOKED, capabilities=[C.BOOK], parties=[Party.CUSTOMER], via=ACTION),
        move("reschedule", [A.BOOKED], None, capabilities=[C.BOOK], parties=[Party.CUSTOMER], via=ACTION),
        move("assign_driver", [A.BOOKED], None, capabilities=[C.BOOK, C.RECEIVE], via=ACTION),
        move("send_link", A.values, None, capabilities=[C.BOOK], via=ACTION),
        move("cancel", [A.BOOKED], A.CANCELLED, capabilities=[C.BOOK], parties=[Party.CUSTOMER]),
        move("check_in", [A.BOOKED], A.ARRIVED, capabilities=[C.RECEIVE]),
        move("no_show", [A.BOOKED], A.NO_SHOW, capabilities=[C.BOOK], parties=[Party.SYSTEM]),
    ),
)

# A line's decision: the customer through their own link, or the advisor noting a decision at the desk or on the
# phone (recorded with their name).  Staff never decide through the customer's link.
ESTIMATE_LINE = Lifecycle(
    "estimate_line",
    states=tuple(L.values),
    moves=(
        move("approve", [L.PENDING], L.APPROVED, capabilities=[C.RECEIVE], parties=[Party.CUSTOMER]),
        move("decline", [L.PENDING], L.DECLINED, capabilities=[C.RECEIVE], parties=[Party.CUSTOMER]),
    ),
)

# Work the customer declined, kept on the vehicle until it is done on a later visit or dismissed.
DEFERRED_WORK = Lifecycle(
    "deferred_work",
    states=tuple(D.values),
    moves=(
        move("done", [D.OPEN], D.DONE, capabilities=[C.RECEIVE]),
        move("dismiss", [D.OPEN], D.DISMISSED, capabilities=[C.RECEIVE]),
    ),
)

# Pick-up and drop-off (取送车) of a booking with pick-up: the driver collects the car, the check-in at the desk
# puts it at the store, and once its order is ready the driver brings it back.  The driver moves only the
# pick-ups assigned to them; the advisor may record either move for them; the customer none.
PICKUP_MOVE = "pickup"  # the driver's list (and the API): a move with its time and an optional photo
CHECK_IN = "check_in"  # made by the appointment's check-in
_DRIVER = (C.DRIVE,)

PICKUP = Lifecycle(
    "pickup",
    states=tuple(P.values),
    moves=(
        move(
            "collect",
            [P.PLANNED],
            P.COLLECTED,
            capabilities=[C.RECEIVE],
            own=_DRIVER,
            via=PICKUP_MOVE,
            label=_("Collected"),
        ),
        move("arrive", [P.PLANNED, P.COLLECTED], P.AT_STORE, capabilities=[C.RECEIVE], via=CHECK_IN),
        move(
            "deliver_back",
            [P.AT_STORE],
            P.DELIVERED_BACK,
            capabilities=[C.RECEIVE],
            own=_DRIVER,
            via=PICKUP_MOVE,
            label=_("Delivered back"),
        ),
    ),
)

LIFECYCLES = (REPAIR_ORDER, APPOINTMENT, ESTIMATE_LINE, DEFERRED_WORK, PICKUP)


def allowed(current: str, target: str) -> bool:
    return REPAIR_ORDER.allows(current, target)


def repair_order_moves_for(*, order: RepairOrder, user: Actor, via: str | None = TRANSITION) -> list[Move]:
    """The moves of the order that `user` may make now (by default those of the generic transition action)."""
    return REPAIR_ORDER.offered(
        actor=user, state=order.status, store_id=order.store_id, assignee_id=order.technician_id, via=via
    )


def appointment_moves_for(*, appointment: Appointment, user: Actor, via: str | None = None) -> list[Move]:
    return APPOINTMENT.offered(actor=user, state=appointment.status, store_id=appointment.store_id, via=via)


def pickup_moves_for(*, appointment: Appointment, user: Actor, via: str | None = PICKUP_MOVE) -> list[Move]:
    """The pick-up moves `user` may make now: the driver on their own pick-up, the advisor on any of the store."""
    if not appointment.pickup:
        return []
    return PICKUP.offered(
        actor=user,
        state=appointment.pickup_status,
        store_id=appointment.store_id,
        assignee_id=appointment.driver_id,
        via=via,
    )


def may_send_order_link(*, order: RepairOrder, user: Actor) -> bool:
    return any(m.name == "send_link" for m in repair_order_moves_for(order=order, user=user, via=ACTION))


def may_send_appointment_link(*, appointment: Appointment, user: Actor) -> bool:
    return any(m.name == "send_link" for m in appointment_moves_for(appointment=appointment, user=user, via=ACTION))


def estimate_line_moves_for(*, line: EstimateLine, user: Actor) -> list[Move]:
    """`line.estimate.order` must be loaded (its store decides)."""
    return ESTIMATE_LINE.offered(actor=user, state=line.decision, store_id=line.estimate.order.store_id)


def as_mermaid() -> str:
    """The repair order's table as a Mermaid state diagram, for docs/service.md."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.RECEPTION}"]
    for source, targets in REPAIR_ORDER_FLOW.items():
        lines.extend(f"    {source} --> {target}" for target in sorted(targets))
    lines.extend(f"    {s} --> [*]" for s in (S.DELIVERED, S.CANCELLED))
    return "\n".join(lines)
