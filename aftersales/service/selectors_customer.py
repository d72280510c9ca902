"""Reads for the customer's pages: the booking confirmation, the advisors a customer may choose online and the
estimated ready time of a repair order.  Each returns in a fixed, small number of queries."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import LineDecision, LineKind, RepairOrderStatus
from aftersales.service.models import AdvisorSlotLoad, Appointment, EstimateLine, RepairOrder, RepairOrderEvent, Slot

S = RepairOrderStatus

VEHICLE_LICENCE = _("Vehicle licence")
DOCUMENTS_TO_BRING: dict[str, tuple[Promise, ...]] = {
    "maintenance": (VEHICLE_LICENCE, _("Maintenance booklet")),
    "repair": (VEHICLE_LICENCE,),
    "inspection": (VEHICLE_LICENCE,),
    "warranty": (VEHICLE_LICENCE, _("Warranty booklet"), _("Purchase invoice")),
    "bodywork": (VEHICLE_LICENCE, _("Insurance policy")),
    "nev_check": (VEHICLE_LICENCE, _("Charging card (if you have one)")),
}


def _usual_minutes(values: dict[str, Any], service_type: str) -> int:
    return int(values.get(f"duration_{service_type}_minutes", 60))


# ---------------------------------------------------------------------------------------------------------
# The confirmation page of a booking
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Confirmation:
    """What the customer needs after booking: how long, how to get there, what to bring, who receives them (the
    pick-up's window, driver and status come from the pick-up's own include)."""

    appointment: Appointment
    duration_minutes: int
    directions: str
    documents: list[Promise]
    advisor_name: str = ""

    @property
    def duration_hours(self) -> int:
        return self.duration_minutes // 60

    @property
    def duration_rest_minutes(self) -> int:
        return self.duration_minutes % 60


def appointment_confirmation(appointment: Appointment) -> Confirmation:
    """1 query (the store's settings); the appointment comes with its store and advisor loaded."""
    values = setting_values_for_store(appointment.store)
    return Confirmation(
        appointment=appointment,
        duration_minutes=_usual_minutes(values, appointment.service_type),
        directions=appointment.store.directions,
        documents=list(DOCUMENTS_TO_BRING.get(appointment.service_type, (VEHICLE_LICENCE,))),
        advisor_name=_staff_name(appointment.advisor),
    )


def _staff_name(user: Any) -> str:
    if user is None:
        return ""
    profile = getattr(user, "staff_profile", None)
    return (profile.display_name if profile else "") or user.get_username()


# ---------------------------------------------------------------------------------------------------------
# Advisors the customer may choose
# ---------------------------------------------------------------------------------------------------------


@dataclass
class AdvisorChoice:
    user_id: int
    name: str
    free: int


def advisor_choices(*, store: Store, slots: list[Slot], start: dt.datetime | None = None) -> list[AdvisorChoice]:
    """The store's advisors with their free places: in the slot starting at `start` when one of `slots` does,
    else over the day's `slots` still open for booking.  An advisor's places in a slot are the store's
    `bookings_per_advisor_per_slot` less their bookings there, never more than the slot's own free places.
    3 queries (advisors, settings, loads)."""
    advisors: dict[int, str] = {}
    for membership in (
        Membership.objects.filter(store=store, role=Role.ADVISOR, user__is_active=True)
        .select_related("user__staff_profile")
        .order_by("user_id")
    ):
        advisors.setdefault(membership.user_id, _staff_name(membership.user))
    if not advisors:
        return []
    values = setting_values_for_store(store)
    per_advisor = int(values["bookings_per_advisor_per_slot"])
    earliest = clock.now() + dt.timedelta(minutes=int(values["booking_lead_minutes"]))
    chosen = [s for s in slots if start is not None and s.start == start]
    counted = chosen or [s for s in slots if s.start >= earliest]
    loads: dict[tuple[int, int], int] = {
        (slot_id, advisor_id): booked
        for slot_id, advisor_id, booked in AdvisorSlotLoad.objects.filter(slot__in=[s.pk for s in counted]).values_list(
            "slot_id", "advisor_id", "booked"
        )
    }
    return [
        AdvisorChoice(
            user_id=user_id,
            name=name,
            free=sum(max(min(per_advisor - loads.get((s.pk, user_id), 0), s.remaining), 0) for s in counted),
        )
        for user_id, name in advisors.items()
    ]


# ---------------------------------------------------------------------------------------------------------
# Estimated ready time (docs/service.md, "Estimated ready time")
# ---------------------------------------------------------------------------------------------------------

QUEUED = (S.RECEPTION, S.WAITING)
ESTIMATED = (*QUEUED, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS, S.QC, S.WASHING)
QUARTER = 15


@dataclass(frozen=True)
class ReadyEstimate:
    """The estimated ready time and the numbers it comes from (the page shows them, so it explains itself).
    `at` is None while the car waits for parts: nobody can say when they arrive."""

    status: str
    at: dt.datetime | None
    own_minutes: int
    jobs_ahead: int = 0
    minutes_ahead: int = 0
    technicians: int = 1
    finishing_minutes: int = 0

    @property
    def own_hours(self) -> Decimal:
        return (Decimal(self.own_minutes) / 60).quantize(Decimal("0.1"))


def _round_up(moment: dt.datetime) -> dt.datetime:
    """Up to the next quarter hour (a time already on one stays)."""
    stamp = moment.timestamp()
    return dt.datetime.fromtimestamp(math.ceil(stamp / (QUARTER * 60)) * QUARTER * 60, tz=moment.tzinfo)


def ready_time(
    *,
    status: str,
    now: dt.datetime,
    own_minutes: int,
    minutes_ahead: int,
    technicians: int,
    finishing_minutes: int,
    work_started_at: dt.datetime | None,
    entered_at: dt.datetime | None,
) -> dt.datetime | None:
    """The rule, with nothing from the database (see docs/service.md):

    - in the queue (reception, waiting): now + the work queued ahead shared by the technicians + own work + finishing;
    - in the bay, not started: now + own work + finishing;
    - in progress: (start of work + own work, or now when that has passed) + finishing;
    - waiting for parts: no time;
    - quality check or washing: the moment it got there + finishing, or now when that has passed;
    rounded up to the quarter hour."""
    finishing = dt.timedelta(minutes=finishing_minutes)
    own = dt.timedelta(minutes=own_minutes)
    if status in QUEUED:
        wait = dt.timedelta(minutes=math.ceil(minutes_ahead / max(technicians, 1)))
        at = now + wait + own + finishing
    elif status == S.IN_BAY:
        at = now + own + finishing
    elif status == S.IN_PROGRESS:
        at = max((work_started_at or now) + own, now) + finishing
    elif status in (S.QC, S.WASHING):
        at = max((entered_at or now) + finishing, now)
    else:
        return None
    return _round_up(at)


def _labour_hours() -> Subquery:
    """Standard hours of an order's labour lines that the customer has not declined (drafts count: they are
    the work the advisor plans)."""
    lines = (
        EstimateLine.objects.filter(estimate__order=OuterRef("pk"), kind=LineKind.LABOUR)
        .exclude(decision=LineDecision.DECLINED)
        .values("estimate__order")
        .annotate(hours=Sum("standard_hours"))
        .values("hours")
    )
    return Subquery(lines)


def _minutes(hours: Decimal | None, fallback: int) -> int:
    return int((Decimal(hours) * 60).to_integral_value()) if hours else fallback


def _ahead(row: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether `other` comes before `row` in the reception queue: the priority lane first, then by arrival."""
    if other["pk"] == row["pk"] or other["status"] not in QUEUED:
        return False
    if other["priority"] != row["priority"]:
        return bool(other["priority"])
    return (other["arrived_at"], other["pk"]) < (row["arrived_at"], row["pk"])


def order_ready_estimate(*, order_id: int) -> ReadyEstimate | None:
    """The estimated ready time of an open order, None once it is ready, delivered or cancelled.
    2 queries: the order and its store's queue (each with its labour hours; the order also with its last move
    and the store's technicians), then the store's settings."""
    technicians = (
        Membership.objects.filter(store=OuterRef("store_id"), role=Role.TECHNICIAN, user__is_active=True)
        .values("store")
        .annotate(n=Count("user", distinct=True))
        .values("n")
    )
    last_move = (
        RepairOrderEvent.objects.filter(order=OuterRef("pk")).values("order").annotate(at=Max("at")).values("at")
    )
    own_store = RepairOrder.objects.filter(pk=order_id).values("store_id")
    rows = list(
        RepairOrder.objects.filter(Q(pk=order_id) | Q(store_id=Subquery(own_store), status__in=QUEUED))
        .annotate(labour_hours=_labour_hours(), technicians=Subquery(technicians), entered_at=Subquery(last_move))
        .values(
            "pk",
            "status",
            "service_type",
            "store_id",
            "store__group_id",
            "priority",
            "arrived_at",
            "work_started_at",
            "labour_hours",
            "technicians",
            "entered_at",
        )
        .order_by()
    )
    row = next((r for r in rows if r["pk"] == order_id), None)
    if row is None or row["status"] not in ESTIMATED:
        return None
    values = setting_values_for_store(Store(pk=row["store_id"], group_id=row["store__group_id"]))
    own = _minutes(row["labour_hours"], _usual_minutes(values, row["service_type"]))
    finishing = int(values["ready_estimate_finishing_minutes"])
    technician_count = max(int(row["technicians"] or 0), 1)
    ahead = [r for r in rows if _ahead(row, r)] if row["status"] in QUEUED else []
    minutes_ahead = sum(_minutes(r["labour_hours"], _usual_minutes(values, r["service_type"])) for r in ahead)
    now = clock.now()
    return ReadyEstimate(
        status=row["status"],
        at=ready_time(
            status=row["status"],
            now=now,
            own_minutes=own,
            minutes_ahead=minutes_ahead,
            technicians=technician_count,
            finishing_minutes=finishing,
            work_started_at=row["work_started_at"],
            entered_at=row["entered_at"],
        ),
        own_minutes=own,
        jobs_ahead=len(ahead),
        minutes_ahead=minutes_ahead,
        technicians=technician_count,
        finishing_minutes=finishing,
    )
