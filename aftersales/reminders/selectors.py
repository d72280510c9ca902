"""Reads of the reminders app: odometer readings and the mileage projection, the service interval that applies to
a vehicle, the items falling due (computed, not stored), and the lists of the staff page and the vehicle page.

The due items are computed by `due_items` (pure: facts in, items out); `vehicle_facts` loads the facts of many
vehicles in a few queries, so the daily sweep and a single vehicle's page compute exactly the same thing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.selectors import customer_search_filter
from aftersales.reminders import maths
from aftersales.reminders.choices import IntervalScope, ReminderKind, ReminderState
from aftersales.reminders.maths import Projection, Reading
from aftersales.reminders.models import Reminder, ServiceInterval
from aftersales.service.choices import DeferredStatus, RepairOrderStatus, ServiceType
from aftersales.service.models import DeferredWork, RepairOrder

K = ReminderKind
# The lead time of each kind: the setting that says how many days before the due day the reminder goes.
LEAD_SETTING: dict[str, str] = {
    K.FIRST_MAINTENANCE: "first_maintenance_reminder_days",
    K.MAINTENANCE: "maintenance_reminder_days",
    K.INSURANCE: "insurance_reminder_days",
    K.INSPECTION: "inspection_reminder_days",
    K.BIRTHDAY: "birthday_reminder_days",
    K.DEFERRED_WORK: "deferred_work_reminder_days",
}
# Used when a group has no rule for a vehicle (and as the defaults a new group starts with).
DEFAULT_INTERVALS: tuple[dict[str, Any], ...] = (
    {"scope": IntervalScope.FUEL, "every_km": 10_000, "every_months": 12, "first_km": 5_000, "first_months": 6},
    {"scope": IntervalScope.NEV, "every_km": 20_000, "every_months": 24, "first_km": 10_000, "first_months": 12},
)


# ------------------------------------------------------------------------------------------- readings, projection


def odometer_readings(vehicle_ids: Iterable[int]) -> dict[int, list[Reading]]:
    """Every odometer reading known for the vehicles, as (day, km): the mileage noted at each visit's arrival
    (not cancelled ones) and the vehicle's own recorded mileage.  The one place readings come from: a new source
    (connected-car mileage events) is added here and every projection uses it."""
    ids = list(vehicle_ids)
    found: dict[int, list[Reading]] = defaultdict(list)
    visits = (
        RepairOrder.objects.filter(vehicle_id__in=ids, mileage_in__isnull=False)
        .exclude(status=RepairOrderStatus.CANCELLED)
        .values_list("vehicle_id", "arrived_at", "mileage_in")
    )
    for vehicle_id, arrived_at, km in visits:
        if km is not None:
            found[vehicle_id].append((timezone.localtime(arrived_at).date(), km))
    own = Vehicle.objects.filter(pk__in=ids, mileage_recorded_on__isnull=False, mileage_km__gt=0).values_list(
        "pk", "mileage_recorded_on", "mileage_km"
    )
    for vehicle_id, day, recorded in own:
        if day is not None:
            found[vehicle_id].append((day, recorded))
    for source in _READING_SOURCES:
        for vehicle_id, day, km in source(ids):
            found[vehicle_id].append((day, km))
    return dict(found)


# Further sources of readings that higher layers register at start-up (telematics: the connected car's daily
# odometer), so this app need not import them: each takes vehicle ids and yields (vehicle id, day, km).
ReadingSource = Callable[[list[int]], Iterable[tuple[int, dt.date, int]]]
_READING_SOURCES: list[ReadingSource] = []


def odometer_source_register(source: ReadingSource) -> None:
    """Add a source of odometer readings (once) to every projection."""
    if source not in _READING_SOURCES:
        _READING_SOURCES.append(source)


def _default_km_per_day(store: Any) -> float:
    from aftersales.organisation.selectors import setting_get

    return float(setting_get(store=store, key="default_km_per_day"))


def mileage_projection(vehicle: Vehicle, *, on: dt.date, default_km_per_day: float | None = None) -> Projection:
    """The vehicle's km/day fitted by least squares over its readings, and its mileage on `on` (see maths.project:
    one reading counts from the purchase day at 0 km; none, the store's `default_km_per_day`)."""
    if default_km_per_day is None:
        default_km_per_day = _default_km_per_day(vehicle.store)
    readings = odometer_readings([vehicle.pk]).get(vehicle.pk, [])
    return maths.project(readings, on=on, purchase_date=vehicle.purchase_date, default_km_per_day=default_km_per_day)


