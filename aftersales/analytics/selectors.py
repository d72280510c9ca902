"""Reads of the KPI catalogue for pages, the API, the CLI, reports, scorecards and early warnings: every figure of
KPIS.md for a store or a group, a period, an advisor or a technician, its trend and the records behind it.

Figures are computed by aggregation in the database through the rules of `kpis_*.py` (one aggregate query per KPI,
a GROUP BY per person for the cuts); stored snapshots of closed periods (`snapshots.py`) serve the trends once the
period has settled.  Targets and thresholds are the scope's settings (the store's for a store, the group's for a
group); the status is `catalogue.status_of` with `kpi_amber_margin_percent` — in points for percentages and
points, as a percentage of the target for minutes, hours and money."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db.models import QuerySet

from aftersales.analytics.catalogue import (
    TWO_PLACES,
    Counts,
    Kpi,
    KpiResult,
    Scope,
    all_kpis,
    registered,
    status_of,
    value_of,
)
from aftersales.analytics.kpis_common import RULES, Context, RecordingValues, values_for_scope, values_for_stores
from aftersales.analytics.periods import Period
from aftersales.core import clock
from aftersales.organisation.models import DealerGroup, Store

BY_SERVICE_TYPE = "mean_repair_duration_hours"


# ------------------------------------------------------------------------------------------------------ scopes


def scope_for_store(store: Store) -> Scope:
    return Scope(frozenset({store.pk}), label=store.code)


def scope_for_group(group: DealerGroup) -> Scope:
    """All stores of the group (one query); its figures are computed over their records, never averaged."""
    ids = frozenset(Store.objects.filter(group=group).values_list("pk", flat=True))
    return Scope(ids, group_id=group.pk, label=group.code)


# ----------------------------------------------------------------------------------------------------- figures


def amber_margin(kpi: Kpi, target: Decimal | None, values: Mapping[str, Any]) -> Decimal:
    margin = Decimal(str(values.get("kpi_amber_margin_percent", 5)))
    if kpi.unit in ("percent", "points") or target is None:
        return margin
    return (target * margin / 100).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def target_of(kpi: Kpi, values: Mapping[str, Any]) -> Decimal | None:
    if not kpi.target_setting or kpi.target_setting not in values:
        return None
    return Decimal(str(values[kpi.target_setting]))


def result_of(kpi: Kpi, counts: Counts, values: Mapping[str, Any]) -> KpiResult:
    """Value (two decimals half up, null without a population), target and status of a KPI's counts."""
    target = target_of(kpi, values)
    value = value_of(kpi, counts)
    extra = dict(counts.extra)
    if "by_service_type" in extra:
        extra["by_service_type"] = {
            name: result_of(kpi, part, values) if isinstance(part, Counts) else part
            for name, part in extra["by_service_type"].items()
        }
    return KpiResult(
        key=kpi.key,
        value=value,
        numerator=counts.numerator,
        denominator=counts.denominator,
        target=target,
        status=status_of(kpi, value, target, amber_margin(kpi, target, values)),
        pending=counts.pending,
        reason=counts.reason,
        extra=extra,
    )


def _kpis(keys: Iterable[str] | None) -> list[Kpi]:
    from aftersales.analytics.kpis import ORDER

    position = {key: index for index, key in enumerate(ORDER)}
    kpis = sorted(all_kpis(), key=lambda kpi: position.get(kpi.key, len(ORDER)))
    if keys is None:
        return kpis
    wanted = set(keys)
    unknown = wanted - {kpi.key for kpi in kpis}
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    return [kpi for kpi in kpis if kpi.key in wanted]


def kpi_figures(
    scope: Scope,
    period: Period,
    *,
    keys: Iterable[str] | None = None,
    now: dt.datetime | None = None,
    values: Mapping[str, Any] | None = None,
    stored: bool = True,
) -> dict[str, KpiResult]:
    """Every KPI (or those of `keys`, in catalogue order) for the scope and period.  A KPI of a closed period is
    read from its stored snapshot when that is the figure the records give now (`snapshots.snapshot_figures`:
    its clocks had run out when stored and none of its records changed since); the others are computed from the
    records (`stored=False`: all of them).  Queries: 2 for the settings (3 for a group; none when the caller
    passes the scope's `values`) + for a closed period 1 for the snapshots (+1 when some exist, for the changes)
    + one per KPI computed (two for `waiting_time_minutes`'s median; none for the KPIs whose data does not exist
    yet) — asserted in the tests."""
    return kpi_figures_of_periods(scope, [period], keys=keys, now=now, values=values, stored=stored)[period]


