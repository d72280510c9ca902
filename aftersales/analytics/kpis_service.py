"""Service-process KPIs (KPIS.md): first-time fix, repair duration, reception wait, walk-ins received, waiting
time, initial inspection within 30 min, comebacks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber, TruncDate
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.catalogue import Counts
from aftersales.analytics.kpis_booking import delivered_orders
from aftersales.analytics.kpis_common import (
    Context,
    CustomRule,
    DayDiff,
    MeanRule,
    Seconds,
    ShareRule,
    entry,
    in_period,
)
from aftersales.analytics.periods import LOCAL_TZ
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

PEOPLE: dict[str, Any] = {"advisor": "advisor_id", "technician": "technician_id"}
FIX_TYPES = [ServiceType.REPAIR, ServiceType.WARRANTY, ServiceType.BODYWORK]


def _not_cancelled(records: QuerySet[RepairOrder]) -> QuerySet[RepairOrder]:
    return records.exclude(status=RepairOrderStatus.CANCELLED)


def arrived(ctx: Context) -> QuerySet[RepairOrder]:
    return RepairOrder.objects.filter(in_period("arrived_at", ctx.period))


# ------------------------------------------------------------------------------------------- first-time fix


def _fix_population(ctx: Context) -> QuerySet[RepairOrder]:
    return delivered_orders(ctx).filter(service_type__in=FIX_TYPES, comeback_of__isnull=True)


def _came_back(ctx: Context) -> Q:
    """The order failed first-time fix: a later order is linked to it as its comeback (`comeback_of`, suggested or
    confirmed), or a later order of the same vehicle and concern category arrived in (delivery, delivery + window]
    and the advisor has not ruled on it (`comeback_confirmed_at` empty; a decision — ruled out, or confirmed as the
    comeback of another order — counts only through its link).  The window is counted in local calendar days, the
    same rule as the comeback suggestion (service.services.facts.comeback_candidate): delivered 2 March, back 1
    April = day 30 → a comeback; back 2 April = day 31 → not."""
    linked = RepairOrder.objects.filter(comeback_of_id=OuterRef("pk"))
    same_complaint = RepairOrder.objects.annotate(
        day=DayDiff(
            TruncDate("arrived_at", tzinfo=LOCAL_TZ),
            TruncDate(ExpressionWrapper(OuterRef("delivered_at"), output_field=DateTimeField()), tzinfo=LOCAL_TZ),
        )
    ).filter(
        vehicle_id=OuterRef("vehicle_id"),
        concern_category_id=OuterRef("concern_category_id"),
        arrived_at__gt=OuterRef("delivered_at"),
        day__lte=ctx.setting("comeback_window_days"),
        comeback_confirmed_at__isnull=True,
    )
    return Q(Exists(linked)) | Q(Exists(same_complaint))


def _window_open_from(ctx: Context) -> dt.datetime:
    """Orders delivered at or after this instant may still get a comeback: local midnight of (today − window),
    so the window of an order delivered on day D stays open through local day D + window."""
    today = ctx.now.astimezone(LOCAL_TZ).date()
    return dt.datetime.combine(today - dt.timedelta(days=ctx.setting("comeback_window_days")), dt.time.min, LOCAL_TZ)


def _fix_pending(ctx: Context) -> Q:
    return ~_came_back(ctx) & Q(delivered_at__gte=_window_open_from(ctx))


entry(
    ShareRule(
        base=_fix_population,
        meets=lambda ctx: ~_came_back(ctx) & Q(delivered_at__lt=_window_open_from(ctx)),
        pending=_fix_pending,
        **PEOPLE,
    ),
    key="first_time_fix_percent",
    label=_("First-time fix rate"),
    definition=_(
        "Repair, warranty and bodywork orders delivered in the period that are not comebacks themselves and had no "
        "comeback: no later order linked to it as its comeback (suggested or confirmed), and no order of the same "
        "vehicle and concern category arriving within 30 calendar days after the delivery day unless the advisor "
        "ruled it out. Final 30 days after the period ends (until then an order without comeback is pending)."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_first_time_fix_percent",
    cuts=("advisor", "technician"),
    area="service",
)

entry(
    ShareRule(base=delivered_orders, meets=lambda ctx: Q(comeback_of__isnull=False), **PEOPLE),
    key="comeback_rate_percent",
    label=_("Comeback rate"),
    definition=_(
        "Orders delivered in the period that are a comeback of an earlier order (suggested or confirmed link)."
    ),
    unit="percent",
    direction="lower",
    cuts=("advisor", "technician"),
    area="operations",
)


# ------------------------------------------------------------------------------------------- repair duration


def _ready(ctx: Context) -> QuerySet[RepairOrder]:
    return _not_cancelled(RepairOrder.objects.filter(in_period("ready_at", ctx.period)))


def _duration_aggregates() -> dict[str, Any]:
    return {"total": Count("pk"), "seconds": Sum(Seconds(F("ready_at"), F("arrived_at")))}


def _hours(seconds: int | None, count: int | None) -> Counts:
    return Counts(numerator=Decimal(seconds or 0) / 3600, denominator=count or 0)


def _duration_counts(records: QuerySet[RepairOrder], ctx: Context) -> Counts:
    """One GROUP BY service type; `all` adds the rows up (at most six)."""
    return _duration_of_rows([dict(row) for row in records.values("service_type").annotate(**_duration_aggregates())])


def _duration_counts_by_store(records: QuerySet[RepairOrder], ctx: Context) -> dict[int, Counts]:
    """`_duration_counts` of every store in one GROUP BY store, service type."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for row in records.values("store_id", "service_type").annotate(**_duration_aggregates()):
        rows.setdefault(row["store_id"], []).append(dict(row))
    return {store_id: _duration_of_rows(found) for store_id, found in rows.items()}


