"""The building blocks of the KPI entries (`kpis_*.py`): a rule names the population of a KPI as one queryset
(scope and period already applied), the condition a record meets, and the condition that keeps it out of the
denominator while its clock still runs (pending).  From that one definition come the figure (one aggregate
query), the figure per advisor / technician (one GROUP BY query) and the drill-down (the same queryset annotated
with `meets` / `pending`), so the three can never disagree.

Conventions of KPIS.md applied here once: the period is half-open in local time (`Period.start` / `end`); stores
are each record's own store; "in time" is `done ≤ due` on stored timestamps; a cancelled order never counts unless
the rule says so; durations are whole seconds between two timestamps, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.catalogue import Counts, Cut, Kpi, Scope, register
from aftersales.analytics.periods import Period

Values = Mapping[str, Any]  # the settings in force for the scope (organisation.settings_catalogue keys)
# Beside the settings: the scope's evaluation-model weights of the survey items (None: CSI weighs them equally).
CSI_ITEM_WEIGHTS = "csi_item_weights"


@dataclass(frozen=True)
class Context:
    """Everything a rule needs: whose records, which period, the moment of computing, the settings in force."""

    scope: Scope
    period: Period
    now: dt.datetime
    values: Values
    # True when one query answers every store of the scope grouped by store (`Rule.counts_by_store`): a rule
    # that looks at "the scope's stores" inside a correlated subquery then means the record's own store.
    by_store: bool = False

    def setting(self, key: str) -> int:
        return int(self.values[key])


class RecordingValues(dict[str, Any]):
    """The settings of one store that note which keys a rule reads, so the stores can be partitioned by the
    values of exactly those settings (`kpi_figures_by_store`)."""

    def __init__(self, values: Values) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


class DayDiff(Func):
    """Whole days from the date `start` to the date `end` (both date expressions), on SQLite and PostgreSQL."""

    output_field = IntegerField()
    arity = 2

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "sqlite":
            return f"CAST(julianday({end_sql}) - julianday({start_sql}) AS INTEGER)", [*end_params, *start_params]
        return f"(CAST({end_sql} AS date) - CAST({start_sql} AS date))", [*end_params, *start_params]


class Seconds(Func):
    """Whole seconds from `start` to `end` (both timestamps), identical on SQLite and PostgreSQL: each side is
    truncated to its second first, then subtracted (Django's DurationField arithmetic differs per backend)."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "sqlite":
            sql = f"(CAST(strftime('%%s', {end_sql}) AS INTEGER) - CAST(strftime('%%s', {start_sql}) AS INTEGER))"
        else:
            sql = f"(FLOOR(EXTRACT(EPOCH FROM {end_sql})) - FLOOR(EXTRACT(EPOCH FROM {start_sql})))::bigint"
        return sql, [*end_params, *start_params]


def as_bool(condition: Q | Expression) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def in_period(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


NO_CUT = _("This KPI is not measured per person.")


@dataclass(frozen=True)
class Rule:
    """Base of every rule.  `store` is the lookup of the record's store; `advisor` / `technician` the lookups of
    the person a cut groups by (None: no such cut).  Subclasses define `population` and the aggregates."""

    store: str = "store_id"
    advisor: str | None = None
    technician: str | None = None

    # ---- to be defined by the kinds of rule
    def population(self, ctx: Context) -> QuerySet[Any]:
        raise NotImplementedError

    def aggregates(self, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def finish(self, row: Mapping[str, Any], ctx: Context) -> Counts:
        raise NotImplementedError

    def annotate_records(self, records: QuerySet[Any], ctx: Context) -> QuerySet[Any]:
        return records

    # ---- shared
    def cut_field(self, cut: Cut) -> str | None:
        return self.advisor if cut == "advisor" else self.technician

    def scoped(self, ctx: Context) -> QuerySet[Any] | None:
        """The population narrowed to the scope's stores and person; None when the scope names a person this KPI
        is not cut by."""
        records = self.population(ctx)
        if self.store:  # "" : the population applies the scope's stores itself (e.g. customers by their visits)
            records = records.filter(**{f"{self.store}__in": sorted(ctx.scope.store_ids)})
        for cut, person in (("advisor", ctx.scope.advisor_id), ("technician", ctx.scope.technician_id)):
            if person is None:
                continue
            path = self.cut_field(cut)  # type: ignore[arg-type]
            if path is None:
                return None
            records = records.filter(**{path: person})
        return records

    def counts(self, ctx: Context) -> Counts:
        records = self.scoped(ctx)
        if records is None:
            return Counts(0, 0, reason=str(NO_CUT))
        return self.finish(records.order_by().aggregate(**self.aggregates(ctx)), ctx)

    def counts_by(self, ctx: Context, cut: Cut) -> dict[int, Counts] | None:
        """One GROUP BY over the person of the cut; None when the KPI has no such cut."""
        path = self.cut_field(cut)
        records = self.scoped(ctx)
        if path is None or records is None:
            return None
        rows = records.exclude(**{f"{path}__isnull": True}).order_by().values(path).annotate(**self.aggregates(ctx))
        return {row[path]: self.finish(row, ctx) for row in rows}

    def counts_by_store(self, ctx: Context) -> dict[int, Counts] | None:
        """The counts of every store of the scope in one GROUP BY over the record's store (`ctx.by_store`); a
        store without records gets the counts of an empty population (no query).  None: the rule cannot be
        grouped by store (the caller computes each store on its own)."""
        records = self.scoped(ctx)
        if not self.store or records is None:
            return None
        aggregates = self.aggregates(ctx)
        rows = records.order_by().values(self.store).annotate(**aggregates)
        found = {row[self.store]: self.finish(row, ctx) for row in rows}
        return self._fill(found, ctx, lambda: self.finish(records.none().aggregate(**aggregates), ctx))

    @staticmethod
    def _fill(found: dict[int, Counts], ctx: Context, empty: Callable[[], Counts]) -> dict[int, Counts]:
        missing = ctx.scope.store_ids - set(found)
        if missing:
            nothing = empty()
            found.update({store_id: nothing for store_id in missing})
        return found

    def records(self, ctx: Context) -> QuerySet[Any]:
        records = self.scoped(ctx)
        if records is None:
            return self.population(ctx).none()
        return self.annotate_records(records, ctx)


@dataclass(frozen=True)
class ShareRule(Rule):
    """A share: the records of `population` meeting `meets`, over those not `pending`.  `pending` must exclude
    every record that meets the rule (a done step is never pending)."""

    base: Callable[[Context], QuerySet[Any]] | None = None
    meets: Callable[[Context], Q] | None = None
    pending: Callable[[Context], Q] | None = None

    def population(self, ctx: Context) -> QuerySet[Any]:
        assert self.base is not None
        return self.base(ctx)

    def aggregates(self, ctx: Context) -> dict[str, Any]:
        assert self.meets is not None
        aggregates: dict[str, Any] = {"total": Count("pk"), "n": Count("pk", filter=self.meets(ctx))}
        if self.pending is not None:
            aggregates["p"] = Count("pk", filter=self.pending(ctx))
        return aggregates

    def finish(self, row: Mapping[str, Any], ctx: Context) -> Counts:
        pending = row.get("p") or 0
        return Counts(numerator=row["n"] or 0, denominator=(row["total"] or 0) - pending, pending=pending)

    def annotate_records(self, records: QuerySet[Any], ctx: Context) -> QuerySet[Any]:
        assert self.meets is not None
        pending = self.pending(ctx) if self.pending is not None else Q(pk__in=[])
        return records.annotate(meets=as_bool(self.meets(ctx)), pending=as_bool(pending))


@dataclass(frozen=True)
class MeanRule(Rule):
    """A mean of a duration: numerator = the sum (in `unit_seconds` units), denominator = the count."""

    base: Callable[[Context], QuerySet[Any]] | None = None
    end: str = ""
    start: str = ""
    unit_seconds: int = 60

    def population(self, ctx: Context) -> QuerySet[Any]:
        assert self.base is not None
        return self.base(ctx)

    def aggregates(self, ctx: Context) -> dict[str, Any]:
        return {"total": Count("pk"), "seconds": Sum(Seconds(F(self.end), F(self.start)))}

    def finish(self, row: Mapping[str, Any], ctx: Context) -> Counts:
        seconds = Decimal(row["seconds"] or 0)
        return Counts(numerator=seconds / self.unit_seconds, denominator=row["total"] or 0)

    def annotate_records(self, records: QuerySet[Any], ctx: Context) -> QuerySet[Any]:
        return records.annotate(seconds=Seconds(F(self.end), F(self.start)))


@dataclass(frozen=True)
class Unavailable(Rule):
    """A KPI whose data a later issue brings: null with the reason."""

    reason: Any = ""
    model_queryset: Callable[[], QuerySet[Any]] | None = None

    def population(self, ctx: Context) -> QuerySet[Any]:
        assert self.model_queryset is not None
        return self.model_queryset().none()

    def counts(self, ctx: Context) -> Counts:
        return Counts(0, 0, reason=str(self.reason))

    def counts_by(self, ctx: Context, cut: Cut) -> dict[int, Counts] | None:
        return None

    def counts_by_store(self, ctx: Context) -> dict[int, Counts] | None:
        return {store_id: self.counts(ctx) for store_id in ctx.scope.store_ids}


@dataclass(frozen=True)
class CustomRule(Rule):
    """A rule whose aggregation does not fit the share or mean shape (NPS, CSI, per service type, ratios):
    `count(records, ctx) -> Counts` runs on the scoped population, `count_by` per person (one query each), and
    per store `count_by_store_fn` when given, else `count_by` over the store lookup (its rows must then be the
    very counts `count` gives for one store)."""

    base: Callable[[Context], QuerySet[Any]] | None = None
    count_fn: Callable[[QuerySet[Any], Context], Counts] | None = None
    count_by_fn: Callable[[QuerySet[Any], Context, str], dict[int, Counts]] | None = None
    count_by_store_fn: Callable[[QuerySet[Any], Context], dict[int, Counts]] | None = None
    annotate_fn: Callable[[QuerySet[Any], Context], QuerySet[Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def population(self, ctx: Context) -> QuerySet[Any]:
        assert self.base is not None
        return self.base(ctx)

    def counts(self, ctx: Context) -> Counts:
        records = self.scoped(ctx)
        if records is None:
            return Counts(0, 0, reason=str(NO_CUT))
        assert self.count_fn is not None
        return self.count_fn(records.order_by(), ctx)

    def counts_by(self, ctx: Context, cut: Cut) -> dict[int, Counts] | None:
        path = self.cut_field(cut)
        records = self.scoped(ctx)
        if path is None or records is None or self.count_by_fn is None:
            return None
        return self.count_by_fn(records.exclude(**{f"{path}__isnull": True}).order_by(), ctx, path)

    def counts_by_store(self, ctx: Context) -> dict[int, Counts] | None:
        records = self.scoped(ctx)
        if records is None:
            return None
        records = records.order_by()
        if self.count_by_store_fn is not None:
            found = self.count_by_store_fn(records, ctx)
        elif self.store and self.count_by_fn is not None:
            found = self.count_by_fn(records, ctx, self.store)
        else:
            return None
        assert self.count_fn is not None
        count_fn = self.count_fn
        return self._fill(dict(found), ctx, lambda: count_fn(records.none(), ctx))

    def annotate_records(self, records: QuerySet[Any], ctx: Context) -> QuerySet[Any]:
        return self.annotate_fn(records, ctx) if self.annotate_fn is not None else records


def money_sum(expression: Any) -> Coalesce:
    return Coalesce(
        Sum(expression, output_field=DecimalField(max_digits=14, decimal_places=2)),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


# --------------------------------------------------------------------------------------------- registration

RULES: dict[str, Rule] = {}


def values_for_scope(scope: Scope) -> dict[str, Any]:
    """The settings in force for the scope: the store's (override → group → default) for one store, the group's
    for a whole group (its records are judged by the group's thresholds and target), with the evaluation model's
    CSI item weights (`CSI_ITEM_WEIGHTS`).  Three or four queries."""
    from aftersales.analytics.quality.selectors import item_weights_for_group, item_weights_for_stores
    from aftersales.organisation.models import DealerGroup, Store
    from aftersales.organisation.selectors import setting_values_for_group, setting_values_for_store

    if scope.group_id is None and len(scope.store_ids) == 1:
        store = Store.objects.get(pk=next(iter(scope.store_ids)))
        weights = item_weights_for_stores({store.pk: store.group_id})[store.pk]
        return dict(setting_values_for_store(store)) | {CSI_ITEM_WEIGHTS: weights}
    group_id = scope.group_id
    if group_id is None:
        group_id = Store.objects.filter(pk__in=sorted(scope.store_ids)).values_list("group_id", flat=True).first()
    assert group_id is not None, "a scope without stores"
    values = dict(setting_values_for_group(DealerGroup.objects.get(pk=group_id)))
    return values | {CSI_ITEM_WEIGHTS: item_weights_for_group(group_id)}


def values_for_stores(store_ids: frozenset[int]) -> dict[int, dict[str, Any]]:
    """`values_for_scope` of each store at once (override → group → default, the CSI item weights): four queries
    for any number of stores, the same values `values_for_scope` gives one at a time."""
    from aftersales.analytics.quality.selectors import item_weights_for_stores
    from aftersales.organisation.models import SettingValue, Store
    from aftersales.organisation.selectors import _coerce  # the catalogue's coercion, shared (not repeated)
    from aftersales.organisation.settings_catalogue import BY_KEY, SETTINGS

    group_of = dict(Store.objects.filter(pk__in=sorted(store_ids)).values_list("pk", "group_id"))
    group_rows: dict[int, dict[str, Any]] = {}
    store_rows: dict[int, dict[str, Any]] = {}
    for row in SettingValue.objects.filter(
        Q(group_id__in=sorted(set(group_of.values())), store__isnull=True) | Q(store_id__in=sorted(group_of))
    ).order_by("pk"):
        if row.store_id is None:
            group_rows.setdefault(row.group_id, {})[row.key] = row.value
        else:
            store_rows.setdefault(row.store_id, {})[row.key] = row.value
    defaults = {s.key: s.default for s in SETTINGS}
    values: dict[int, dict[str, Any]] = {}
    for store_id, group_id in group_of.items():
        found = dict(defaults)
        for key, raw in {**group_rows.get(group_id, {}), **store_rows.get(store_id, {})}.items():
            if key in BY_KEY:
                found[key] = _coerce(BY_KEY[key], raw)
        values[store_id] = found
    for store_id, weights in item_weights_for_stores(group_of).items():
        values[store_id][CSI_ITEM_WEIGHTS] = weights
    return values


def entry(rule: Rule, **fields: Any) -> Kpi:
    """Register a KPI whose counts and drill-down come from `rule`."""

    def count(scope: Scope, period: Period, now: dt.datetime) -> Counts:
        return rule.counts(Context(scope, period, now, values_for_scope(scope)))

    def drilldown(scope: Scope, period: Period, now: dt.datetime) -> QuerySet[Any]:
        return rule.records(Context(scope, period, now, values_for_scope(scope)))

    kpi = register(Kpi(count=count, drilldown=drilldown, **fields))
    RULES[kpi.key] = rule
    return kpi
