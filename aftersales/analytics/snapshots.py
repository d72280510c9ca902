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
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q

from aftersales.analytics.catalogue import Counts, Kpi, KpiResult, Scope, all_kpis
from aftersales.analytics.kpis_common import RULES, Context, values_for_scope
from aftersales.analytics.models import KpiSnapshot
from aftersales.analytics.periods import Period
from aftersales.core import clock

SETTLING_SETTINGS = ("comeback_window_days", "win_back_return_days", "first_maintenance_grace_days")


def settle_days(values: Mapping[str, Any]) -> int:
    """Days after a period's end until no clock of its records can still run (at least 4: complaints' 72 h)."""
    return max([4, *(int(values[key]) for key in SETTLING_SETTINGS if key in values)]) + 1


def settled_at(period: Period, values: Mapping[str, Any]) -> dt.datetime:
    return period.end + dt.timedelta(days=settle_days(values))


def _scope_filter(scope: Scope) -> Q:
    if scope.group_id is not None:
        return Q(group_id=scope.group_id, store__isnull=True)
    return Q(store_id=next(iter(scope.store_ids)))


def _result_from_row(row: KpiSnapshot, kpi: Kpi, values: Mapping[str, Any]) -> KpiResult:
    from aftersales.analytics.selectors import result_of

    numerator: Decimal | int = row.numerator if row.numerator != int(row.numerator) else int(row.numerator)
    extra = dict(row.extra or {})
    parts = extra.pop("by_service_type", None)
    if parts:
        extra["by_service_type"] = {
            name: Counts(Decimal(str(part["numerator"])), int(part["denominator"])) for name, part in parts.items()
        }
    counts = Counts(
        numerator=numerator,
        denominator=row.denominator,
        pending=row.pending,
        reason=str(extra.pop("reason", "")),
        extra=extra,
    )
    return result_of(kpi, counts, values)


def snapshot_results(
    kpi: Kpi, scope: Scope, periods: Iterable[Period], *, values: Mapping[str, Any], now: dt.datetime
) -> dict[Period, KpiResult]:
    """The settled snapshots of these periods (one query), as results with the current target and status."""
    if scope.advisor_id is not None or scope.technician_id is not None:
        return {}
    by_text = {str(p): p for p in periods if p.is_closed(now) and settled_at(p, values) <= now}
    if not by_text:
        return {}
    rows = KpiSnapshot.objects.filter(_scope_filter(scope), key=kpi.key, period__in=list(by_text))
    return {
        by_text[row.period]: _result_from_row(row, kpi, values)
        for row in rows
        if row.computed_at >= settled_at(by_text[row.period], values)
    }


def _extra_of(counts: Counts) -> dict[str, Any]:
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


def snapshot_write(scope: Scope, period: Period, *, group_id: int, now: dt.datetime | None = None) -> int:
    """Compute every KPI of a closed period for the scope and store it (replacing the old rows).  Returns the
    number of figures written."""
    from aftersales.analytics.selectors import result_of

    now = now or clock.now()
    values = values_for_scope(scope)
    ctx = Context(scope, period, now, values)
    store_id = None if scope.group_id is not None else next(iter(scope.store_ids))
    rows = []
    for kpi in all_kpis():
        counts = RULES[kpi.key].counts(ctx)
        result = result_of(kpi, counts, values)
        rows.append(
            KpiSnapshot(
                group_id=group_id,
                store_id=store_id,
                period=str(period),
                key=kpi.key,
                value=result.value,
                numerator=Decimal(counts.numerator).quantize(Decimal("0.01")),
                denominator=counts.denominator,
                pending=counts.pending,
                target=result.target,
                status=result.status or "",
                extra=_extra_of(counts),
                computed_at=now,
            )
        )
    with transaction.atomic():
        KpiSnapshot.objects.filter(_scope_filter(scope), period=str(period)).delete()
        KpiSnapshot.objects.bulk_create(rows)
    return len(rows)


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


def _newest_source_change(store_id: int) -> dt.datetime | None:
    """The newest `updated_at` among the store's source records (one query per source table)."""
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
    newest = None
    for model, lookup in sources:
        at = model.objects.filter(**{lookup: store_id}).aggregate(at=Max("updated_at"))["at"]
        if at is not None and (newest is None or at > newest):
            newest = at
    return newest


def snapshot_refresh(*, now: dt.datetime | None = None, store_ids: Iterable[int] | None = None) -> int:
    """The nightly job: write missing, unsettled and stale snapshots of the last 13 months' closed periods for
    every store and group (see the module's text).  Returns the number of (scope, period) pairs computed."""
    from aftersales.analytics.selectors import scope_for_group, scope_for_store
    from aftersales.organisation.models import DealerGroup, Store

    now = now or clock.now()
    periods = closed_periods(now)
    stores = Store.objects.select_related("group").order_by("pk")
    if store_ids is not None:
        stores = stores.filter(pk__in=list(store_ids))
    computed = 0
    groups_touched: dict[int, DealerGroup] = {}
    for store in stores:
        scope = scope_for_store(store)
        newest = _newest_source_change(store.pk)
        due = _due_periods(scope, periods, now=now, newest=newest)
        for period in due:
            snapshot_write(scope, period, group_id=store.group_id, now=now)
            computed += 1
        if due:
            groups_touched[store.group_id] = store.group
    for group in DealerGroup.objects.order_by("pk"):
        scope = scope_for_group(group)
        if not scope.store_ids:
            continue
        newest = None if group.pk not in groups_touched else now
        for period in _due_periods(scope, periods, now=now, newest=newest):
            snapshot_write(scope, period, group_id=group.pk, now=now)
            computed += 1
    return computed


def _due_periods(scope: Scope, periods: list[Period], *, now: dt.datetime, newest: dt.datetime | None) -> list[Period]:
    values = values_for_scope(scope)
    oldest = {
        row["period"]: row["at"]
        for row in KpiSnapshot.objects.filter(_scope_filter(scope), period__in=[str(p) for p in periods])
        .values("period")
        .annotate(at=Max("computed_at"))
    }
    due = []
    for period in periods:
        at = oldest.get(str(period))
        if at is None or at < settled_at(period, values) or (newest is not None and newest > at):
            due.append(period)
    return due
