"""Stored figures of closed periods (`KpiSnapshot`) and how late data is handled.

A closed period's figure can still move after its end: first-time fix waits 30 days for comebacks, a win-back
recall 90 days for the customer's return, a first maintenance its grace days, a complaint may close (and be rated)
weeks later, and records are corrected.  The rule, simple and correct:

* **settled**: a period is settled once `settle_days` (the longest such window among the settings, + 1) have
  passed since its end.  A snapshot is *used* only when it was computed after its period settled; a trend asks the
  records for any other period.  So a figure read from a snapshot never misses a window that was still open.
* **late edits**: the nightly job (`snapshot_refresh`, Huey task `kpi_snapshots_nightly`) writes the missing
  snapshots of the closed months, quarters and years of the last 13 months for every store and group, and
  recomputes every snapshot of a store (and of its group) older than the newest `updated_at` among that store's
  source records (orders, estimate lines, appointments, survey responses, follow-ups, recovery tasks, complaints,
  care actions, reminders).  A late edit therefore shows in the trend by the next morning at the latest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q

from aftersales.analytics.catalogue import TWO_PLACES, Counts, Kpi, KpiResult, Scope, all_kpis, status_of
from aftersales.analytics.kpis_common import values_for_scope
from aftersales.analytics.models import KpiSnapshot
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.core import clock

SETTLING_SETTINGS = ("comeback_window_days", "win_back_return_days", "first_maintenance_grace_days")


def settle_days(values: Mapping[str, Any]) -> int:
    """Days after a period's end until no clock of its records can still run (at least 4: complaints' 72 h)."""
    return max([4, *(int(values[key]) for key in SETTLING_SETTINGS if key in values)]) + 1


def settled_at(period: Period, values: Mapping[str, Any]) -> dt.datetime:
    return period.end + dt.timedelta(days=settle_days(values))


# ---- per KPI: when one KPI's figure of a month has settled (the early warnings judge a month only then)

Delay = Callable[[Mapping[str, Any]], dt.timedelta]


def _days(key: str) -> Delay:
    return lambda values: dt.timedelta(days=int(values[key]))


def _hours(key: str) -> Delay:
    return lambda values: dt.timedelta(hours=int(values[key]))


def _minutes(key: str) -> Delay:
    return lambda values: dt.timedelta(minutes=int(values[key]))


# How long after its period's end a KPI's figure can still move because a clock of its records still runs (the
# rule's `pending`): the last record of the month starts its clock just before the end.  A KPI not listed has no
# clock (its population and condition are fixed when the period ends) and settles at the end.  The first-time-fix
# window and the first-maintenance grace are local calendar days counted from the last day of the month, so they
# close exactly `days` after the period's end; the others are exact durations.  A test checks that every KPI with
# a pending clock is listed here.
SETTLE_AFTER: dict[str, Delay] = {
    "first_time_fix_percent": _days("comeback_window_days"),
    "win_back_rate_percent": _days("win_back_return_days"),
    "first_maintenance_conversion_percent": _days("first_maintenance_grace_days"),
    "follow_up_within_24h_percent": _hours("follow_up_due_hours"),
    "low_score_recovery_within_1h_percent": _minutes("recovery_due_minutes"),
    "complaint_acknowledged_in_time_percent": _hours("complaint_acknowledge_hours"),
    "complaint_resolved_in_time_percent": _hours("complaint_resolve_hours"),
    # A complaint left open is pending until it closes; by its resolve due most have, and a warning should not
    # wait for the last one.
    "complaint_closed_satisfied_percent": _hours("complaint_resolve_hours"),
    "walk_in_received_within_10_min_percent": _minutes("walk_in_received_minutes"),
    "inspection_within_30_min_percent": _minutes("inspection_shown_minutes"),
}


def kpi_settled_at(key: str, period: Period, values: Mapping[str, Any]) -> dt.datetime:
    """The moment this KPI's figure of `period` stops moving with the clocks of its records (settings in force)."""
    delay = SETTLE_AFTER.get(key)
    return period.end + (delay(values) if delay is not None else dt.timedelta(0))


def latest_settled_month(key: str, values: Mapping[str, Any], now: dt.datetime) -> Period:
    """The latest month whose figure of this KPI has settled at `now` (walks back from the last closed month; at
    most a year's steps, the settings' maxima)."""
    period = Period.containing(now.astimezone(LOCAL_TZ).date()).previous()
    while kpi_settled_at(key, period, values) > now:
        period = period.previous()
    return period


def _scope_filter(scope: Scope) -> Q:
    if scope.group_id is not None:
        return Q(group_id=scope.group_id, store__isnull=True)
    return Q(store_id=next(iter(scope.store_ids)))


DECIMAL_EXTRAS = ("median",)  # details stored as text that were numbers (`_extra_of`)