def kpi_figures_of_periods(
    scope: Scope,
    periods: Iterable[Period],
    *,
    keys: Iterable[str] | None = None,
    now: dt.datetime | None = None,
    values: Mapping[str, Any] | None = None,
    stored: bool = True,
) -> dict[Period, dict[str, KpiResult]]:
    """`kpi_figures` of several periods (a period and the one before, say), the stored figures of all of them
    read together (one query + one for the changes)."""
    from aftersales.analytics.snapshots import snapshot_figures

    now = now or clock.now()
    periods = list(periods)
    values = values if values is not None else values_for_scope(scope)
    kpis = _kpis(keys)
    found = snapshot_figures(scope, periods, keys=[k.key for k in kpis], values=values, now=now) if stored else {}
    results: dict[Period, dict[str, KpiResult]] = {}
    for period in periods:
        ctx = Context(scope, period, now, values)
        known = found.get(period, {})
        results[period] = {
            kpi.key: known[kpi.key] if kpi.key in known else result_of(kpi, RULES[kpi.key].counts(ctx), values)
            for kpi in kpis
        }
    return results


def kpi_figures_by_store(
    scope: Scope,
    period: Period,
    *,
    keys: Iterable[str] | None = None,
    now: dt.datetime | None = None,
    stored: bool = True,
) -> dict[int, dict[str, KpiResult]]:
    """`kpi_figures` of every store of the scope (store id → key → figure), each equal to
    `kpi_figures(scope_for_store(store), …)`, with one GROUP BY store query per KPI instead of one query per KPI
    and store: the group page, the early-warning sweep and the snapshot job no longer grow with the stores.
    Stored figures are read as `kpi_figures` reads them (two queries for all the stores); a KPI is computed for
    the stores without one.

    Targets and status come from each store's settings.  A setting that enters a KPI's SQL (a threshold, a
    window) may be overridden per store: the stores are partitioned by the values of the settings the rule
    actually read (noted while it builds its query), one grouped query per partition — one partition unless a
    store overrides such a setting.  Queries: 2 for the settings + per KPI and partition what `kpi_figures`
    spends for one store (+1 for the medians of `waiting_time_minutes`)."""
    from aftersales.analytics.snapshots import snapshot_figures_by_store

    if scope.advisor_id is not None or scope.technician_id is not None:
        raise ValueError("kpi_figures_by_store answers whole stores")
    now = now or clock.now()
    values = values_for_stores(scope.store_ids)
    kpis = _kpis(keys)
    found = (
        snapshot_figures_by_store(values, period, keys=[k.key for k in kpis], values=values, now=now) if stored else {}
    )
    results: dict[int, dict[str, KpiResult]] = {store_id: {} for store_id in sorted(values)}
    for kpi in kpis:
        missing = {store_id: values[store_id] for store_id in results if kpi.key not in found.get(store_id, {})}
        for store_id, counts in _counts_by_store(kpi.key, missing, period, now).items():
            results[store_id][kpi.key] = result_of(kpi, counts, values[store_id])
        for store_id in results.keys() - missing.keys():
            results[store_id][kpi.key] = found[store_id][kpi.key]
    return results


def _counts_by_store(
    key: str, values: Mapping[int, Mapping[str, Any]], period: Period, now: dt.datetime
) -> dict[int, Counts]:
    """One KPI's counts per store, one grouped query per partition of the stores by the settings it reads: run
    for the remaining stores with the first one's settings, keep the stores that agree with it on every setting
    the rule read, repeat for the others."""
    rule = RULES[key]
    remaining = sorted(values)
    found: dict[int, Counts] = {}
    while remaining:
        probe = RecordingValues(values[remaining[0]])
        ctx = Context(Scope(frozenset(remaining)), period, now, probe, by_store=True)
        by_store = rule.counts_by_store(ctx)
        if by_store is None:  # not groupable by store: each store on its own
            for store_id in remaining:
                found[store_id] = rule.counts(Context(Scope(frozenset({store_id})), period, now, values[store_id]))
            break
        read = sorted(probe.read)
        agree = [s for s in remaining if all(values[s].get(k) == values[remaining[0]].get(k) for k in read)]
        found.update({store_id: by_store[store_id] for store_id in agree})
        remaining = [s for s in remaining if s not in agree]
    return found


