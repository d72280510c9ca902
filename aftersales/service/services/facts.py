"""The facts the KPIs read (KPIS.md, "Facts to record first"): the real arrival time, the start of the reception,
whether the customer waits on site, the concern category and the comeback link, the no-show sweep and the
technician's job clock per labour line.

Every write goes through here (or through `orders`, which calls the helpers below at registration), so the
order's timestamps always satisfy the database's chain arrived ≤ reception, arrived ≤ inspection ≤ work start ≤
ready ≤ delivered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import keyset_chunks
from aftersales.organisation.models import Store
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service import transitions
from aftersales.service.choices import AppointmentStatus, LineDecision, LineKind, PickupStatus, RepairOrderStatus
from aftersales.service.models import Appointment, ConcernCategory, EstimateLine, JobClockSegment, RepairOrder
from aftersales.service.transitions import REPAIR_ORDER

S = RepairOrderStatus
# How far back the advisor may date an arrival: a car that came in yesterday is not "today's arrival".
ARRIVAL_MAX_BACK = dt.timedelta(hours=12)


def _authorise(order: RepairOrder, move: str, by: Actor) -> None:
    REPAIR_ORDER.authorise(REPAIR_ORDER.get(move), actor=by, store_id=order.store_id, assignee_id=order.technician_id)


# --------------------------------------------------------------------------------------------- arrival, categories


def clean_arrival(value: Any, now: dt.datetime) -> dt.datetime:
    """The real arrival: now when not given, else earlier than now by at most 12 hours (ValidationError naming
    `arrived_at`).  A naive time is read in the current (store) time zone."""
    if value in (None, ""):
        return now
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError({"arrived_at": [_("Enter the arrival as a date and time.")]}) from None
    if not isinstance(value, dt.datetime):
        raise ValidationError({"arrived_at": [_("Enter the arrival as a date and time.")]})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now:
        raise ValidationError({"arrived_at": [_("The arrival cannot be in the future.")]})
    if value < now - ARRIVAL_MAX_BACK:
        raise ValidationError({"arrived_at": [_("The arrival can be at most 12 hours ago.")]})
    return value


def concern_categories_for(store: Store) -> list[ConcernCategory]:
    """The active categories the store's group sees: its own, and the built-ins whose code it does not redefine."""
    rows = ConcernCategory.objects.filter(Q(group__isnull=True) | Q(group_id=store.group_id), active=True)
    by_code: dict[str, ConcernCategory] = {}
    for row in sorted(rows, key=lambda r: r.group_id is not None):  # the group's own row wins over a built-in
        by_code[row.code] = row
    return sorted(by_code.values(), key=lambda r: (r.position, r.code))


def concern_category_by_code(store: Store, code: str) -> ConcernCategory | None:
    """The category for `code` (None for an empty code); an unknown code is a ValidationError naming
    `concern_category` that lists the known ones."""
    code = (code or "").strip()
    if not code:
        return None
    categories = concern_categories_for(store)
    for category in categories:
        if category.code == code:
            return category
    raise ValidationError(
        {
            "concern_category": [
                _("Unknown concern category; choose one of: {codes}.").format(
                    codes=", ".join(c.code for c in categories)
                )
            ]
        }
    )


# --------------------------------------------------------------------------------------------- comebacks


def comeback_candidate(order: RepairOrder) -> RepairOrder | None:
    """The latest delivered order of the same vehicle and concern category, delivered within
    `comeback_window_days` before this arrival, counted in local calendar days (delivered on the 1st, back on the
    31st = day 30: a comeback with the default 30; back on the 32nd = day 31: not one).  The first-time-fix KPI
    counts the window by the same rule (analytics.kpis_service._came_back): the store's local time (the default
    time zone, not the reader's), arrival strictly after delivery."""
    if order.concern_category_id is None:
        return None
    window = int(setting_values_for_store(order.store)["comeback_window_days"])
    local = timezone.get_default_timezone()
    arrival_day = timezone.localdate(order.arrived_at, local)
    earliest = dt.datetime.combine(arrival_day - dt.timedelta(days=window), dt.time.min, tzinfo=local)
    return (
        RepairOrder.objects.filter(
            vehicle_id=order.vehicle_id,
            concern_category_id=order.concern_category_id,
            status=S.DELIVERED,
            delivered_at__gte=earliest,
            delivered_at__lt=order.arrived_at,
        )
        .exclude(pk=order.pk)
        .order_by("-delivered_at", "-id")
        .first()
    )


