"""Retention KPIs (KPIS.md): repurchase, churn, win-back, first-maintenance conversion.

Customers count through their closed visits (delivered orders) at the scope's stores; the win-back rate reuses the
care app's definition (`care.selectors`: recalls sent, returned within the window)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.catalogue import Counts
from aftersales.analytics.kpis_common import (
    Context,
    CustomRule,
    DayDiff,
    ShareRule,
    as_bool,
    entry,
)
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.care.selectors import _recalls_sent, _returned
from aftersales.customers.models import Customer
from aftersales.reminders.choices import ReminderKind
from aftersales.reminders.models import Reminder
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)


# ----------------------------------------------------------------------------------------------- repurchase


def repurchase_window(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The 12 calendar months ending with the period's last month."""
    last_month = period.months()[-1]
    return last_month.shift(-11).start, period.end


def _closed_in_window(ctx: Context) -> QuerySet[RepairOrder]:
    start, end = repurchase_window(ctx.period)
    return RepairOrder.objects.filter(status=RepairOrderStatus.DELIVERED, delivered_at__gte=start, delivered_at__lt=end)


def _another_visit(ctx: Context, *, same: str | None = None) -> Exists:
    """Another closed visit of the same customer in the window at the scope's stores (by the same person when the
    figure is per advisor)."""
    others = (
        _closed_in_window(ctx)
        .filter(customer_id=OuterRef("customer_id"), store_id__in=sorted(ctx.scope.store_ids))
        .exclude(pk=OuterRef("pk"))
    )
    if ctx.scope.advisor_id is not None:
        others = others.filter(advisor_id=ctx.scope.advisor_id)
    if same is not None:
        others = others.filter(**{same: OuterRef(same)})
    return Exists(others)


def _repurchase_aggregates(ctx: Context, same: str | None = None) -> dict[str, Any]:
    return {
        "d": Count("customer_id", distinct=True),
        "n": Count("customer_id", distinct=True, filter=Q(_another_visit(ctx, same=same))),
    }


