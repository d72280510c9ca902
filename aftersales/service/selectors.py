"""Reads of the service process for pages and the API.  Each returns in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from aftersales.core import clock
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.selectors import customer_search_filter
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service import transitions
from aftersales.service.choices import (
    DAMAGE_KINDS,
    DAMAGE_ZONES,
    AppointmentStatus,
    DeferredStatus,
    EstimateStatus,
    LineDecision,
    LineKind,
    RepairOrderStatus,
)
from aftersales.service.models import (
    Appointment,
    Attachment,
    DeferredWork,
    Estimate,
    EstimateLine,
    RepairOrder,
    RepairOrderEvent,
    Slot,
)
from aftersales.service.services.orders import clock_state, local_day_bounds

S = RepairOrderStatus
_Rows = TypeVar("_Rows", bound=QuerySet[Any])


def slot_list(*, store: Store, day: dt.date) -> list[Slot]:
    """The day's slots with their remaining places (made beforehand by `services.slots_ensure_bookable`)."""
    start, end = local_day_bounds(day) if dt.date.min < day < dt.date.max else (None, None)
    if start is None:
        return []
    return list(Slot.objects.filter(store=store, start__gte=start, start__lt=end).order_by("start"))


def order_get_for_user(*, user: Any, pk: Any) -> RepairOrder:
    return RepairOrder.objects.select_related(
        "store", "customer", "vehicle", "advisor__staff_profile", "technician__staff_profile", "bay", "appointment"
    ).get_for_user_or_404(user, pk=pk)


def appointment_get_for_user(*, user: Any, pk: Any) -> Appointment:
    return Appointment.objects.select_related(
        "store", "slot", "customer", "vehicle", "advisor__staff_profile"
    ).get_for_user_or_404(user, pk=pk)


def appointment_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    day: dt.date | None = None,
    status: str | None = None,
    customer_id: int | None = None,
    vehicle_id: int | None = None,
) -> QuerySet[Appointment]:
    appointments = Appointment.objects.for_user(user, store_ids=store_ids).select_related(
        "slot", "customer", "vehicle", "advisor__staff_profile", "store"
    )
    if day is not None:
        start, end = local_day_bounds(day)
        appointments = appointments.filter(slot__start__gte=start, slot__start__lt=end)
    if status:
        appointments = appointments.filter(status=status)
    appointments = _of_customer(appointments, customer_id, vehicle_id)
    return appointments.order_by("slot__start", "id")


def _of_customer(rows: _Rows, customer_id: int | None, vehicle_id: int | None) -> _Rows:
    """Rows of one customer and/or vehicle; the rows are already scoped, so another store's id gives nothing."""
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if vehicle_id is not None:
        rows = rows.filter(vehicle_id=vehicle_id)
    return rows


def order_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    statuses: list[str] | None = None,
    customer_id: int | None = None,
    vehicle_id: int | None = None,
) -> QuerySet[RepairOrder]:
    orders = RepairOrder.objects.for_user(user, store_ids=store_ids).select_related(
        "customer", "vehicle", "technician__staff_profile", "advisor__staff_profile", "bay", "store"
    )
    if statuses:
        orders = orders.filter(status__in=statuses)
    return _of_customer(orders, customer_id, vehicle_id)


def customer_visits_in_group(*, customer: Customer, limit: int = 20) -> list[RepairOrder]:
    """The customer's visits at every store of the group, latest first: one file per customer (一车一档).
    The caller has already been allowed to see the customer's file."""
    return list(
        RepairOrder.objects.filter(customer=customer)
        .select_related("vehicle", "vehicle__customer", "store")
        .order_by("-arrived_at", "-id")[:limit]
    )


def vehicle_visits_in_group(*, vehicle: Vehicle, limit: int = 20) -> list[RepairOrder]:
    """The vehicle's visits at every store of the group, latest first (a rescue crew's view of the car's history).
    The caller has already been allowed to see the vehicle (a rescue request naming it)."""
    return list(
        RepairOrder.objects.filter(vehicle=vehicle).select_related("store").order_by("-arrived_at", "-id")[:limit]
    )