def comeback_suggest(order: RepairOrder) -> RepairOrder:
    """Suggest (or withdraw) the comeback link from the order's category; an advisor's decision (confirmed or
    cleared: `comeback_confirmed_at` set) is never overridden."""
    if order.comeback_confirmed_at is not None:
        return order
    candidate = comeback_candidate(order)
    candidate_id = candidate.pk if candidate else None
    if candidate_id != order.comeback_of_id:
        order.comeback_of = candidate
        RepairOrder.objects.filter(pk=order.pk).update(comeback_of=candidate, updated_at=clock.now())
    return order


@transaction.atomic
def repair_order_comeback_confirm(*, order: RepairOrder, by: Actor, of: RepairOrder | None = None) -> RepairOrder:
    """The advisor confirms that the order is a comeback: of the suggested order, or of `of` (an earlier delivered
    order of the same vehicle; ValidationError naming `comeback_of` otherwise)."""
    _authorise(order, "comeback", by)
    if order.status == S.CANCELLED:
        raise ApplicationError(_("This order is cancelled."))
    target = of if of is not None else order.comeback_of
    if target is None:
        raise ValidationError({"comeback_of": [_("There is no suggested earlier visit: choose the order.")]})
    if (
        target.pk == order.pk
        or target.vehicle_id != order.vehicle_id
        or target.status != S.DELIVERED
        or target.delivered_at is None
        or target.delivered_at > order.arrived_at
    ):
        raise ValidationError({"comeback_of": [_("Choose an earlier delivered order of the same vehicle.")]})
    now = clock.now()
    order.comeback_of, order.comeback_confirmed_at, order.comeback_confirmed_by = target, now, actor_user(by)
    order.save(update_fields=["comeback_of", "comeback_confirmed_at", "comeback_confirmed_by", "updated_at"])
    audit_record(actor=actor_user(by), action="repair_order.comeback_confirm", obj=order, changes={"of": target.pk})
    return order


@transaction.atomic
def repair_order_comeback_clear(*, order: RepairOrder, by: Actor) -> RepairOrder:
    """The advisor rules the comeback out: the link is removed and stays removed (the decision is kept as
    `comeback_confirmed_at` with no `comeback_of`)."""
    _authorise(order, "comeback", by)
    if order.status == S.CANCELLED:
        raise ApplicationError(_("This order is cancelled."))
    previous = order.comeback_of_id
    now = clock.now()
    order.comeback_of, order.comeback_confirmed_at, order.comeback_confirmed_by = None, now, actor_user(by)
    order.save(update_fields=["comeback_of", "comeback_confirmed_at", "comeback_confirmed_by", "updated_at"])
    audit_record(actor=actor_user(by), action="repair_order.comeback_clear", obj=order, changes={"was": previous})
    return order


# --------------------------------------------------------------------------------------------- reception facts


@transaction.atomic
def repair_order_receive(*, order: RepairOrder, by: Actor) -> RepairOrder:
    """An advisor takes the customer now (the walk-in "received within 10 minutes" clock stops); once."""
    _authorise(order, "receive", by)
    if order.status != S.RECEPTION:
        raise ApplicationError(_("The reception is started while the car is at reception."))
    now = max(clock.now(), order.arrived_at)
    if not RepairOrder.objects.filter(pk=order.pk, reception_started_at__isnull=True).update(
        reception_started_at=now, updated_at=clock.now()
    ):
        raise ApplicationError(_("The reception has already started."))
    order.reception_started_at = now
    audit_record(actor=actor_user(by), action="repair_order.receive", obj=order)
    return order


