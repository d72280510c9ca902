"""The KPI catalogue (KPIS.md): every KPI is one `Kpi` entry — key (a public JSON key), label and definition text
(shown on screen, translated), unit, the setting holding its target, direction, review cycle, who it can be cut by
(advisor / technician), how it is counted (one aggregation in the database) and which records make it (the
drill-down queryset).  `kpis_*.py` modules register the entries; pages, the API, the CLI, reports, scorecards and
early warnings all read figures through `compute` / `compute_all` / `series`, so they can never disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils.functional import Promise

from aftersales.analytics.periods import Period

Unit = Literal["percent", "points", "minutes", "hours", "currency", "number"]
Direction = Literal["higher", "lower", "trend_down"]
Cut = Literal["advisor", "technician"]
Status = Literal["green", "amber", "red"]
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Scope:
    """Whose records count: a set of stores (one store, or all stores of a group — the group figure is computed
    over the group's records, never averaged), optionally narrowed to one advisor's or technician's records."""

    store_ids: frozenset[int]
    group_id: int | None = None  # set when the scope is a whole dealer group
    advisor_id: int | None = None
    technician_id: int | None = None
    label: str = ""  # "SH01" or the group's name, for output

    def narrowed(self, *, advisor_id: int | None = None, technician_id: int | None = None) -> Scope:
        return Scope(self.store_ids, self.group_id, advisor_id, technician_id, self.label)


@dataclass(frozen=True)
class Counts:
    """What a KPI's aggregation returns.  For a share: numerator = records meeting the rule, denominator = the
    population; for a mean: numerator = the sum, denominator = the count; for NPS: numerator = promoters −
    detractors, denominator = responses.  `reason` explains a null figure that lacks data (not a zero count)."""

    numerator: Decimal | int
    denominator: int
    pending: int = 0
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the median beside a mean


@dataclass(frozen=True)
class KpiResult:
    key: str
    value: Decimal | None
    numerator: Decimal | int
    denominator: int
    target: Decimal | None
    status: Status | None
    pending: int = 0
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The public JSON shape of KPIS.md (numbers as floats / ints)."""
        return {
            "value": None if self.value is None else float(self.value),
            "numerator": float(self.numerator) if isinstance(self.numerator, Decimal) else self.numerator,
            "denominator": self.denominator,
            "target": None if self.target is None else float(self.target),
            "status": self.status,
        }


Counter = Callable[[Scope, Period, dt.datetime], Counts]
Drilldown = Callable[[Scope, Period, dt.datetime], QuerySet[Any]]


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str | Promise
    definition: str | Promise  # the rule of KPIS.md in words, shown beside the figure
    unit: Unit
    direction: Direction
    count: Counter
    drilldown: Drilldown | None = None
    target_setting: str | None = None  # a key of organisation.settings_catalogue
    review_cycle: Literal["month", "quarter", "year"] = "month"  # SPEC §6
    cuts: tuple[Cut, ...] = ()
    area: str = "service"  # report sheet / dashboard section: service, voice, retention, booking, operations, audits
    # count: the value is the numerator itself (never null: no record is a count of 0), e.g. findings open
    value_kind: Literal["share", "mean", "nps", "csi", "ratio", "count"] = "share"


REGISTRY: dict[str, Kpi] = {}


def register(kpi: Kpi) -> Kpi:
    if kpi.key in REGISTRY:
        raise ValueError(f"KPI {kpi.key} registered twice")
    REGISTRY[kpi.key] = kpi
    return kpi


def value_of(kpi: Kpi, counts: Counts) -> Decimal | None:
    """The figure from its counts: null without a population; two decimals, half up (a count is its numerator)."""
    if kpi.value_kind == "count":
        return Decimal(counts.numerator).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    if not counts.denominator:
        return None
    numerator = Decimal(counts.numerator)
    if kpi.value_kind in ("share", "nps"):
        raw = numerator * 100 / counts.denominator
    else:
        raw = numerator / counts.denominator
    return raw.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def status_of(kpi: Kpi, value: Decimal | None, target: Decimal | None, amber_margin: Decimal) -> Status | None:
    """green when the target is met, amber within the amber band of it, red beyond; None without value or target.
    For "lower is better" KPIs the band lies above the target."""
    if value is None or target is None or kpi.direction == "trend_down":
        return None
    if kpi.direction == "higher":
        if value >= target:
            return "green"
        return "amber" if value >= target - amber_margin else "red"
    if value <= target:
        return "green"
    return "amber" if value <= target + amber_margin else "red"


def keys() -> list[str]:
    return list(REGISTRY)


def registered(key: str) -> Kpi:
    return REGISTRY[key]


def ensure_loaded() -> None:
    """Import the modules that register the KPIs (idempotent)."""
    from aftersales.analytics import kpis  # noqa: F401


def all_kpis() -> Iterable[Kpi]:
    ensure_loaded()
    return REGISTRY.values()