def order_search(
    *,
    user: Any,
    store_ids: frozenset[int],
    query: str = "",
    status: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
    advisor_id: int | None = None,
) -> QuerySet[RepairOrder]:
    """Repair orders of every state, the latest arrival first, for the order list: a search text (the order
    number, the customer's name or mobile, a plate or VIN fragment), the state, the arrival dates, the advisor."""
    orders = order_list(user=user, store_ids=store_ids, statuses=[status] if status else None)
    if query:
        customers = Customer.objects.filter(customer_search_filter(query)).values("pk")
        orders = orders.filter(Q(number__icontains=query) | Q(customer__in=customers))
    if start is not None:
        orders = orders.filter(arrived_at__gte=local_day_bounds(start)[0])
    if end is not None:
        orders = orders.filter(arrived_at__lt=local_day_bounds(end)[1])
    if advisor_id is not None:
        orders = orders.filter(advisor_id=advisor_id)
    return orders.order_by("-arrived_at", "-id")


@dataclass
class LineView:
    line: EstimateLine
    attachments: list[Attachment]
    # In a choice: this option's amount minus the recommended (first) option's; whether the totals count it.
    difference: Decimal | None = None
    counted: bool = False

    @property
    def difference_abs(self) -> Decimal | None:
        return None if self.difference is None else abs(self.difference)


@dataclass
class EstimateRow:
    """One line, or the options of one choice (alternatives such as OEM or brand parts), recommended first."""

    options: list[LineView]
    counted: EstimateLine | None
    if_approved: Decimal | None = None  # while pending: the approved total should the counted option be approved

    @property
    def is_choice(self) -> bool:
        return len(self.options) > 1

    @property
    def pending(self) -> bool:
        return any(lv.line.decision == LineDecision.PENDING for lv in self.options) and not any(
            lv.line.decision == LineDecision.APPROVED for lv in self.options
        )

    @property
    def recommended(self) -> EstimateLine:
        return self.options[0].line


@dataclass
class EstimateView:
    estimate: Estimate
    lines: list[LineView]
    groups: dict[int, list[EstimateLine]]
    total: Decimal
    pending: int
    rows: list[EstimateRow] = field(default_factory=list)


def counted_option(options: list[EstimateLine]) -> EstimateLine | None:
    """The one option of a choice that totals count: the approved one; else the first offered (the recommended
    line the alternative was added to) that is not declined; none when every option is declined.  A single line
    is a choice of one: counted unless declined."""
    approved = next((line for line in options if line.decision == LineDecision.APPROVED), None)
    if approved is not None:
        return approved
    return next((line for line in sorted(options, key=lambda o: o.pk) if line.decision != LineDecision.DECLINED), None)


def estimate_rows(views: list[LineView]) -> list[EstimateRow]:
    """The lines of an estimate as rows: each choice's options together at the place of its first option."""
    rows: list[EstimateRow] = []
    by_group: dict[int, EstimateRow] = {}
    for lv in sorted(views, key=lambda v: v.line.pk):
        group = lv.line.choice_group
        if group is not None and group in by_group:
            by_group[group].options.append(lv)
            continue
        row = EstimateRow(options=[lv], counted=None)
        rows.append(row)
        if group is not None:
            by_group[group] = row
    for row in rows:
        row.counted = counted_option([lv.line for lv in row.options])
        base = row.options[0].line.amount
        for lv in row.options:
            lv.counted = row.counted is not None and lv.line.pk == row.counted.pk
            lv.difference = lv.line.amount - base if row.is_choice else None
    return rows


@dataclass
class OrderPage:
    """Everything the customer's page and the order page show, gathered in a fixed number of queries."""

    order: RepairOrder
    events: list[RepairOrderEvent]
    estimates: list[EstimateView]
    inspection_photos: list[Attachment]
    approved: list[EstimateLine]
    parts: list[EstimateLine]
    bill_total: Decimal
    pending_lines: int
    pending_decisions: int = 0  # what the customer has left to decide: a choice of two options is one decision
    progress_steps: list[dict[str, Any]] = field(default_factory=list)
    damage_marks: list[dict[str, str]] = field(default_factory=list)