@transaction.atomic
def repair_order_facts_update(
    *,
    order: RepairOrder,
    by: Actor,
    concern_category: str | None = None,
    waits_on_site: bool | None = None,
    arrived_at: Any = None,
) -> RepairOrder:
    """Correct the reception facts: the concern category (by code; re-suggests the comeback), whether the
    customer waits, and — at reception only — the real arrival (not after the reception or inspection began).
    None leaves a fact as it is; an empty category code clears it."""
    _authorise(order, "record_facts", by)
    order = RepairOrder.objects.select_for_update().select_related("store").get(pk=order.pk)
    if order.status not in transitions.OPEN_STATES:
        raise ApplicationError(_("This order is closed."))
    errors: dict[str, list[str]] = {}
    fields = ["updated_at"]
    category = None
    if concern_category is not None:
        try:
            category = concern_category_by_code(order.store, concern_category)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    arrival = None
    if arrived_at not in (None, ""):
        if order.status != S.RECEPTION:
            errors["arrived_at"] = [_("The arrival can only be corrected at reception.")]
        else:
            try:
                arrival = clean_arrival(arrived_at, clock.now())
            except ValidationError as exc:
                errors.update(exc.message_dict)
            else:
                later = [t for t in (order.reception_started_at, order.inspection_done_at) if t is not None]
                if later and arrival > min(later):
                    errors["arrived_at"] = [_("The arrival must be before the reception and the inspection.")]
    if errors:
        raise ValidationError(errors)
    if concern_category is not None:
        order.concern_category = category
        fields.append("concern_category")
    if waits_on_site is not None:
        order.waits_on_site = bool(waits_on_site)
        fields.append("waits_on_site")
    if arrival is not None:
        order.arrived_at = arrival
        fields.append("arrived_at")
    order.save(update_fields=fields)
    if concern_category is not None or arrival is not None:
        comeback_suggest(order)
    audit_record(
        actor=actor_user(by),
        action="repair_order.facts",
        obj=order,
        changes={
            "concern_category": concern_category,
            "waits_on_site": waits_on_site,
            "arrived_at": arrival.isoformat() if arrival else None,
        },
    )
    return order


# --------------------------------------------------------------------------------------------- no-shows


def no_show_sweep() -> int:
    """Bookings still `booked` whose slot start + `no_show_grace_minutes` (store setting) has passed become
    `no_show` (the appointment table's move for the system).  A car a driver has already collected is on its way,
    not a no-show.  Idempotent: the compare-and-set only moves a booking that is still booked."""
    move = transitions.APPOINTMENT.get("no_show")
    now = clock.now()
    candidates = (
        Appointment.objects.filter(status=AppointmentStatus.BOOKED, slot__start__lt=now)
        .exclude(pickup_status__in=[PickupStatus.COLLECTED, PickupStatus.AT_STORE])
        .select_related("slot", "store")
    )
    grace_by_store: dict[int, dt.timedelta] = {}
    moved = 0
    for chunk in keyset_chunks(candidates):
        for appointment in chunk:
            if appointment.store_id not in grace_by_store:
                minutes = int(setting_values_for_store(appointment.store)["no_show_grace_minutes"])
                grace_by_store[appointment.store_id] = dt.timedelta(minutes=minutes)
            if now <= appointment.slot.start + grace_by_store[appointment.store_id]:
                continue
            transitions.APPOINTMENT.authorise(move, actor=Party.SYSTEM, store_id=appointment.store_id)
            with transaction.atomic():
                if Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
                    status=AppointmentStatus.NO_SHOW, updated_at=now
                ):
                    moved += 1
                    audit_record(
                        actor=None,
                        action="appointment.no_show",
                        obj=appointment,
                        store_id=appointment.store_id,
                        changes={"slot_start": appointment.slot.start.isoformat()},
                    )
    return moved


# --------------------------------------------------------------------------------------------- the job clock