def _duration_of_rows(found: list[dict[str, Any]]) -> Counts:
    rows: dict[str, dict[str, Any]] = {row["service_type"]: row for row in found}
    empty: dict[str, Any] = {}
    by_type = {
        kind: _hours(rows.get(kind, empty).get("seconds"), rows.get(kind, empty).get("total"))
        for kind in ServiceType.values
    }
    seconds = sum(int(row["seconds"] or 0) for row in rows.values())
    total = sum(int(row["total"] or 0) for row in rows.values())
    whole = _hours(seconds, total)
    return Counts(whole.numerator, whole.denominator, extra={"by_service_type": by_type})


entry(
    CustomRule(
        base=_ready,
        count_fn=_duration_counts,
        count_by_store_fn=_duration_counts_by_store,
        count_by_fn=lambda records, ctx, path: {
            row[path]: _hours(row["seconds"], row["total"])
            for row in records.values(path).annotate(**_duration_aggregates())
        },
        annotate_fn=lambda records, ctx: records.annotate(seconds=Seconds(F("ready_at"), F("arrived_at"))),
        **PEOPLE,
    ),
    key="mean_repair_duration_hours",
    label=_("Mean repair duration"),
    definition=_(
        "Orders that became ready in the period: mean hours from arrival to ready (wall clock), per service type and "
        "for all (numerator = the sum of hours, denominator = orders)."
    ),
    unit="hours",
    direction="trend_down",
    cuts=("advisor", "technician"),
    area="service",
    value_kind="mean",
)


# ------------------------------------------------------------------------------------------------- reception


entry(
    MeanRule(
        base=lambda ctx: _not_cancelled(arrived(ctx)).filter(reception_started_at__isnull=False),
        end="reception_started_at",
        start="arrived_at",
        advisor="advisor_id",
    ),
    key="reception_wait_minutes",
    label=_("Reception wait"),
    definition=_(
        "Orders (walk-in and booked) arrived in the period whose reception started: mean minutes from arrival to an "
        "advisor taking the customer."
    ),
    unit="minutes",
    direction="lower",
    target_setting="target_reception_wait_minutes",
    cuts=("advisor",),
    area="service",
    value_kind="mean",
)


def _walk_in_limit(ctx: Context) -> dt.timedelta:
    return dt.timedelta(minutes=ctx.setting("walk_in_received_minutes"))


