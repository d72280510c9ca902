"""Reads of the forecast app: the weekly counts and labour facts the forecast is fitted on (aggregated in SQL), the
cached forecast of a store, and the staffing table (booked and forecast load in technician-hours against the
technicians of the store, per day and grade)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractIsoWeekDay, TruncDate, TruncWeek

from aftersales.core.calendar import CHINA_TZ
from aftersales.forecast.maths import MIN_HISTORY_WEEKS
from aftersales.forecast.models import StoreForecast
from aftersales.organisation.choices import GRADE_RANK, Role, TechnicianGrade
from aftersales.organisation.models import Membership, OpeningHours, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import closed_days_for_store, setting_get
from aftersales.service.choices import AppointmentStatus, LineDecision, LineKind, RepairOrderStatus, ServiceType
from aftersales.service.models import Appointment, EstimateLine, RepairOrder

TECHNICIAN_ROLES = (Role.TECHNICIAN, Role.FOREMAN)
#: The grades from the least to the most qualified; "" is work any technician may do.
GRADES: tuple[str, ...] = ("", *TechnicianGrade.values)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=CHINA_TZ)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _day(value: dt.datetime | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(CHINA_TZ).date() if value.tzinfo else value.date()
    return value


@dataclass
class WeeklyCounts:
    """Orders (arrivals, cancelled left out) and bookings (by the slot's week, cancelled left out) per
    (Monday, service type)."""

    orders: dict[tuple[dt.date, str], int] = field(default_factory=dict)
    bookings: dict[tuple[dt.date, str], int] = field(default_factory=dict)

    @property
    def first_week(self) -> dt.date | None:
        weeks = [week for week, _type in self.orders]
        return min(weeks) if weeks else None


def weekly_counts(*, store_id: int, before: dt.date) -> WeeklyCounts:
    """Two grouped queries (TruncWeek in Beijing time): the store's weekly orders and bookings by service type,
    for the weeks that ended before `before` (a Monday)."""
    end = local_midnight(before)
    orders = (
        RepairOrder.objects.filter(store_id=store_id, arrived_at__lt=end)
        .exclude(status=RepairOrderStatus.CANCELLED)
        .annotate(week=TruncWeek("arrived_at", tzinfo=CHINA_TZ))
        .values("week", "service_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    bookings = (
        Appointment.objects.filter(slot__store_id=store_id, slot__start__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .annotate(week=TruncWeek("slot__start", tzinfo=CHINA_TZ))
        .values("week", "service_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    return WeeklyCounts(
        orders={(_day(row["week"]), row["service_type"]): row["n"] for row in orders},
        bookings={(_day(row["week"]), row["service_type"]): row["n"] for row in bookings},
    )


def labour_facts(*, store_id: int, since: dt.date, before: dt.date) -> dict[str, Any]:
    """What an order of each service type asks of the workshop, from the store's delivered orders that arrived in
    [since, before): standard labour hours per order (approved labour lines), the split of those hours by the
    lines' minimum grade, and the share of arrivals on each weekday (Monday first).  Three grouped queries."""
    window = Q(arrived_at__gte=local_midnight(since), arrived_at__lt=local_midnight(before))
    delivered = RepairOrder.objects.filter(window, store_id=store_id, status=RepairOrderStatus.DELIVERED)
    order_counts = dict(delivered.values_list("service_type").annotate(n=Count("id")).order_by())
    hours = (
        EstimateLine.objects.filter(
            estimate__order__in=delivered.values("id"), kind=LineKind.LABOUR, decision=LineDecision.APPROVED
        )
        .values("estimate__order__service_type", "min_grade")
        .annotate(h=Sum("standard_hours"))
        .order_by()
    )
    by_type: dict[str, dict[str, float]] = defaultdict(dict)
    for row in hours:
        by_type[row["estimate__order__service_type"]][row["min_grade"]] = float(row["h"] or 0)
    per_order: dict[str, float] = {}
    shares: dict[str, dict[str, float]] = {}
    for service_type in ServiceType.values:
        total = sum(by_type[service_type].values())
        count = order_counts.get(service_type, 0)
        if count and total > 0:
            per_order[service_type] = round(total / count, 3)
            shares[service_type] = {g: round(h / total, 4) for g, h in sorted(by_type[service_type].items())}
    arrivals = RepairOrder.objects.filter(window, store_id=store_id).exclude(status=RepairOrderStatus.CANCELLED)
    weekdays = dict(arrivals.annotate(d=ExtractIsoWeekDay("arrived_at")).values_list("d").annotate(n=Count("id")))
    total_arrivals = sum(weekdays.values())
    weekday_share = [round(weekdays.get(i, 0) / total_arrivals, 4) if total_arrivals else 1 / 7 for i in range(1, 8)]
    return {"hours_per_order": per_order, "grade_share": shares, "weekday_share": weekday_share}


def forecast_latest(*, user: Any, store: Store) -> StoreForecast | None:
    """The newest cached forecast of the store (the caller has checked VIEW_KPIS there)."""
    return StoreForecast.objects.for_user(user, Capability.VIEW_KPIS).filter(store=store).order_by("-week").first()


# ------------------------------------------------------------------------------------------------ staffing


@dataclass
class StaffingDay:
    day: dt.date
    open: bool
    booked_orders: int
    expected_orders: float
    needed: dict[str, float]  # technician-hours by grade ("" = any technician)
    available: dict[str, float]
    shortfall: float  # hours missing at the tightest grade level (0: covered)
    short_grade: str  # the lowest grade level where the hours run short ("" when covered or at "any")

    @property
    def needed_total(self) -> float:
        return round(sum(self.needed.values()), 1)

    @property
    def available_total(self) -> float:
        return round(sum(self.available.values()), 1)


@dataclass
class Staffing:
    days: list[StaffingDay]
    technicians: dict[str, int]  # by grade
    hours_per_technician: float
    grades: tuple[str, ...] = GRADES

    @property
    def short_days(self) -> int:
        return sum(1 for d in self.days if d.shortfall > 0)


def booked_by_day(*, store_id: int, first: dt.date, days: int) -> dict[tuple[dt.date, str], int]:
    """Bookings still to come (status booked) per (day, service type) over `days` days from `first`."""
    rows = (
        Appointment.objects.filter(
            slot__store_id=store_id,
            status=AppointmentStatus.BOOKED,
            slot__start__gte=local_midnight(first),
            slot__start__lt=local_midnight(first + dt.timedelta(days=days)),
        )
        .annotate(day=TruncDate("slot__start", tzinfo=CHINA_TZ))
        .values("day", "service_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(_day(row["day"]), row["service_type"]): row["n"] for row in rows}


def technicians_by_grade(*, store_id: int) -> dict[str, int]:
    """The store's active technicians and foremen, counted by their grade (StaffProfile.technician_grade)."""
    users = (
        Membership.objects.filter(store_id=store_id, role__in=TECHNICIAN_ROLES, user__is_active=True)
        .values_list("user_id", "user__staff_profile__technician_grade")
        .distinct()
    )
    counts: dict[str, int] = dict.fromkeys(GRADES, 0)
    for _user, grade in set(users):
        counts[grade or ""] = counts.get(grade or "", 0) + 1
    return counts


def open_days(store: Store, first: dt.date, days: int) -> set[dt.date]:
    """The days the store's workshop opens (its opening hours' weekdays, minus its own closed days)."""
    weekdays = set(OpeningHours.objects.filter(store=store).values_list("weekday", flat=True))
    closed = closed_days_for_store(store)
    span = [first + dt.timedelta(days=i) for i in range(days)]
    return {d for d in span if d.weekday() in weekdays and d not in closed}


def _forecast_by_week(forecast: StoreForecast) -> dict[dt.date, dict[str, float]]:
    out: dict[dt.date, dict[str, float]] = {}
    for row in forecast.data.get("forecast", []):
        out[dt.date.fromisoformat(row["week"])] = {k: float(v) for k, v in row.get("by_type", {}).items()}
    return out


def cover(needed: dict[str, float], available: dict[str, float]) -> tuple[float, str]:
    """Whether the hours of each grade can be covered, a technician working at their grade or below: from the
    most qualified level down, the hours needed at that level or above against those available at it or above.
    Returns (the largest shortfall, the grade level where it is)."""
    worst, where = 0.0, ""
    need_above = have_above = 0.0
    for grade in sorted(GRADES, key=lambda g: -GRADE_RANK.get(g, 0)):
        need_above += needed.get(grade, 0.0)
        have_above += available.get(grade, 0.0)
        gap = need_above - have_above
        if gap > worst + 1e-9:
            worst, where = gap, grade
    return round(worst, 1), where


def staffing(*, store: Store, forecast: StoreForecast | None, today: dt.date, days: int | None = None) -> Staffing:
    """Technician-hours per day and grade for the next `days` days (setting `staffing_plan_days`): each day's
    orders are its bookings or its share of the week's forecast (the weekday profile over the open days),
    whichever is more; an order of a service type takes its standard hours, split by the lines' minimum grade;
    dividing by the productivity setting gives the technician-hours.  Available: each technician's productive
    hours on a day the store is open."""
    days = days if days is not None else int(setting_get(store=store, key="staffing_plan_days"))
    hours_each = float(setting_get(store=store, key="technician_productive_hours"))
    productivity = float(setting_get(store=store, key="technician_productivity_percent")) / 100 or 1.0
    data = forecast.data if forecast is not None else {}
    hours_per_order: dict[str, float] = data.get("hours_per_order", {})
    fallback_hours = (sum(hours_per_order.values()) / len(hours_per_order)) if hours_per_order else 1.0
    grade_share: dict[str, dict[str, float]] = data.get("grade_share", {})
    weekday_share: list[float] = data.get("weekday_share") or [1 / 7] * 7
    by_week = _forecast_by_week(forecast) if forecast is not None else {}
    booked = booked_by_day(store_id=store.pk, first=today, days=days)
    opened = open_days(store, today, days + 7)
    technicians = technicians_by_grade(store_id=store.pk)
    result: list[StaffingDay] = []
    for i in range(days):
        day = today + dt.timedelta(days=i)
        monday = monday_of(day)
        week_open = [monday + dt.timedelta(days=j) for j in range(7) if monday + dt.timedelta(days=j) in opened]
        share_sum = sum(weekday_share[d.weekday()] for d in week_open)
        is_open = day in opened
        share = weekday_share[day.weekday()] / share_sum if is_open and share_sum > 0 else 0.0
        needed: dict[str, float] = dict.fromkeys(GRADES, 0.0)
        booked_total = 0
        expected_sum = 0.0
        for service_type in ServiceType.values:
            n_booked = booked.get((day, service_type), 0)
            n_forecast = by_week.get(monday, {}).get(service_type, 0.0) * share
            expected = max(float(n_booked), n_forecast)
            booked_total += n_booked
            expected_sum += expected
            hours = expected * hours_per_order.get(service_type, fallback_hours) / productivity
            split = grade_share.get(service_type) or {"": 1.0}
            for grade, part in split.items():
                needed[grade if grade in needed else ""] += hours * part
        available = {g: (technicians.get(g, 0) * hours_each if is_open else 0.0) for g in GRADES}
        needed = {g: round(h, 1) for g, h in needed.items()}
        shortfall, short_grade = cover(needed, available)
        result.append(
            StaffingDay(
                day=day,
                open=is_open,
                booked_orders=booked_total,
                expected_orders=round(expected_sum, 1),
                needed=needed,
                available=available,
                shortfall=shortfall,
                short_grade=short_grade,
            )
        )
    return Staffing(days=result, technicians=technicians, hours_per_technician=hours_each)


def grade_label(grade: str) -> str:
    from django.utils.translation import gettext as _

    return str(TechnicianGrade(grade).label) if grade else _("Any grade")


def grades_present(staffing_table: Staffing) -> list[str]:
    """The grade columns worth showing: a grade some work needs or some technician holds."""
    used: set[str] = set()
    for day in staffing_table.days:
        used |= {g for g, h in day.needed.items() if h > 0}
    used |= {g for g, n in staffing_table.technicians.items() if n > 0}
    return [g for g in GRADES if g in used]


def iter_weeks(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    week = first
    while week <= last:
        yield week
        week += dt.timedelta(days=7)


# ------------------------------------------------------------------------------------------------ the page


@dataclass
class TypeRow:
    service_type: str
    label: str
    weeks: list[float]
    total: float
    mase: float | None
    hours_per_order: float | None


@dataclass
class ForecastPage:
    """What the page and the API show of a cached forecast, with the staffing table computed now (bookings move)."""

    enough_history: bool
    weeks_of_history: int
    min_weeks: int
    mase: float | None
    benchmark_mase: float | None
    seasonal: bool
    mae: float | None
    origins: int
    weeks: list[dict[str, Any]]
    types: list[TypeRow]
    staffing: Staffing
    grade_columns: list[tuple[str, str]]
    staffing_rows: list[dict[str, Any]]

    @property
    def beats_benchmark(self) -> bool | None:
        return None if self.mase is None else self.mase < 1


def forecast_page(*, forecast: StoreForecast, store: Store, today: dt.date) -> ForecastPage:
    data = forecast.data
    weeks = data.get("forecast", [])
    labels = dict(ServiceType.choices)
    types = []
    for service_type in ServiceType.values:
        values = [float(w["by_type"].get(service_type, 0.0)) for w in weeks]
        facts = data.get("by_type", {}).get(service_type, {})
        types.append(
            TypeRow(
                service_type=service_type,
                label=str(labels[service_type]),
                weeks=[round(v, 1) for v in values],
                total=round(sum(values), 1),
                mase=facts.get("mase"),
                hours_per_order=data.get("hours_per_order", {}).get(service_type),
            )
        )
    table = staffing(store=store, forecast=forecast if weeks else None, today=today)
    backtest = data.get("backtest") or {}
    columns = grades_present(table)
    return ForecastPage(
        enough_history=bool(data.get("enough_history")),
        weeks_of_history=int(data.get("weeks_of_history", forecast.history_weeks)),
        min_weeks=MIN_HISTORY_WEEKS,
        staffing_rows=[
            {"day": d, "cells": [(d.needed.get(g, 0.0), d.available.get(g, 0.0)) for g in columns]} for d in table.days
        ],
        mase=forecast.mase,
        benchmark_mase=forecast.benchmark_mase,
        seasonal=forecast.seasonal_period > 1,
        mae=backtest.get("mae"),
        origins=int(backtest.get("origins", 0)),
        weeks=weeks,
        types=types,
        staffing=table,
        grade_columns=[(g, grade_label(g)) for g in columns],
    )


def forecast_json(*, forecast: StoreForecast, page: ForecastPage) -> dict[str, Any]:
    """The API's body: the cached figures and the staffing table of today."""
    data = forecast.data
    return {
        "store": forecast.store.code,
        "week": forecast.week.isoformat(),
        "computed_at": forecast.computed_at.isoformat(),
        "method": data.get("method", ""),
        "weeks_of_history": page.weeks_of_history,
        "enough_history": page.enough_history,
        "mase": page.mase,
        "benchmark_mase": page.benchmark_mase,
        "seasonal_period": forecast.seasonal_period,
        "backtest": data.get("backtest"),
        "history": data.get("history", []),
        "forecast": data.get("forecast", []),
        "by_type": data.get("by_type", {}),
        "hours_per_order": data.get("hours_per_order", {}),
        "staffing": [
            {
                "day": d.day.isoformat(),
                "open": d.open,
                "booked_orders": d.booked_orders,
                "expected_orders": d.expected_orders,
                "needed_hours": d.needed,
                "available_hours": d.available,
                "shortfall_hours": d.shortfall,
            }
            for d in page.staffing.days
        ],
    }