def _clock_line(line: EstimateLine, user: Actor, move: str) -> EstimateLine:
    """The line as it is now, locked, after the rulebook's check (the order's technician on their own job)."""
    line = EstimateLine.objects.select_related("estimate__order").select_for_update(of=("self",)).get(pk=line.pk)
    _authorise(line.estimate.order, move, user)
    if line.kind != LineKind.LABOUR:
        raise ApplicationError(_("Only labour lines are clocked."))
    if line.decision != LineDecision.APPROVED:
        raise ApplicationError(_("Only work the customer approved is clocked."))
    if line.work_finished_at is not None:
        raise ApplicationError(_("This job is finished."))
    state = line.estimate.order.status
    if state not in REPAIR_ORDER.get(move).sources:
        raise ApplicationError(_("The clock runs while the car is being worked on."), {"code": "invalid_transition"})
    return line


def _close_open(technician_id: int, now: dt.datetime, *, line_id: int | None = None) -> int:
    segments = JobClockSegment.objects.filter(technician_id=technician_id, ended_at__isnull=True)
    if line_id is not None:
        segments = segments.filter(line_id=line_id)
    return segments.update(ended_at=now)


@transaction.atomic
def labour_clock_start(*, line: EstimateLine, user: Any) -> JobClockSegment:
    """The technician starts (or resumes) the clock on a labour line.  One clock runs per technician: starting
    another line pauses the one that was running (a technician switching jobs need not pause first)."""
    line = _clock_line(line, user, "clock_start")
    now = clock.now()
    running = JobClockSegment.objects.select_for_update().filter(technician=user, ended_at__isnull=True).first()
    if running is not None and running.line_id == line.pk:
        raise ApplicationError(_("The clock of this job is already running."))
    if running is not None:
        _close_open(user.pk, now)
    try:
        with transaction.atomic():
            segment = JobClockSegment.objects.create(line=line, technician=user, started_at=now)
    except IntegrityError:  # another tab started a clock at the same moment
        raise ApplicationError(
            _("Someone else changed this order meanwhile; reload and try again."), {"code": "conflict"}
        ) from None
    audit_record(
        actor=user,
        action="estimate_line.clock_start",
        obj=line.estimate.order,
        changes={"line": line.pk, "paused": running.line_id if running else None},
    )
    return segment


@transaction.atomic
def labour_clock_pause(*, line: EstimateLine, user: Any) -> EstimateLine:
    """The technician pauses the clock of a line (the running segment ends now)."""
    line = _clock_line(line, user, "clock_stop")
    if not _close_open(user.pk, clock.now(), line_id=line.pk):
        raise ApplicationError(_("The clock of this job is not running."))
    audit_record(actor=user, action="estimate_line.clock_pause", obj=line.estimate.order, changes={"line": line.pk})
    return line


@transaction.atomic
def labour_clock_finish(*, line: EstimateLine, user: Any) -> EstimateLine:
    """The technician finishes the line: the running segment ends and the line is marked finished (once).  A line
    never clocked cannot be finished (start the clock first: clocked hours would read zero)."""
    line = _clock_line(line, user, "clock_stop")
    now = clock.now()
    _close_open(user.pk, now, line_id=line.pk)
    if not line.clock_segments.exists():
        raise ApplicationError(_("Start the clock on this job first."))
    line.work_finished_at = now
    line.save(update_fields=["work_finished_at", "updated_at"])
    audit_record(actor=user, action="estimate_line.clock_finish", obj=line.estimate.order, changes={"line": line.pk})
    return line


def clocks_pause_for_order(order: RepairOrder, now: dt.datetime) -> int:
    """The order leaves "in progress" (waiting for parts, quality check …): every running clock on it stops."""
    return JobClockSegment.objects.filter(line__estimate__order=order, ended_at__isnull=True).update(ended_at=now)


def clocked_hours(line: EstimateLine, now: dt.datetime | None = None) -> float:
    """Σ(ended_at − started_at) of the line; a running segment counts up to `now` when given, else not at all."""
    total = 0.0
    for segment in line.clock_segments.all():
        end = segment.ended_at or now
        if end is not None:
            total += (end - segment.started_at).total_seconds() / 3600
    return total