entry(
    ShareRule(
        base=lambda ctx: _not_cancelled(arrived(ctx)).filter(walk_in=True),
        meets=lambda ctx: Q(reception_started_at__lte=F("arrived_at") + _walk_in_limit(ctx)),
        pending=lambda ctx: Q(reception_started_at__isnull=True, arrived_at__gt=ctx.now - _walk_in_limit(ctx)),
        advisor="advisor_id",
    ),
    key="walk_in_received_within_10_min_percent",
    label=_("Walk-ins received within 10 min"),
    definition=_(
        "Walk-in orders arrived in the period whose customer an advisor took within 10 min of arrival (SPEC §3.1); "
        "not received when the 10 min ran out is a failure."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_walk_in_received_percent",
    cuts=("advisor",),
    area="service",
)


# ------------------------------------------------------------------------------------------------- waiting time


def _waiting(ctx: Context) -> QuerySet[RepairOrder]:
    return _not_cancelled(arrived(ctx)).filter(waits_on_site=True, work_started_at__isnull=False)


class _MeanWithMedian(MeanRule):
    """The mean, and the median beside it (a second query: the middle one or two durations by ORDER BY)."""

    def counts(self, ctx: Context) -> Counts:
        counts = super().counts(ctx)
        records = self.scoped(ctx)
        if not counts.denominator or records is None:
            return counts
        n = counts.denominator
        middle = list(
            records.order_by()
            .annotate(seconds=Seconds(F(self.end), F(self.start)))
            .order_by("seconds")
            .values_list("seconds", flat=True)[(n - 1) // 2 : n // 2 + 1]
        )
        return self._with_median(counts, middle)

    def _with_median(self, counts: Counts, middle: list[int]) -> Counts:
        median = (Decimal(sum(middle)) / len(middle) / self.unit_seconds).quantize(Decimal("0.01"))
        return Counts(counts.numerator, counts.denominator, counts.pending, counts.reason, {"median": median})

    def counts_by_store(self, ctx: Context) -> dict[int, Counts] | None:
        """The means per store (one GROUP BY) and each store's middle durations in one more query: the rows
        numbered per store by duration, keeping the positions any store's middle needs."""
        by_store = super().counts_by_store(ctx)
        records = self.scoped(ctx)
        if by_store is None or records is None:
            return by_store
        wanted: dict[int, set[int]] = {
            store_id: set(range((c.denominator - 1) // 2 + 1, c.denominator // 2 + 2))
            for store_id, c in by_store.items()
            if c.denominator
        }
        if not wanted:
            return by_store
        seconds = Seconds(F(self.end), F(self.start))
        rows = (
            records.order_by()
            .annotate(
                seconds=seconds,
                position=Window(RowNumber(), partition_by=[F(self.store)], order_by=seconds.asc()),
            )
            .filter(position__in=sorted(set().union(*wanted.values())))
            .values_list(self.store, "position", "seconds")
        )
        middles: dict[int, list[tuple[int, int]]] = {}
        for store_id, position, value in rows:
            if position in wanted.get(store_id, ()):
                middles.setdefault(store_id, []).append((position, value))
        for store_id, middle in middles.items():
            by_store[store_id] = self._with_median(by_store[store_id], [value for _p, value in sorted(middle)])
        return by_store


entry(
    _MeanWithMedian(base=_waiting, end="work_started_at", start="arrived_at", **PEOPLE),
    key="waiting_time_minutes",
    label=_("Waiting time"),
    definition=_(
        "Orders arrived in the period whose customer waited on site and whose work started: mean minutes from arrival "
        "to the start of work (the median is shown beside it)."
    ),
    unit="minutes",
    direction="lower",
    target_setting="target_waiting_minutes",
    cuts=("advisor", "technician"),
    area="service",
    value_kind="mean",
)


# ------------------------------------------------------------------------------------------- initial inspection


def _inspection_limit(ctx: Context) -> dt.timedelta:
    return dt.timedelta(minutes=ctx.setting("inspection_shown_minutes"))


entry(
    ShareRule(
        # Cancelled before the inspection: left out; cancelled after it: counted.
        base=lambda ctx: arrived(ctx).exclude(status=RepairOrderStatus.CANCELLED, inspection_done_at__isnull=True),
        meets=lambda ctx: Q(inspection_done_at__lte=F("arrived_at") + _inspection_limit(ctx)),
        pending=lambda ctx: Q(inspection_done_at__isnull=True, arrived_at__gt=ctx.now - _inspection_limit(ctx)),
        advisor="advisor_id",
    ),
    key="inspection_within_30_min_percent",
    label=_("Initial inspection within 30 min"),
    definition=_(
        "Orders arrived in the period (not cancelled before the inspection) whose initial inspection was completed "
        "and shown to the customer within 30 min of arrival."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_inspection_in_time_percent",
    cuts=("advisor",),
    area="service",
)
