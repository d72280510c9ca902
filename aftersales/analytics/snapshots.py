"""Stored figures of closed periods (`KpiSnapshot`): when one may be read instead of the records, and how late data
is handled.

A closed period's figure can still move after its end: first-time fix waits 30 days for comebacks, a win-back
recall 90 days for the customer's return, a first maintenance its grace days, a complaint may close (and be rated)
weeks later, and records are corrected.  A stored figure is read only when it is the figure the records give now
(so the dashboard, the API, the CLI, reports and the drill-down never disagree):

* **its clocks have run out**: the row was computed at or after `kpi_settled_at` of its KPI and period (the end +
  that KPI's own window, `SETTLE_AFTER`); before that a figure can move with time alone, so it is computed.
  Last month's figures without a clock (waiting time, CSAT, …) are therefore read from the night's snapshot on the
  1st, those with a 30-day window a month later;
* **none of its records changed since**: no source record of the scope's stores (`SOURCES`) created before the
  period's end + `LATE_ENTRY` was saved after the row was computed, and no setting of the store or its group
  changed, nor the evaluation model weighing its CSI (`_changes`, one query over the `updated_at` indexes).  A
  record created later cannot move a settled figure: it belongs to a later period, and a record it could still
  count in (a comeback, a return) only counts while that KPI's window runs — the first rule already computes such
  a figure.  `LATE_ENTRY` covers an arrival entered up to 12 hours back across the period's end.
* **late edits**: the nightly job (`snapshot_refresh`, Huey task `kpi_snapshots_nightly`) writes the missing
  snapshots of the closed months, quarters and years of the last 13 months for every store and group, recomputes
  those of periods not yet settled for every KPI (`settle_days`), and those whose records changed (the same test).
  Until then such a figure is computed from the records — always exact, only slower.

Child rows without their own timestamps (survey answers, quality checks, clock segments) are written with their
parent (a response, an order moving on, a line finished), whose `updated_at` stands for them.  A row deleted
outright leaves no trace in `updated_at`; the records of these tables are cancelled or anonymised, not deleted.
A vehicle's home store (first-maintenance conversion) is read as it is; moving a vehicle to another store does not
restate the closed periods already stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
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


# ---- when a stored figure may be read: its clocks have run out and none of its records changed since

# A record created this long after a period's end may still belong to it (an arrival is entered up to 12 hours
# back, `RepairOrder` check-in).
LATE_ENTRY = dt.timedelta(days=1)

# The tables the KPI rules read, with the lookup of each row's store (a test checks every table of every KPI
# query is here or is a child written with one of them).
SOURCES: tuple[tuple[str, str], ...] = (
    ("service.RepairOrder", "store_id"),
    ("service.Estimate", "order__store_id"),
    ("service.EstimateLine", "estimate__order__store_id"),
    ("service.Appointment", "store_id"),
    ("feedback.SurveyResponse", "store_id"),
    ("feedback.FollowUp", "store_id"),
    ("feedback.RecoveryTask", "store_id"),
    ("feedback.Complaint", "store_id"),
    ("care.CareAction", "store_id"),
    ("reminders.Reminder", "store_id"),
    ("messaging.OutboxMessage", "store_id"),  # a care action's message sent (win-back)
    # The senior share reads the roster and the grade history, which may be back-dated: a grade recorded since (for a
    # person of the store) or a membership saved since makes the store's stored figures stale.
    ("staff.GradeRecord", "user__memberships__store_id"),
    ("organisation.Membership", "store_id"),
    # Audits and their findings (issue 16).  SOP acknowledgements have no `updated_at`: their figure of a closed
    # period only reads what happened before its end (asked, acknowledged, published), which never changes after.
    ("audits.Audit", "store_id"),
    ("audits.Finding", "store_id"),
)
# Written together with their parent above (no timestamps of their own).
CHILD_SOURCES = ("feedback.SurveyAnswer", "service.QualityCheck", "service.JobClockSegment")


@dataclass(frozen=True)
class Change:
    """What changed at a store after some moment: the oldest creation time and the newest save among the records
    saved since (a setting's change counts as created at the beginning of time)."""

    oldest_created: dt.datetime
    newest_saved: dt.datetime

    def stales(self, period: Period, computed_at: dt.datetime) -> bool:
        """True when a figure of `period` computed at `computed_at` may miss this change (conservative: the
        oldest record and the newest save need not be the same row)."""
        return self.newest_saved > computed_at and self.oldest_created < period.end + LATE_ENTRY


def _changes(store_ids: Iterable[int], since: dt.datetime) -> dict[int, Change]:
    """Per store, the records of `SOURCES` (and the store's or its group's settings) saved after `since`: one
    query, a UNION ALL of one GROUP BY store per table, each reading the `updated_at` index."""
    from django.apps import apps
    from django.db.models import DateTimeField, F, Min, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce, Greatest

    from aftersales.analytics.models import EvaluationModel
    from aftersales.organisation.models import SettingValue, Store

    ids = sorted(store_ids)
    if not ids:
        return {}
    parts = []
    for label, lookup in SOURCES:
        model = apps.get_model(label)
        parts.append(
            model.objects.filter(**{f"{lookup}__in": ids}, updated_at__gt=since)
            .order_by()
            .values(sid=F(lookup))
            .annotate(created=Min("created_at"), saved=Max("updated_at"))
            .values_list("sid", "created", "saved")
        )
    # A setting of the store or of its group saved since: as if a record from the beginning of time changed.
    epoch = Value(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), output_field=DateTimeField())
    store_saved = (
        SettingValue.objects.filter(store_id=OuterRef("pk")).order_by().values("store_id").annotate(m=Max("updated_at"))
    )
    group_saved = (
        SettingValue.objects.filter(group_id=OuterRef("group_id"), store__isnull=True)
        .order_by()
        .values("group_id")
        .annotate(m=Max("updated_at"))
    )
    # …and so does the evaluation model weighing its CSI (the store's own or its group's; saved with its weights).
    own_model = EvaluationModel.objects.filter(store_id=OuterRef("pk")).values("updated_at")
    group_model = EvaluationModel.objects.filter(group_id=OuterRef("group_id"), store__isnull=True).values("updated_at")
    parts.append(
        Store.objects.filter(pk__in=ids)
        .order_by()
        .annotate(
            created=epoch,
            saved=Greatest(
                Coalesce(Subquery(store_saved.values("m")), epoch),
                Coalesce(Subquery(group_saved.values("m")), epoch),
                Coalesce(Subquery(own_model[:1]), epoch),
                Coalesce(Subquery(group_model[:1]), epoch),
            ),
        )
        .filter(saved__gt=since)
        .values_list("pk", "created", "saved")
    )
    found: dict[int, Change] = {}
    for store_id, created, saved in parts[0].union(*parts[1:], all=True):
        if created is None or saved is None:
            continue
        known = found.get(store_id)
        if known is not None:
            created, saved = min(created, known.oldest_created), max(saved, known.newest_saved)
        found[store_id] = Change(created, saved)
    return found