# ---------------------------------------------------------------------------------------------- service intervals


@dataclass(frozen=True)
class Interval:
    every_km: int
    every_months: int
    first_km: int
    first_months: int
    rule_id: int | None = None


def interval_rules(group_id: int) -> list[ServiceInterval]:
    return list(ServiceInterval.objects.filter(group_id=group_id).select_related("store"))


def interval_for(vehicle: Vehicle, rules: Iterable[ServiceInterval]) -> Interval:
    """The most specific rule of the vehicle's store or group that matches it; the built-in defaults when none."""
    nev = vehicle.is_nev
    matching = [
        rule
        for rule in rules
        if (rule.store_id is None or rule.store_id == vehicle.store_id)
        and (rule.scope == IntervalScope.ALL or (rule.scope == IntervalScope.NEV) == nev)
        and (not rule.brand or rule.brand.casefold() == vehicle.brand.casefold())
        and (not rule.model_pattern or rule.model_pattern.casefold() in vehicle.model_name.casefold())
    ]
    if matching:
        best = max(matching, key=lambda rule: (rule.specificity, -rule.pk))
        return Interval(best.every_km, best.every_months, best.first_km, best.first_months, best.pk)
    default = DEFAULT_INTERVALS[1 if nev else 0]
    return Interval(default["every_km"], default["every_months"], default["first_km"], default["first_months"])


# ------------------------------------------------------------------------------------------------------ due items


@dataclass(frozen=True)
class Visit:
    pk: int
    day: dt.date
    km: int | None
    next_service_date: dt.date | None
    next_service_km: int | None


@dataclass
class VehicleFacts:
    readings: list[Reading] = field(default_factory=list)
    last_maintenance: Visit | None = None
    last_advice: Visit | None = None  # the latest delivered visit whose advisor set the next maintenance
    deferred: list[tuple[int, dt.date, str]] = field(default_factory=list)
    last_store_id: int | None = None  # the store of the latest visit (any store of the group): it sends


@dataclass(frozen=True)
class DueItem:
    kind: str
    due_key: str
    due_on: dt.date
    remind_on: dt.date
    due_km: int | None = None
    note: str = ""


def _visit(order: RepairOrder) -> Visit:
    day = timezone.localtime(order.delivered_at or order.arrived_at).date()
    return Visit(order.pk, day, order.mileage_in, order.next_service_date, order.next_service_km)


def vehicle_facts(vehicle_ids: Iterable[int]) -> dict[int, VehicleFacts]:
    """The facts of many vehicles in four queries (readings, the two latest visits, open deferred work)."""
    ids = list(vehicle_ids)
    facts = {pk: VehicleFacts() for pk in ids}
    for pk, readings in odometer_readings(ids).items():
        facts[pk].readings = readings
    delivered = RepairOrder.objects.filter(vehicle=OuterRef("pk"), status=RepairOrderStatus.DELIVERED).order_by(
        "-delivered_at", "-id"
    )
    visits = (
        RepairOrder.objects.filter(vehicle=OuterRef("pk"))
        .exclude(status=RepairOrderStatus.CANCELLED)
        .order_by("-arrived_at", "-id")
    )
    latest = Vehicle.objects.filter(pk__in=ids).annotate(
        last_store_id=Subquery(visits.values("store_id")[:1]),
        maintenance_id=Subquery(delivered.filter(service_type=ServiceType.MAINTENANCE).values("pk")[:1]),
        advice_id=Subquery(
            delivered.filter(Q(next_service_date__isnull=False) | Q(next_service_km__isnull=False)).values("pk")[:1]
        ),
    )
    rows = list(latest.values_list("pk", "maintenance_id", "advice_id", "last_store_id"))
    orders = RepairOrder.objects.in_bulk([o for _pk, m, a, _s in rows for o in (m, a) if o is not None])
    for pk, maintenance_id, advice_id, last_store_id in rows:
        facts[pk].last_store_id = last_store_id
        if maintenance_id is not None:
            facts[pk].last_maintenance = _visit(orders[maintenance_id])
        if advice_id is not None:
            facts[pk].last_advice = _visit(orders[advice_id])
    deferred = DeferredWork.objects.filter(vehicle_id__in=ids, status=DeferredStatus.OPEN).values_list(
        "vehicle_id", "pk", "suggested_date", "description"
    )
    for vehicle_id, pk, day, description in deferred:
        facts[vehicle_id].deferred.append((pk, day, description))
    return facts