PROGRESS_STEPS = (S.RECEPTION, S.WAITING, S.IN_PROGRESS, S.QC, S.READY, S.DELIVERED)


def order_page_fingerprint(*, order_id: int, nonce: str) -> str | None:
    """A hash of everything the customer's page of an order shows, from ONE small query written in SQL (the
    hot path: compiling an ORM query with eight subqueries costs more than running it).  Any change — a state,
    an event, a line, a decision, a batch, a photo, the rating — changes it; None when no order has this id
    and link key."""
    order, event, estimate, line, attachment = (
        RepairOrder._meta.db_table,
        RepairOrderEvent._meta.db_table,
        Estimate._meta.db_table,
        EstimateLine._meta.db_table,
        Attachment._meta.db_table,
    )
    vehicle, store = RepairOrder.vehicle.field.related_model._meta.db_table, Store._meta.db_table
    appointment = Appointment._meta.db_table  # a pick-up's moves and its driver change the booking's updated_at
    # Each part reads only the order's own rows, by the order id given as a parameter (not correlated with
    # `o.id`): the last event and attachment come from one probe of their (order, id) index each, and the
    # estimates with their lines are read in one pass.  Written as MAX(id) … WHERE order_id = o.id, PostgreSQL
    # walked the whole primary key backwards for an order with few events (docs/performance.md).
    # Table names come from our models; the values go in as parameters.
    sql = (
        f"SELECT o.status, o.updated_at, o.rating, o.billed_total, o.advisor_id, v.updated_at, s.updated_at, "  # noqa: S608
        f"(SELECT id FROM {event} WHERE order_id = %s ORDER BY order_id DESC, id DESC LIMIT 1), "
        f"b.sent, b.line_id, b.line_count, b.line_updated, b.line_decided, "
        f"(SELECT id FROM {attachment} WHERE order_id = %s ORDER BY order_id DESC, id DESC LIMIT 1), "
        f"(SELECT COUNT(*) FROM {attachment} WHERE order_id = %s), ap.updated_at "
        f"FROM {order} o JOIN {vehicle} v ON v.id = o.vehicle_id JOIN {store} s ON s.id = o.store_id "
        f"LEFT JOIN {appointment} ap ON ap.id = o.appointment_id "
        f"CROSS JOIN (SELECT MAX(e.sent_at) AS sent, MAX(l.id) AS line_id, COUNT(l.id) AS line_count, "
        f"MAX(l.updated_at) AS line_updated, MAX(l.decided_at) AS line_decided "
        f"FROM {estimate} e LEFT JOIN {line} l ON l.estimate_id = e.id WHERE e.order_id = %s) b "
        f"WHERE o.id = %s AND o.link_nonce = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [order_id, order_id, order_id, order_id, order_id, nonce])
        row = cursor.fetchone()
    if row is None:
        return None
    return hashlib.sha256(repr((order_id, *row)).encode()).hexdigest()[:32]


def order_page(order: RepairOrder, *, include_drafts: bool = False) -> OrderPage:
    """4 queries: events, estimates, their lines, attachments."""
    events = list(order.events.select_related("by__staff_profile").order_by("at", "id"))
    estimates_qs = order.estimates.prefetch_related(Prefetch("lines", queryset=EstimateLine.objects.order_by("id")))
    if not include_drafts:
        estimates_qs = estimates_qs.exclude(status=EstimateStatus.DRAFT)
    estimates = list(estimates_qs.order_by("number"))
    attachments = list(order.attachments.order_by("id"))
    by_line: dict[int, list[Attachment]] = defaultdict(list)
    for attachment in attachments:
        if attachment.line_id:
            by_line[attachment.line_id].append(attachment)
    views: list[EstimateView] = []
    approved: list[EstimateLine] = []
    pending = 0
    for estimate in estimates:
        lines = list(estimate.lines.all())
        groups: dict[int, list[EstimateLine]] = defaultdict(list)
        for line in lines:
            if line.choice_group is not None:
                groups[line.choice_group].append(line)
        estimate_pending = sum(1 for line in lines if line.decision == LineDecision.PENDING)
        if estimate.status != EstimateStatus.DRAFT:
            pending += estimate_pending
        line_views = [LineView(line, by_line.get(line.pk, [])) for line in lines]
        rows = estimate_rows(line_views)
        views.append(
            EstimateView(
                estimate=estimate,
                lines=line_views,
                groups=dict(groups),
                # One option per choice (see counted_option), every other line unless declined.
                total=sum((row.counted.amount for row in rows if row.counted is not None), Decimal("0")),
                pending=estimate_pending,
                rows=rows,
            )
        )
        approved.extend(line for line in lines if line.decision == LineDecision.APPROVED)
    approved_total = sum((line.amount for line in approved), Decimal("0"))
    for view in views:
        for row in view.rows:
            if row.pending and row.counted is not None:
                row.if_approved = approved_total + row.counted.amount
    reached = {event.to_status for event in events}
    steps = []
    for status in PROGRESS_STEPS:
        steps.append(
            {
                "status": status,
                "label": S(status).label,
                "done": status in reached,
                "current": order.status == status
                or (status == S.IN_PROGRESS and order.status in (S.IN_BAY, S.WAITING_PARTS))
                or (status == S.QC and order.status == S.WASHING),
            }
        )
    return OrderPage(
        order=order,
        events=events,
        estimates=views,
        inspection_photos=[a for a in attachments if a.line_id is None],
        approved=approved,
        parts=[line for line in approved if line.kind == LineKind.PART],
        bill_total=approved_total,
        pending_lines=pending,
        pending_decisions=sum(
            1 for view in views if view.estimate.status != EstimateStatus.DRAFT for row in view.rows if row.pending
        ),
        progress_steps=steps,
        damage_marks=damage_mark_labels(order.damage_marks),
    )


def damage_mark_labels(marks: list[dict[str, str]]) -> list[dict[str, str]]:
    """The inspection's damage marks with translated zone and kind names, for people rather than codes."""
    zones, kinds = dict(DAMAGE_ZONES), dict(DAMAGE_KINDS)
    return [
        {
            "zone": str(zones.get(m.get("zone", ""), m.get("zone", ""))),
            "kind": str(kinds.get(m.get("kind", ""), m.get("kind", ""))),
            "note": m.get("note", ""),
        }
        for m in marks or []
    ]


@dataclass
class Workbench:
    appointments: list[Appointment]
    queue: list[dict[str, Any]]
    open_by_state: list[dict[str, Any]]
    waiting_approval: list[RepairOrder]
    overdue: list[dict[str, Any]]
    ready: list[RepairOrder]


def workbench(*, user: Any, store_ids: frozenset[int], day: dt.date | None = None) -> Workbench:
    """The advisor's day: bookings and arrivals, the reception queue with its clocks, open orders by state,
    estimates waiting for the customer, overdue clocks and cars ready to hand over."""
    day = day or clock.today()
    now = clock.now()
    appointments = list(
        appointment_list(user=user, store_ids=store_ids, day=day).exclude(status=AppointmentStatus.CANCELLED)
    )
    open_orders = list(order_list(user=user, store_ids=store_ids, statuses=list(transitions.OPEN_STATES)))
    settings_by_store = {sid: setting_values_for_store(Store(pk=sid)) for sid in {o.store_id for o in open_orders}}
    queue = []
    for order in open_orders:
        if order.status in (S.RECEPTION, S.WAITING) and order.bay_id is None:
            queue.append({"order": order, **clock_state(order, now, settings_by_store[order.store_id])})
    queue.sort(key=lambda row: (not row["order"].priority, row["order"].arrived_at))
    counts: defaultdict[str, int] = defaultdict(int)
    for order in open_orders:
        counts[order.status] += 1
    by_state = [
        {"status": s, "label": S(s).label, "count": counts[s]} for s in S.values if s in transitions.OPEN_STATES
    ]
    pending_ids = set(
        EstimateLine.objects.filter(
            estimate__order__in=[o.pk for o in open_orders],
            estimate__status=EstimateStatus.SENT,
            decision=LineDecision.PENDING,
        ).values_list("estimate__order_id", flat=True)
    )
    waiting = [o for o in open_orders if o.pk in pending_ids]
    overdue = [row for row in queue if row["inspection_overdue"] or row["bay_overdue"]]
    ready = [o for o in open_orders if o.status == S.READY]
    return Workbench(
        appointments=appointments,
        queue=queue,
        open_by_state=by_state,
        waiting_approval=waiting,
        overdue=overdue,
        ready=ready,
    )


def _approved_labour_hours(order_ids: list[int]) -> dict[int, float]:
    hours: dict[int, float] = defaultdict(float)
    for order_id, value in EstimateLine.objects.filter(
        estimate__order__in=order_ids, decision=LineDecision.APPROVED, kind=LineKind.LABOUR
    ).values_list("estimate__order_id", "standard_hours"):
        hours[order_id] += float(value or 0)
    return hours


def workshop_board(*, user: Any, store_ids: frozenset[int]) -> list[dict[str, Any]]:
    """Columns of the foreman's board: each workshop state with its cars, work time against standard time."""
    from aftersales.service.services.orders import work_minutes

    now = clock.now()
    orders = list(
        order_list(user=user, store_ids=store_ids, statuses=list(transitions.WORKSHOP_STATES)).prefetch_related(
            Prefetch("events", queryset=RepairOrderEvent.objects.order_by("at", "id"))
        )
    )
    hours = _approved_labour_hours([o.pk for o in orders])
    columns = []
    for status in transitions.WORKSHOP_STATES:
        cards = []
        for order in (o for o in orders if o.status == status):
            spent = work_minutes(order, list(order.events.all()), now)
            standard = hours[order.pk] * 60
            cards.append(
                {
                    "order": order,
                    "work_minutes": int(spent),
                    "standard_minutes": int(standard),
                    "over": bool(standard) and spent > standard,
                }
            )
        columns.append({"status": status, "label": S(status).label, "cards": cards})
    return columns


def technician_jobs(*, user: Any) -> list[dict[str, Any]]:
    """The technician's own open jobs with the lines they may work on (approved ones only)."""
    orders = list(
        RepairOrder.objects.for_user(user)
        .filter(technician=user, status__in=transitions.WORKSHOP_STATES)
        .select_related("vehicle", "bay", "customer")
        .order_by("arrived_at")
    )
    per_order: dict[int, list[EstimateLine]] = defaultdict(list)
    for line in (
        EstimateLine.objects.filter(estimate__order__in=[o.pk for o in orders], decision=LineDecision.APPROVED)
        .select_related("estimate")
        .prefetch_related("clock_segments")
        .order_by("id")
    ):
        per_order[line.estimate.order_id].append(line)
    return [
        {"order": o, "lines": per_order[o.pk], "next": sorted(transitions.REPAIR_ORDER_FLOW[o.status])} for o in orders
    ]


def deferred_work_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    vehicle_id: int | None = None,
    query: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
    advisor_id: int | None = None,
) -> QuerySet[DeferredWork]:
    """Open deferred work, the soonest suggested date first; narrowed by a search text (the customer's name or
    mobile, a plate or VIN fragment, the work), the suggested dates and the advisor of the declining order."""
    items = (
        DeferredWork.objects.for_user(user, store_ids=store_ids)
        .filter(status=DeferredStatus.OPEN)
        .select_related("vehicle__customer", "source_line__estimate__order")
    )
    if vehicle_id is not None:
        items = items.filter(vehicle_id=vehicle_id)
    if query:
        customers = Customer.objects.filter(customer_search_filter(query)).values("pk")
        items = items.filter(Q(vehicle__customer__in=customers) | Q(description__icontains=query))
    if start is not None:
        items = items.filter(suggested_date__gte=start)
    if end is not None:
        items = items.filter(suggested_date__lte=end)
    if advisor_id is not None:
        items = items.filter(source_line__estimate__order__advisor_id=advisor_id)
    return items.order_by("suggested_date", "id")