def kpi_by_staff(
    key: str,
    scope: Scope,
    period: Period,
    cut: Literal["advisor", "technician"],
    *,
    now: dt.datetime | None = None,
) -> dict[int, KpiResult]:
    """The KPI per advisor (or technician) of the scope's records in one GROUP BY: user id → figure.  Empty when
    the KPI is not measured per person of that kind (`Kpi.cuts`)."""
    kpi = registered_kpi(key)
    values = values_for_scope(scope)
    by_person = RULES[key].counts_by(Context(scope, period, now or clock.now(), values), cut)
    if by_person is None:
        return {}
    return {person: result_of(kpi, counts, values) for person, counts in by_person.items()}


def kpi_drilldown(key: str, scope: Scope, period: Period, *, now: dt.datetime | None = None) -> QuerySet[Any]:
    """The records that make the figure (its whole population, pending ones included), annotated: `meets` and
    `pending` for a share, `seconds` for a mean of durations.  Lazy: page through it."""
    registered_kpi(key)
    values = values_for_scope(scope)
    return RULES[key].records(Context(scope, period, now or clock.now(), values))


def known_keys() -> list[str]:
    return [kpi.key for kpi in _kpis(None)]


def registered_kpi(key: str) -> Kpi:
    list(all_kpis())  # loads the catalogue
    return registered(key)


# ------------------------------------------------------------------------------------------------------ series


def kpi_series(
    key: str, scope: Scope, periods: list[Period], *, now: dt.datetime | None = None
) -> list[tuple[Period, KpiResult]]:
    """The KPI over `periods` (e.g. `Period.trailing(13)`), oldest first as given.  A settled closed period is
    read from its snapshot (one query for all of them); the others are computed.  Queries: settings (2–3) + 1 +
    one per period without a settled snapshot."""
    from aftersales.analytics.snapshots import snapshot_results

    kpi = registered_kpi(key)
    now = now or clock.now()
    values = values_for_scope(scope)
    stored = snapshot_results(kpi, scope, periods, values=values, now=now)
    series = []
    for period in periods:
        result = stored.get(period)
        if result is None:
            result = result_of(kpi, RULES[key].counts(Context(scope, period, now, values)), values)
        series.append((period, result))
    return series


# ---------------------------------------------------------------------------------------------- public JSON


def _number(value: Decimal | int | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP))
    return value


def result_json(result: KpiResult) -> dict[str, Any]:
    """One figure in the public shape of KPIS.md: value, numerator, denominator, target, status (+ reason when the
    figure is null for want of data)."""
    body: dict[str, Any] = {
        "value": _number(result.value),
        "numerator": _number(result.numerator),
        "denominator": result.denominator,
        "target": _number(result.target),
        "status": result.status,
    }
    if result.reason:
        body["reason"] = result.reason
    return body


def public_figure(key: str, result: KpiResult) -> dict[str, Any]:
    """A KPI's public object; `mean_repair_duration_hours` maps each service type and `all` to one."""
    if key == BY_SERVICE_TYPE:
        parts = result.extra.get("by_service_type", {})
        return {**{name: result_json(part) for name, part in parts.items()}, "all": result_json(result)}
    return result_json(result)


def kpi_json(scope: Scope, period: Period, results: Mapping[str, KpiResult]) -> dict[str, Any]:
    """The public body: `{"store": "SH01"|null, ["group": "g1",] "period": "2026-05", "kpis": {KEY: {...}}}`;
    `mean_repair_duration_hours` maps each service type and `all` to such an object."""
    kpis = {key: public_figure(key, result) for key, result in results.items()}
    body: dict[str, Any] = {"store": None if scope.group_id else scope.label}
    if scope.group_id:
        body["group"] = scope.label
    body["period"] = str(period)
    body["kpis"] = kpis
    return body
