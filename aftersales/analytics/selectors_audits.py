"""The group's audit comparison (issue 16 part 4): each store's mean audit score per kind for a period (a quarter
by default: the audit plan's cycle), ranked, with the findings open and overdue and the SOP acknowledgement share
beside them.  Every figure is a KPI of the catalogue (`kpis_audits.py`) read through `kpi_figures_by_store` (one
grouped read for all the stores) and `kpi_figures` (the group's own figures, computed over its records), so the
page agrees with the dashboards, the API and the reports, and its query count grows neither with the stores nor
with the audits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.translation import gettext as _

from aftersales.analytics import selectors as kpi_selectors
from aftersales.analytics.catalogue import Kpi, KpiResult, Scope, registered
from aftersales.analytics.kpis_audits import (
    FINDINGS_OPEN_KEY,
    FINDINGS_OVERDUE_KEY,
    KEYS,
    SCORE_KEY,
    SCORE_KEYS,
    SOP_KEY,
)
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors_dashboards import (
    STATUS_COLOUR,
    STATUS_LABELS,
    STATUS_RANK,
    drilldown_url,
    target_text,
    value_text,
)
from aftersales.audits.choices import AuditKind
from aftersales.core import clock
from aftersales.organisation.models import DealerGroup, Store

# The columns of the comparison: each kind, then all kinds together.
COLUMNS: tuple[str, ...] = (*SCORE_KEYS.values(), SCORE_KEY)


@dataclass(frozen=True)
class Cell:
    kpi: Kpi
    result: KpiResult
    url: str

    @property
    def text(self) -> str:
        return value_text(self.kpi, self.result.value)

    @property
    def heading(self) -> str:
        """The kind of audit a score cell is of ("All kinds" for the overall score)."""
        return kind_label(self.kpi)

    @property
    def colour(self) -> str:
        return {"green": "success", "amber": "warning", "red": "danger"}.get(self.result.status or "", "secondary")


@dataclass(frozen=True)
class Row:
    """One store (or the group): its score per kind and overall, findings open / overdue, SOP acknowledgement."""

    code: str
    name: str
    is_group: bool
    scores: list[Cell]  # in COLUMNS order
    findings_open: Cell
    findings_overdue: Cell
    sop: Cell

    @property
    def overall(self) -> Cell:
        return self.scores[-1]


@dataclass(frozen=True)
class AuditComparison:
    group: DealerGroup
    period: Period
    columns: list[Kpi]
    group_row: Row
    rows: list[Row]  # the stores, best overall score first (no score last)
    heatmap_chart: dict[str, Any]
    ranking_chart: dict[str, Any]

    @property
    def has_data(self) -> bool:
        return any(cell.result.denominator for row in [self.group_row, *self.rows] for cell in row.scores)

    @property
    def audits(self) -> int:
        return self.group_row.overall.result.denominator

    @property
    def target(self) -> str:
        overall = self.group_row.overall
        return target_text(overall.kpi, overall.result.target)

    @property
    def heatmap_height(self) -> int:
        return 110 + 36 * (len(self.rows) + 1)

    @property
    def ranking_height(self) -> int:
        return max(200, 60 + 34 * len(self.rows))


def default_period(today: dt.date | None = None) -> Period:
    return Period.containing(today or clock.today(), "quarter")


def _row(code: str, name: str, is_group: bool, results: dict[str, KpiResult], period: Period, scope: dict) -> Row:
    def cell(key: str) -> Cell:
        return Cell(registered(key), results[key], drilldown_url(key, period, **scope))

    return Row(
        code=code,
        name=name,
        is_group=is_group,
        scores=[cell(key) for key in COLUMNS],
        findings_open=cell(FINDINGS_OPEN_KEY),
        findings_overdue=cell(FINDINGS_OVERDUE_KEY),
        sop=cell(SOP_KEY),
    )


def _rank(row: Row) -> tuple[int, Decimal, str]:
    value = row.overall.result.value
    return (1, Decimal(0), row.code) if value is None else (0, -value, row.code)


def audit_comparison(
    *, group: DealerGroup, stores: list[Store], period: Period, now: dt.datetime | None = None
) -> AuditComparison:
    """The stores × kinds mean audit scores of the period, the group's own row and the ranking by overall score."""
    now = now or clock.now()
    keys = list(KEYS)
    by_store = kpi_selectors.kpi_figures_by_store(Scope(frozenset(s.pk for s in stores)), period, keys=keys, now=now)
    group_results = kpi_selectors.kpi_figures(kpi_selectors.scope_for_group(group), period, keys=keys, now=now)
    rows = sorted(
        (_row(s.code, s.name, False, by_store[s.pk], period, {"store": s.code}) for s in stores if s.pk in by_store),
        key=_rank,
    )
    group_row = _row(group.code, str(_("Group")), True, group_results, period, {"group": group.code})
    columns = [registered(key) for key in COLUMNS]
    return AuditComparison(
        group=group,
        period=period,
        columns=columns,
        group_row=group_row,
        rows=rows,
        heatmap_chart=_heatmap(columns, [group_row, *rows]),
        ranking_chart=_ranking(rows, group_row),
    )