def _result_from_row(row: KpiSnapshot, kpi: Kpi, values: Mapping[str, Any]) -> KpiResult:
    """The stored figure with the current target and status.  The value is the one computed when the row was
    written (from the full-precision numerator; the stored numerator is rounded to cents)."""
    from aftersales.analytics.selectors import amber_margin, result_of

    numerator: Decimal | int = row.numerator if row.numerator != int(row.numerator) else int(row.numerator)
    extra = dict(row.extra or {})
    parts = extra.pop("by_service_type", None)
    if parts:
        extra["by_service_type"] = {
            name: Counts(Decimal(str(part["numerator"])), int(part["denominator"])) for name, part in parts.items()
        }
    for name in DECIMAL_EXTRAS:
        if isinstance(extra.get(name), str):
            extra[name] = Decimal(extra[name])
    counts = Counts(
        numerator=numerator,
        denominator=row.denominator,
        pending=row.pending,
        reason=str(extra.pop("reason", "")),
        extra=extra,
    )
    result = result_of(kpi, counts, values)
    if row.value is not None and result.value != row.value:
        value = Decimal(row.value).quantize(TWO_PLACES)
        margin = amber_margin(kpi, result.target, values)
        result = replace(result, value=value, status=status_of(kpi, value, result.target, margin))
    return result


def _settled(periods: Iterable[Period], values: Mapping[str, Any], now: dt.datetime) -> dict[str, Period]:
    return {str(p): p for p in periods if p.is_closed(now) and settled_at(p, values) <= now}


def snapshot_results(
    kpi: Kpi, scope: Scope, periods: Iterable[Period], *, values: Mapping[str, Any], now: dt.datetime
) -> dict[Period, KpiResult]:
    """The settled snapshots of these periods (one query), as results with the current target and status."""
    if scope.advisor_id is not None or scope.technician_id is not None:
        return {}
    by_text = _settled(periods, values, now)
    if not by_text:
        return {}
    rows = KpiSnapshot.objects.filter(_scope_filter(scope), key=kpi.key, period__in=list(by_text))
    return {
        by_text[row.period]: _result_from_row(row, kpi, values)
        for row in rows
        if row.computed_at >= settled_at(by_text[row.period], values)
    }


def snapshot_figures(
    scope: Scope, period: Period, *, keys: Iterable[str], values: Mapping[str, Any], now: dt.datetime
) -> dict[str, KpiResult]:
    """The settled snapshots of one period for several KPIs (one query; none when the period has not settled):
    key → result with the current target and status, as `snapshot_results` reads them."""
    if scope.advisor_id is not None or scope.technician_id is not None or not _settled([period], values, now):
        return {}
    wanted = {kpi.key: kpi for kpi in all_kpis() if kpi.key in set(keys)}
    settled = settled_at(period, values)
    rows = KpiSnapshot.objects.filter(_scope_filter(scope), period=str(period), key__in=sorted(wanted))
    return {row.key: _result_from_row(row, wanted[row.key], values) for row in rows if row.computed_at >= settled}


def _extra_of(counts: Counts | KpiResult) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for name, item in counts.extra.items():
        if name == "by_service_type":
            extra[name] = {k: {"numerator": str(c.numerator), "denominator": c.denominator} for k, c in item.items()}
        elif isinstance(item, (int, str, float, bool)) or item is None:
            extra[name] = item
        elif isinstance(item, Decimal):
            extra[name] = str(item)
    if counts.reason:
        extra["reason"] = counts.reason
    return extra


def _snapshot_rows(
    results: Mapping[str, KpiResult], period: Period, *, group_id: int, store_id: int | None, now: dt.datetime
) -> list[KpiSnapshot]:
    """The rows storing a scope's figures of a period (what `_result_from_row` reads back)."""
    return [
        KpiSnapshot(
            group_id=group_id,
            store_id=store_id,
            period=str(period),
            key=key,
            value=result.value,
            numerator=Decimal(result.numerator).quantize(Decimal("0.01")),
            denominator=result.denominator,
            pending=result.pending,
            target=result.target,
            status=result.status or "",
            extra=_extra_of(result),
            computed_at=now,
        )
        for key, result in results.items()
    ]


def snapshot_write(scope: Scope, period: Period, *, group_id: int, now: dt.datetime | None = None) -> int:
    """Compute every KPI of a closed period for the scope and store it (replacing the old rows).  Returns the
    number of figures written."""
    from aftersales.analytics.selectors import kpi_figures

    now = now or clock.now()
    store_id = None if scope.group_id is not None else next(iter(scope.store_ids))
    rows = _snapshot_rows(kpi_figures(scope, period, now=now), period, group_id=group_id, store_id=store_id, now=now)
    with transaction.atomic():
        KpiSnapshot.objects.filter(_scope_filter(scope), period=str(period)).delete()
        KpiSnapshot.objects.bulk_create(rows)
    return len(rows)


def _write_stores(store_ids: list[int], period: Period, *, group_of: Mapping[int, int], now: dt.datetime) -> int:
    """`snapshot_write` of several stores at once: their figures in one grouped read (`kpi_figures_by_store`),
    their old rows replaced in one delete and one insert."""
    from aftersales.analytics.selectors import kpi_figures_by_store

    by_store = kpi_figures_by_store(Scope(frozenset(store_ids)), period, now=now)
    rows = [
        row
        for store_id, results in sorted(by_store.items())
        for row in _snapshot_rows(results, period, group_id=group_of[store_id], store_id=store_id, now=now)
    ]
    with transaction.atomic():
        KpiSnapshot.objects.filter(store_id__in=sorted(by_store), period=str(period)).delete()
        KpiSnapshot.objects.bulk_create(rows)
    return len(by_store)