def _usable_rows(
    rows: list[KpiSnapshot], store_ids: Iterable[int], values: Mapping[str, Any], by_text: Mapping[str, Period]
) -> list[KpiSnapshot]:
    """The rows that are the figure the records give now (see the module's text): settled when computed, and no
    change to the scope's records since (stores of the scope together: a group's row is stale when any of its
    stores changed)."""
    settled = [row for row in rows if row.computed_at >= kpi_settled_at(row.key, by_text[row.period], values)]
    if not settled:
        return []
    changes = _changes(store_ids, min(row.computed_at for row in settled)).values()
    return [
        row for row in settled if not any(change.stales(by_text[row.period], row.computed_at) for change in changes)
    ]


def _person_scope(scope: Scope) -> bool:
    return scope.advisor_id is not None or scope.technician_id is not None


def snapshot_results(
    kpi: Kpi, scope: Scope, periods: Iterable[Period], *, values: Mapping[str, Any], now: dt.datetime
) -> dict[Period, KpiResult]:
    """The usable stored figures of these periods (two queries), as results with the current target and status."""
    if _person_scope(scope):
        return {}
    by_text = {str(p): p for p in periods if p.is_closed(now)}
    if not by_text:
        return {}
    rows = list(KpiSnapshot.objects.filter(_scope_filter(scope), key=kpi.key, period__in=list(by_text)))
    return {
        by_text[row.period]: _result_from_row(row, kpi, values)
        for row in _usable_rows(rows, scope.store_ids, values, by_text)
    }


def snapshot_figures(
    scope: Scope, periods: Iterable[Period], *, keys: Iterable[str], values: Mapping[str, Any], now: dt.datetime
) -> dict[Period, dict[str, KpiResult]]:
    """The usable stored figures of several periods for several KPIs (one query, two when there are rows):
    period → key → result with the current target and status, as `snapshot_results` reads them."""
    by_text = {str(p): p for p in periods if p.is_closed(now)}
    if _person_scope(scope) or not by_text:
        return {}
    wanted = {kpi.key: kpi for kpi in all_kpis() if kpi.key in set(keys)}
    rows = list(KpiSnapshot.objects.filter(_scope_filter(scope), period__in=list(by_text), key__in=sorted(wanted)))
    found: dict[Period, dict[str, KpiResult]] = {}
    for row in _usable_rows(rows, scope.store_ids, values, by_text):
        found.setdefault(by_text[row.period], {})[row.key] = _result_from_row(row, wanted[row.key], values)
    return found


