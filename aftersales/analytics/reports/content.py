"""What a report says, gathered once for both formats: every KPI of the catalogue for the scope and period with
the previous period's figure beside it, and the trends of the key KPIs.  Figures come only from the catalogue's
selectors (`kpi_figures`, `kpi_series`), so a report can never disagree with the dashboard, the API or the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales.analytics import selectors
from aftersales.analytics.catalogue import Kpi, KpiResult, Scope, all_kpis
from aftersales.analytics.periods import Period
from aftersales.service.choices import ServiceType

# The report's sheets / sections, in this order; an area the catalogue adds later is appended by its key.
AREA_LABELS: dict[str, Any] = {
    "service": _("Service process"),
    "voice": _("Voice of the customer"),
    "retention": _("Customer retention"),
    "booking": _("Bookings"),
    "operations": _("Operations"),
    # audits submitted (the audit score's denominator), scores by kind, findings open / overdue, SOP acknowledgement
    "audits": _("Audits and standards"),
}
# The KPIs charted in the PDF (13-period trends); those the catalogue lacks are skipped.
KEY_KPIS = (
    "csat_percent",
    "nps",
    "first_time_fix_percent",
    "waiting_time_minutes",
    "repurchase_rate_percent",
    "churn_rate_percent",
    "follow_up_within_24h_percent",
    "complaint_resolved_in_time_percent",
)
TREND_LENGTH = {"month": 13, "quarter": 13, "year": 5}  # five years of yearly figures are what a group keeps

Progress = Callable[[int, str], None]  # (percent, step) → recorded on the run


@dataclass(frozen=True)
class Line:
    kpi: Kpi
    result: KpiResult
    previous: KpiResult | None

    @property
    def change(self) -> Decimal | None:
        """This period's value minus the previous period's (points for a percentage); None without both."""
        if self.previous is None or self.result.value is None or self.previous.value is None:
            return None
        return self.result.value - self.previous.value

    def parts(self) -> list[tuple[str, KpiResult]]:
        """The figure's parts printed under it: `mean_repair_duration_hours` per service type (KPIS.md)."""
        by_type = self.result.extra.get("by_service_type") or {}
        labels = dict(ServiceType.choices)
        return [
            (str(_("all service types")) if name == "all" else str(labels.get(name, name)), part)
            for name, part in by_type.items()
            if isinstance(part, KpiResult) and name != "all"
        ]


@dataclass
class ReportContent:
    scope: Scope
    period: Period
    now: dt.datetime
    title: str  # the store's code and name, or the group's name
    lines: list[Line] = field(default_factory=list)
    trends: dict[str, list[tuple[Period, Decimal | None]]] = field(default_factory=dict)

    def areas(self) -> list[tuple[str, Any, list[Line]]]:
        """(area key, label, its lines) in the report's order."""
        keys = list(AREA_LABELS) + sorted({line.kpi.area for line in self.lines} - set(AREA_LABELS))
        result = []
        for key in keys:
            lines = [line for line in self.lines if line.kpi.area == key]
            if lines:
                result.append((key, AREA_LABELS.get(key, key.replace("_", " ").capitalize()), lines))
        return result

    def line(self, key: str) -> Line | None:
        return next((line for line in self.lines if line.kpi.key == key), None)


def gather(
    scope: Scope,
    period: Period,
    *,
    title: str,
    now: dt.datetime,
    trends: bool = False,
    progress: Progress | None = None,
    span: tuple[int, int] = (0, 30),
) -> ReportContent:
    """Every KPI of `period` and of the one before (two catalogue calls); with `trends`, the series of the key
    KPIs.  `progress` is told how far it got within `span` percent."""
    report = progress or (lambda _percent, _step: None)
    low, high = span
    kpis = list(all_kpis())
    report(low, str(_("Computing the figures")))
    current = selectors.kpi_figures(scope, period, now=now)
    figures_end = low + (high - low) // 4 if trends else high  # the trends take the rest of the span
    report((low + figures_end) // 2, str(_("Computing the previous period")))
    previous = selectors.kpi_figures(scope, period.previous(), now=now)
    content = ReportContent(scope=scope, period=period, now=now, title=title)
    for kpi in kpis:
        if kpi.key in current:
            content.lines.append(Line(kpi, current[kpi.key], previous.get(kpi.key)))
    if trends:
        periods = period.trailing(TREND_LENGTH[period.kind])
        charted = [key for key in KEY_KPIS if key in current]
        for index, key in enumerate(charted):
            report(
                figures_end + (high - figures_end) * index // len(charted),
                str(_("Trend: %(kpi)s") % {"kpi": content.line(key).kpi.label}),  # type: ignore[union-attr]
            )
            content.trends[key] = _series_values(selectors.kpi_series(key, scope, periods, now=now), periods)
    report(high, str(_("Figures computed")))
    return content


def _series_values(series: Any, periods: list[Period]) -> list[tuple[Period, Decimal | None]]:
    """The catalogue's series as (period, value) pairs, whether it answers a mapping by period or a list."""
    if isinstance(series, dict):
        items = [(p, series.get(p, series.get(str(p)))) for p in periods]
    else:
        items = list(zip(periods, series, strict=False))
    out: list[tuple[Period, Decimal | None]] = []
    for p, item in items:
        if isinstance(item, tuple):  # (period, result)
            item = item[1]
        value = getattr(item, "value", item)
        out.append((p, value if value is None else Decimal(str(value))))
    return out