def kind_label(kpi: Kpi) -> str:
    """A column's heading: the kind's name (mystery shopper, …), "All kinds" for the overall score."""
    for kind, key in SCORE_KEYS.items():
        if key == kpi.key:
            return str(AuditKind(kind).label)
    return _("All kinds")


def _heatmap(columns: list[Kpi], rows: list[Row]) -> dict[str, Any]:
    """ECharts heat map: the kinds across (and all kinds), the group then the stores down, each cell the mean
    score coloured by its RAG status, labelled with the score and the number of audits; a cell opens the audits."""
    data = []
    for y, row in enumerate(rows):
        for x, cell in enumerate(row.scores):
            result = cell.result
            label = cell.text if result.value is None else f"{cell.text}\n({result.denominator})"
            lines = [f"{row.name} · {kind_label(cell.kpi)}", cell.text, _("%(n)s audits") % {"n": result.denominator}]
            target = target_text(cell.kpi, result.target)
            if target and result.value is not None:
                lines.append(f"{_('target')} {target}")
            if result.status:
                lines.append(str(STATUS_LABELS[result.status]))
            data.append(
                {
                    "value": [x, y, STATUS_RANK.get(result.status or "", 0)],
                    "label": {"show": True, "formatter": label},
                    "tooltip": {"formatter": "<br>".join(escape(line) for line in lines)},
                    "url": cell.url,
                }
            )
    pieces = [
        {"value": 3, "label": str(STATUS_LABELS["green"]), "color": STATUS_COLOUR["green"]},
        {"value": 2, "label": str(STATUS_LABELS["amber"]), "color": STATUS_COLOUR["amber"]},
        {"value": 1, "label": str(STATUS_LABELS["red"]), "color": STATUS_COLOUR["red"]},
        {"value": 0, "label": _("no audit"), "color": "#e9ecef"},
    ]
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 8, "top": 56, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "position": "top",
            "data": [kind_label(kpi) for kpi in columns],
            "splitArea": {"show": True},
            "axisLabel": {"fontWeight": "bold", "interval": 0},
        },
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [row.name for row in rows],
            "splitArea": {"show": True},
        },
        "visualMap": {
            "type": "piecewise",
            "pieces": list(reversed(pieces)),
            "dimension": 2,
            "orient": "horizontal",
            "left": "center",
            "top": 0,
            "itemGap": 6,
            "textStyle": {"fontSize": 11},
            "selectedMode": False,
        },
        "series": [
            {
                "type": "heatmap",
                "data": data,
                "label": {"show": True, "fontSize": 11},
                "itemStyle": {"borderColor": "#fff", "borderWidth": 2},
            }
        ],
    }


def _ranking(rows: list[Row], group_row: Row) -> dict[str, Any]:
    """ECharts: one horizontal bar per store (best on top), its overall mean score coloured by RAG; the target
    and the group's figure as lines."""
    drawn = list(reversed(rows))  # ECharts draws the first category at the bottom
    overall = group_row.overall
    marks: list[dict[str, Any]] = []
    if overall.result.target is not None:
        marks.append({"name": _("target"), "xAxis": float(overall.result.target), "lineStyle": {"color": "#0b5394"}})
    if overall.result.value is not None:
        marks.append(
            {
                "name": _("group"),
                "xAxis": float(overall.result.value),
                "lineStyle": {"color": "#6c757d", "type": "dotted"},
                "label": {"position": "start"},  # below the chart: the target's label stays on top
            }
        )
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 48, "top": 16, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value", "min": 0, "max": 100},
        "yAxis": {"type": "category", "data": [row.name for row in drawn]},
        "series": [
            {
                "name": str(overall.kpi.label),
                "type": "bar",
                "label": {"show": True, "position": "right"},
                "data": [
                    {
                        "value": None if row.overall.result.value is None else float(row.overall.result.value),
                        "itemStyle": {"color": STATUS_COLOUR.get(row.overall.result.status, STATUS_COLOUR[None])},
                        "url": row.overall.url,
                    }
                    for row in drawn
                ],
                "markLine": {"symbol": "none", "label": {"formatter": "{b}", "position": "end"}, "data": marks},
            }
        ],
    }