entry(
    CustomRule(
        base=_closed_in_window,
        count_fn=lambda records, ctx: Counts(**_repurchase_counts(records.aggregate(**_repurchase_aggregates(ctx)))),
        count_by_fn=lambda records, ctx, path: {
            row[path]: Counts(**_repurchase_counts(row))
            for row in records.values(path).annotate(**_repurchase_aggregates(ctx, same=path))
        },
        annotate_fn=lambda records, ctx: records.annotate(meets=as_bool(Q(_another_visit(ctx)))),
        advisor="advisor_id",
    ),
    key="repurchase_rate_percent",
    label=_("Repurchase rate"),
    definition=_(
        "Customers with a closed visit in the 12 calendar months ending with the period's last month who had two or "
        "more (per advisor: visits handled by that advisor)."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_repurchase_percent",
    review_cycle="quarter",
    cuts=("advisor",),
    area="retention",
)


def _repurchase_counts(row: dict[str, Any]) -> dict[str, Any]:
    return {"numerator": row["n"] or 0, "denominator": row["d"] or 0}


# ---------------------------------------------------------------------------------------------------- churn


def _churn_bounds(ctx: Context) -> tuple[dt.datetime, dt.datetime]:
    """[lower, churned-before): a last visit on or after `lower` is ≤ horizon days before the period's last day;
    one before `churned-before` is more than `churn_after_days` days before it (store-local days)."""
    last_day = ctx.period.last_day
    lower = local_midnight(last_day - dt.timedelta(days=ctx.setting("churn_horizon_days")))
    churned_before = local_midnight(last_day - dt.timedelta(days=ctx.setting("churn_after_days")))
    return lower, churned_before


def _customers_by_last_visit(ctx: Context) -> QuerySet[Customer]:
    """Customers with a closed visit at the scope's stores before the period's end, annotated with the last one.
    The visits are filtered before the annotation, so the join reads only the scope's orders (the store and
    delivery-time index) instead of every order of the group."""
    lower, _cut = _churn_bounds(ctx)
    return (
        Customer.objects.filter(
            repair_orders__status=RepairOrderStatus.DELIVERED,
            repair_orders__store_id__in=sorted(ctx.scope.store_ids),
            repair_orders__delivered_at__lt=ctx.period.end,
        )
        .annotate(last_visit=Max("repair_orders__delivered_at"))
        .filter(last_visit__gte=lower)
        .order_by()
    )


def _churn_counts(records: QuerySet[Customer], ctx: Context) -> Counts:
    _lower, churned_before = _churn_bounds(ctx)
    row = records.aggregate(d=Count("pk"), n=Count("pk", filter=Q(last_visit__lt=churned_before)))
    return Counts(numerator=row["n"] or 0, denominator=row["d"] or 0)


def _churn_counts_by_store(records: QuerySet[Customer], ctx: Context) -> dict[int, Counts]:
    """`_churn_counts` of every store in one query: each customer's last closed visit per store (a GROUP BY
    customer, store over the orders), then counted per store — the same customers `_customers_by_last_visit`
    finds for one store at a time."""
    lower, churned_before = _churn_bounds(ctx)
    last_visits = (
        RepairOrder.objects.filter(
            status=RepairOrderStatus.DELIVERED,
            store_id__in=sorted(ctx.scope.store_ids),
            delivered_at__lt=ctx.period.end,
            customer_id__isnull=False,
        )
        .order_by()
        .values("customer_id", "store_id")
        .annotate(last_visit=Max("delivered_at"))
        .filter(last_visit__gte=lower)
    )
    inner, params = last_visits.query.sql_with_params()
    cut = connection.ops.adapt_datetimefield_value(churned_before)
    sql = (
        "SELECT visits.store_id, COUNT(*), SUM(CASE WHEN visits.last_visit < %s THEN 1 ELSE 0 END) "  # noqa: S608
        f"FROM ({inner}) visits GROUP BY visits.store_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [cut, *params])
        rows = cursor.fetchall()
    return {store_id: Counts(numerator=int(n or 0), denominator=int(d or 0)) for store_id, d, n in rows}


entry(
    CustomRule(
        base=_customers_by_last_visit,
        store="",
        count_fn=_churn_counts,
        count_by_store_fn=_churn_counts_by_store,
        annotate_fn=lambda records, ctx: records.annotate(
            meets=as_bool(Q(last_visit__lt=_churn_bounds(ctx)[1]))
        ).order_by("last_visit", "pk"),
    ),
    key="churn_rate_percent",
    label=_("Churn rate"),
    definition=_(
        "Customers whose last closed visit on or before the period's last day lies at most 730 days before it: "
        "the share whose last visit lies 181–730 days before it."
    ),
    unit="percent",
    direction="lower",
    target_setting="target_churn_percent",
    review_cycle="year",
    area="retention",
)


# ------------------------------------------------------------------------------------------------- win-back


def _recalls(ctx: Context) -> QuerySet[Any]:
    return _recalls_sent(ctx.scope.store_ids, ctx.period.start, ctx.period.end)


def _win_back_days(ctx: Context) -> int:
    return ctx.setting("win_back_return_days")


entry(
    ShareRule(
        base=_recalls,
        meets=lambda ctx: Q(_returned(_win_back_days(ctx))),
        pending=lambda ctx: (
            ~Q(_returned(_win_back_days(ctx)))
            & Q(message__sent_at__gt=ctx.now - dt.timedelta(days=_win_back_days(ctx)))
        ),
    ),
    key="win_back_rate_percent",
    label=_("Win-back rate"),
    definition=_(
        "Tier-D customers sent a recall in the period who returned (arrived, any store of the group) within 90 days "
        "of the recall; recalls whose 90 days still run without a return are left out."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_win_back_percent",
    review_cycle="quarter",
    area="retention",
)


# ------------------------------------------------------------------------------------ first-maintenance conversion


def _first_maintenance_due(ctx: Context) -> QuerySet[Reminder]:
    return Reminder.objects.filter(
        kind=ReminderKind.FIRST_MAINTENANCE,
        due_on__gte=ctx.period.first_day,
        due_on__lt=ctx.period.next_first_day,
        vehicle__isnull=False,
    )


def _first_maintenance_done(ctx: Context) -> Q:
    """A maintenance of the vehicle delivered at the scope's stores at most `first_maintenance_grace_days` local
    days after the due day (any time before it too: it is the first)."""
    delivered = RepairOrder.objects.filter(
        vehicle_id=OuterRef("vehicle_id"),
        store_id__in=sorted(ctx.scope.store_ids),
        service_type=ServiceType.MAINTENANCE,
        status=RepairOrderStatus.DELIVERED,
    )
    if ctx.by_store:  # each store's figure: delivered at the vehicle's own store
        delivered = delivered.filter(store_id=OuterRef("vehicle__store_id"))
    done = delivered.annotate(days_late=DayDiff(TruncDate("delivered_at", tzinfo=LOCAL_TZ), OuterRef("due_on"))).filter(
        days_late__lte=ctx.setting("first_maintenance_grace_days")
    )
    return Q(Exists(done))


def _first_maintenance_pending(ctx: Context) -> Q:
    today = ctx.now.astimezone(LOCAL_TZ).date()
    still_open = today - dt.timedelta(days=ctx.setting("first_maintenance_grace_days"))
    return ~_first_maintenance_done(ctx) & Q(due_on__gte=still_open)


entry(
    ShareRule(
        base=_first_maintenance_due,
        store="vehicle__store_id",
        meets=_first_maintenance_done,
        pending=_first_maintenance_pending,
    ),
    key="first_maintenance_conversion_percent",
    label=_("First-maintenance conversion"),
    definition=_(
        "Vehicles registered with the store whose first maintenance fell due in the period (the reminders' due "
        "day) and whose first maintenance was delivered at the store by the due day + the grace days."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_first_maintenance_percent",
    area="retention",
)