def _earlier(by_date: dt.date, by_km: dt.date | None) -> dt.date:
    return by_date if by_km is None else min(by_date, by_km)


def maintenance_due(
    vehicle: Vehicle, facts: VehicleFacts, interval: Interval, projection: Projection
) -> DueItem | None:
    """The next maintenance: whichever comes first of the date and the day the projected mileage reaches the
    mileage.  After a maintenance visit: its date + the interval's months and its odometer + the interval's km,
    unless the advisor set the next date or mileage at a later (or the same) delivery — those win.  Before any:
    the first maintenance after purchase (kind first_maintenance)."""
    last, advice = facts.last_maintenance, facts.last_advice
    if advice is not None and (last is None or advice.day >= last.day):
        base = last or advice
        due_date = advice.next_service_date or maths.add_months(base.day, interval.every_months)
        due_km = advice.next_service_km
        if due_km is None:
            start_km = base.km if base.km is not None else projection.projected_km
            due_km = start_km + interval.every_km
        kind, key = K.MAINTENANCE, f"ro{advice.pk}"
    elif last is not None:
        due_date = maths.add_months(last.day, interval.every_months)
        due_km = (last.km if last.km is not None else projection.projected_km) + interval.every_km
        kind, key = K.MAINTENANCE, f"ro{last.pk}"
    elif vehicle.purchase_date is not None:
        due_date = maths.add_months(vehicle.purchase_date, interval.first_months)
        due_km = interval.first_km
        kind, key = K.FIRST_MAINTENANCE, "first"
    else:
        return None
    due_on = _earlier(due_date, maths.date_reaching(projection, due_km))
    return DueItem(kind, key, due_on, due_on, due_km)


def due_items(
    vehicle: Vehicle,
    facts: VehicleFacts,
    *,
    interval: Interval,
    values: Mapping[str, int | Decimal],
    on: dt.date,
) -> list[DueItem]:
    """Every item of the vehicle that falls due (birthdays are the customer's: `birthday_due`), with the day its
    reminder goes (`remind_on`, the kind's lead time before `due_on`)."""
    projection = maths.project(
        facts.readings,
        on=on,
        purchase_date=vehicle.purchase_date,
        default_km_per_day=float(values["default_km_per_day"]),
    )
    items: list[DueItem] = []
    maintenance = maintenance_due(vehicle, facts, interval, projection)
    if maintenance is not None:
        items.append(maintenance)
    if vehicle.insurance_expires_on is not None:
        day = vehicle.insurance_expires_on
        items.append(DueItem(K.INSURANCE, day.isoformat(), day, day))
    if vehicle.inspection_due_on is not None:
        day = vehicle.inspection_due_on
        items.append(DueItem(K.INSPECTION, day.isoformat(), day, day))
    # The declined items suggested for one day make one reminder (a job's labour and parts, declined together,
    # are several rows): the customer gets one message listing them, not one per row.
    deferred_by_day: dict[dt.date, list[str]] = {}
    for _pk, day, description in facts.deferred:
        deferred_by_day.setdefault(day, []).append(description)
    for day, works in sorted(deferred_by_day.items()):
        items.append(DueItem(K.DEFERRED_WORK, f"dw{day.isoformat()}", day, day, note="、".join(works)[:200]))
    return [_with_lead(item, values) for item in items]


def _with_lead(item: DueItem, values: Mapping[str, int | Decimal]) -> DueItem:
    lead = dt.timedelta(days=int(values[LEAD_SETTING[item.kind]]))
    return DueItem(item.kind, item.due_key, item.due_on, item.due_on - lead, item.due_km, item.note)