def snapshot_figures_by_store(
    store_ids: Iterable[int],
    period: Period,
    *,
    keys: Iterable[str],
    values: Mapping[int, Mapping[str, Any]],
    now: dt.datetime,
) -> dict[int, dict[str, KpiResult]]:
    """`snapshot_figures` of several stores at once (two queries): store id → key → usable stored figure."""
    if not period.is_closed(now):
        return {}
    ids = sorted(store_ids)
    wanted = {kpi.key: kpi for kpi in all_kpis() if kpi.key in set(keys)}
    rows = [
        (row.store_id, row)
        for row in KpiSnapshot.objects.filter(store_id__in=ids, period=str(period), key__in=sorted(wanted))
        if row.store_id is not None
    ]
    settled = [(sid, row) for sid, row in rows if row.computed_at >= kpi_settled_at(row.key, period, values[sid])]
    if not settled:
        return {}
    changes = _changes(ids, min(row.computed_at for _sid, row in settled))
    found: dict[int, dict[str, KpiResult]] = {}
    for store_id, row in settled:
        change = changes.get(store_id)
        if change is not None and change.stales(period, row.computed_at):
            continue
        found.setdefault(store_id, {})[row.key] = _result_from_row(row, wanted[row.key], values[store_id])
    return found


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
    """Compute every KPI of a closed period for the scope from its records and store it (replacing the old rows).
    Returns the number of figures written."""
    from aftersales.analytics.selectors import kpi_figures

    now = now or clock.now()
    store_id = None if scope.group_id is not None else next(iter(scope.store_ids))
    results = kpi_figures(scope, period, now=now, stored=False)
    rows = _snapshot_rows(results, period, group_id=group_id, store_id=store_id, now=now)
    with transaction.atomic():
        KpiSnapshot.objects.filter(_scope_filter(scope), period=str(period)).delete()
        KpiSnapshot.objects.bulk_create(rows)
    return len(rows)


def _write_stores(store_ids: list[int], period: Period, *, group_of: Mapping[int, int], now: dt.datetime) -> int:
    """`snapshot_write` of several stores at once: their figures in one grouped read (`kpi_figures_by_store`),
    their old rows replaced in one delete and one insert."""
    from aftersales.analytics.selectors import kpi_figures_by_store

    by_store = kpi_figures_by_store(Scope(frozenset(store_ids)), period, now=now, stored=False)
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
    """The closed months of the last `months` months, the closed quarters and years that contain them, and the
    quarter and year before each of those (what a quarter's or year's page compares with)."""
    local_today = now.astimezone(Period("month", 2000, 1).start.tzinfo).date()
    current = Period.containing(local_today)
    found: list[Period] = []
    for month in current.trailing(months + 1)[:-1]:
        for kind in ("month", "quarter", "year"):
            period = Period.containing(month.first_day, kind)
            if period.is_closed(now) and period not in found:
                found.append(period)
    for period in [p for p in found if p.kind != "month"]:
        if period.previous() not in found:
            found.append(period.previous())
    return found


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
    values = values_for_stores(frozenset(ids))
    stored: dict[tuple[int, str], dt.datetime] = {
        (row["store_id"], row["period"]): row["at"]
        for row in KpiSnapshot.objects.filter(store_id__in=ids, period__in=[str(p) for p in periods])
        .values("store_id", "period")
        .annotate(at=Max("computed_at"))
    }
    changes = _changes(ids, min(stored.values(), default=now))
    due_stores: dict[Period, list[int]] = {}
    for store_id in ids:
        for period in periods:
            if _is_due(stored.get((store_id, str(period))), period, values[store_id], changes.get(store_id)):
                due_stores.setdefault(period, []).append(store_id)
    computed = 0
    for period, due in due_stores.items():
        computed += _write_stores(due, period, group_of=group_of, now=now)
    groups_touched = {group_of[store_id] for due in due_stores.values() for store_id in due}
    for group in DealerGroup.objects.order_by("pk"):
        scope = scope_for_group(group)
        if not scope.store_ids:
            continue
        for period in _due_periods(scope, periods, now=now, touched=group.pk in groups_touched):
            snapshot_write(scope, period, group_id=group.pk, now=now)
            computed += 1
    return computed


def _is_due(at: dt.datetime | None, period: Period, values: Mapping[str, Any], change: Change | None) -> bool:
    """Missing, computed before every KPI of its period settled, or older than a change of its records."""
    return at is None or at < settled_at(period, values) or (change is not None and change.stales(period, at))


def _due_periods(scope: Scope, periods: list[Period], *, now: dt.datetime, touched: bool) -> list[Period]:
    """A group's periods to recompute: missing, unsettled, or one of its stores' figures of the period was."""
    values = values_for_scope(scope)
    oldest = {
        row["period"]: row["at"]
        for row in KpiSnapshot.objects.filter(_scope_filter(scope), period__in=[str(p) for p in periods])
        .values("period")
        .annotate(at=Max("computed_at"))
    }
    return [
        period
        for period in periods
        if _is_due(oldest.get(str(period)), period, values, None)
        or (touched and _stores_recomputed(scope, period, oldest.get(str(period))))
    ]


def _stores_recomputed(scope: Scope, period: Period, at: dt.datetime | None) -> bool:
    """True when a store of the group has a figure of the period newer than the group's (one query)."""
    return (
        at is None
        or KpiSnapshot.objects.filter(
            store_id__in=sorted(scope.store_ids), period=str(period), computed_at__gt=at
        ).exists()
    )