def closed_periods(now: dt.datetime, months: int = 13) -> list[Period]:
    """The closed months of the last `months` months and the closed quarters and years that contain them."""
    local_today = now.astimezone(Period("month", 2000, 1).start.tzinfo).date()
    current = Period.containing(local_today)
    found: list[Period] = []
    for month in current.trailing(months + 1)[:-1]:
        for kind in ("month", "quarter", "year"):
            period = Period.containing(month.first_day, kind)
            if period.is_closed(now) and period not in found:
                found.append(period)
    return found


def _newest_source_changes(store_ids: list[int]) -> dict[int, dt.datetime]:
    """The newest `updated_at` among each store's source records (one GROUP BY store query per source table)."""
    from aftersales.care.models import CareAction
    from aftersales.feedback.models import Complaint, FollowUp, RecoveryTask, SurveyResponse
    from aftersales.reminders.models import Reminder
    from aftersales.service.models import Appointment, EstimateLine, RepairOrder

    sources: list[tuple[Any, str]] = [
        (RepairOrder, "store_id"),
        (EstimateLine, "estimate__order__store_id"),
        (Appointment, "store_id"),
        (SurveyResponse, "store_id"),
        (FollowUp, "store_id"),
        (RecoveryTask, "store_id"),
        (Complaint, "store_id"),
        (CareAction, "store_id"),
        (Reminder, "store_id"),
    ]
    newest: dict[int, dt.datetime] = {}
    for model, lookup in sources:
        rows = (
            model.objects.filter(**{f"{lookup}__in": store_ids})
            .order_by()
            .values(lookup)
            .annotate(at=Max("updated_at"))
            .values_list(lookup, "at")
        )
        for store_id, at in rows:
            if at is not None and (store_id not in newest or at > newest[store_id]):
                newest[store_id] = at
    return newest


def snapshot_refresh(*, now: dt.datetime | None = None, store_ids: Iterable[int] | None = None) -> int:
    """The nightly job: write missing, unsettled and stale snapshots of the last 13 months' closed periods for
    every store and group (see the module's text).  Returns the number of (scope, period) pairs computed.  The
    stores due for a period are computed together (`kpi_figures_by_store`), so the job's queries grow with the
    periods and groups, not with the stores."""
    from aftersales.analytics.kpis_common import values_for_stores
    from aftersales.analytics.selectors import scope_for_group
    from aftersales.organisation.models import DealerGroup, Store

    now = now or clock.now()
    periods = closed_periods(now)
    stores = Store.objects.order_by("pk")
    if store_ids is not None:
        stores = stores.filter(pk__in=list(store_ids))
    group_of = dict(stores.values_list("pk", "group_id"))
    ids = sorted(group_of)
    newest = _newest_source_changes(ids)
    values = values_for_stores(frozenset(ids))
    stored: dict[tuple[int, str], dt.datetime] = {
        (row["store_id"], row["period"]): row["at"]
        for row in KpiSnapshot.objects.filter(store_id__in=ids, period__in=[str(p) for p in periods])
        .values("store_id", "period")
        .annotate(at=Max("computed_at"))
    }
    due_stores: dict[Period, list[int]] = {}
    for store_id in ids:
        for period in periods:
            if _is_due(stored.get((store_id, str(period))), period, values[store_id], newest.get(store_id)):
                due_stores.setdefault(period, []).append(store_id)
    computed = 0
    for period, due in due_stores.items():
        computed += _write_stores(due, period, group_of=group_of, now=now)
    groups_touched = {group_of[store_id] for due in due_stores.values() for store_id in due}
    for group in DealerGroup.objects.order_by("pk"):
        scope = scope_for_group(group)
        if not scope.store_ids:
            continue
        touched = None if group.pk not in groups_touched else now
        for period in _due_periods(scope, periods, now=now, newest=touched):
            snapshot_write(scope, period, group_id=group.pk, now=now)
            computed += 1
    return computed


def _is_due(at: dt.datetime | None, period: Period, values: Mapping[str, Any], newest: dt.datetime | None) -> bool:
    """Missing, computed before its period settled, or older than a change of its records."""
    return at is None or at < settled_at(period, values) or (newest is not None and newest > at)


def _due_periods(scope: Scope, periods: list[Period], *, now: dt.datetime, newest: dt.datetime | None) -> list[Period]:
    values = values_for_scope(scope)
    oldest = {
        row["period"]: row["at"]
        for row in KpiSnapshot.objects.filter(_scope_filter(scope), period__in=[str(p) for p in periods])
        .values("period")
        .annotate(at=Max("computed_at"))
    }
    return [period for period in periods if _is_due(oldest.get(str(period)), period, values, newest)]