def birthday_due(birthday: dt.date, *, values: Mapping[str, int | Decimal], on: dt.date) -> DueItem:
    """The customer's next birthday greeting (the year is the key: one greeting a year).  Looked for from the lead
    time on, so a greeting sent a few days early is not followed by next year's at once."""
    lead = dt.timedelta(days=int(values[LEAD_SETTING[K.BIRTHDAY]]))
    day = maths.next_birthday(birthday, on=on)
    return DueItem(K.BIRTHDAY, str(day.year), day, day - lead)


def wanted(item: DueItem, *, values: Mapping[str, int | Decimal], on: dt.date) -> bool:
    """Whether the item belongs on the reminders list now: its reminder goes within the horizon, and it is not
    so long overdue that a reminder would be stale (those are left to the recall of churn-risk customers)."""
    horizon = on + dt.timedelta(days=int(values["reminder_horizon_days"]))
    overdue = on - dt.timedelta(days=int(values["reminder_overdue_days"]))
    return item.remind_on <= horizon and item.due_on >= overdue


# --------------------------------------------------------------------------------------------------- pages, API


@dataclass(frozen=True)
class Upcoming:
    """One coming (or just sent) reminder of a vehicle, for the vehicle's page."""

    kind: str
    label: str
    due_on: dt.date
    remind_on: dt.date
    due_km: int | None
    state: str
    reminder: Reminder | None


def next_reminders_for_vehicle(vehicle: Vehicle, *, on: dt.date | None = None) -> list[Upcoming]:
    """What the vehicle will be reminded of next, soonest first: each item computed now (however far ahead), with
    its stored reminder when there is one (scheduled, sent, snoozed).  Reads only."""
    from aftersales.organisation.selectors import setting_values_for_store

    on = on or clock.today()
    values = setting_values_for_store(vehicle.store)
    facts = vehicle_facts([vehicle.pk])[vehicle.pk]
    interval = interval_for(vehicle, interval_rules(vehicle.store.group_id))
    items = due_items(vehicle, facts, interval=interval, values=values, on=on)
    overdue = on - dt.timedelta(days=int(values["reminder_overdue_days"]))
    stored = {
        (r.kind, r.due_key): r for r in Reminder.objects.filter(vehicle=vehicle).exclude(state=ReminderState.CANCELLED)
    }
    result = [
        Upcoming(
            item.kind,
            str(ReminderKind(item.kind).label),
            item.due_on,
            item.remind_on,
            item.due_km,
            stored[(item.kind, item.due_key)].state if (item.kind, item.due_key) in stored else "",
            stored.get((item.kind, item.due_key)),
        )
        for item in items
        if item.due_on >= overdue
    ]
    return sorted(result, key=lambda u: (u.due_on, u.kind))


def reminder_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    capabilities: tuple[str, ...],
    state: str = "",
    kind: str = "",
    query: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[Reminder]:
    """The reminders of the stores where the user holds one of `capabilities`, next to go first; narrowed by
    state, kind, the due dates and a search (customer name or mobile, plate or VIN)."""
    allowed = frozenset().union(*(store_ids_where(user, capability) for capability in capabilities))
    rows = (
        Reminder.objects.for_user(user, store_ids=allowed & store_ids)
        .select_related("customer", "vehicle", "store", "message")
        .order_by("remind_on", "id")
    )
    if state:
        rows = rows.filter(state=state)
    else:
        rows = rows.exclude(state=ReminderState.CANCELLED)
    if kind:
        rows = rows.filter(kind=kind)
    if start is not None:
        rows = rows.filter(due_on__gte=start)
    if end is not None:
        rows = rows.filter(due_on__lte=end)
    if query:
        customers = Customer.objects.filter(customer_search_filter(query)).values("pk")
        rows = rows.filter(Q(customer__in=customers) | Q(vehicle__plate__icontains=query) | Q(vehicle__vin=query))
    return rows


def service_interval_list(*, group_id: int, store_id: int | None) -> QuerySet[ServiceInterval]:
    """The group's rules and the store's own."""
    return ServiceInterval.objects.filter(group_id=group_id).filter(Q(store__isnull=True) | Q(store_id=store_id))
