"""ECharts options of the service-quality pages (drawn by frontend/src/charts.js from json_script)."""

from __future__ import annotations

import math
from typing import Any

from django.utils.translation import gettext as _

from aftersales.analytics.evaluation.servqual import IpaResult
from aftersales.analytics.quality.reads import QUADRANT_LABELS, SERVQUAL_DIMENSIONS, FuzzyEvaluation, Gaps, StoreRow

BLUE, GREEN, RED, GREY, AMBER = "#0b5394", "#198754", "#dc3545", "#6c757d", "#fd7e14"
QUADRANT_COLOUR = {"concentrate_here": RED, "keep_up": GREEN, "low_priority": GREY, "possible_overkill": AMBER}


def contributions(evaluation: FuzzyEvaluation) -> dict[str, Any]:
    """One horizontal bar per criterion: the points it adds to the score (they add up to the score)."""
    rows = [c for c in evaluation.criteria if c.contribution is not None]
    rows.reverse()  # ECharts draws the first category at the bottom
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 40, "top": 8, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value", "name": _("points"), "nameLocation": "middle", "nameGap": 24},
        "yAxis": {"type": "category", "data": [c.name for c in rows]},
        "series": [
            {
                "name": _("Contribution to the score"),
                "type": "bar",
                "itemStyle": {"color": BLUE},
                "label": {"show": True, "position": "right", "formatter": "{c}"},
                "data": [round(c.contribution or 0, 1) for c in rows],
            }
        ],
    }


def gaps(found: Gaps) -> dict[str, Any]:
    """SERVQUAL gap (perception − expectation) per item, negative red; the dimension in the label."""
    rows = list(reversed(found.items))
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 40, "top": 8, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value", "name": _("P − E")},
        "yAxis": {
            "type": "category",
            "data": [f"{g.name} · {SERVQUAL_DIMENSIONS.get(g.dimension, g.dimension)}" for g in rows],
        },
        "series": [
            {
                "name": _("Gap"),
                "type": "bar",
                "label": {"show": True, "position": "right"},
                "data": [{"value": round(g.gap, 2), "itemStyle": {"color": RED if g.gap < 0 else GREEN}} for g in rows],
            }
        ],
    }


def ipa(result: IpaResult) -> dict[str, Any]:
    """The importance–performance quadrant chart: performance across, importance up, cross-hairs at the means,
    each item coloured by its quadrant and labelled with its priority."""
    performance = [a.performance for a in result.attributes]
    importance = [a.importance for a in result.attributes]
    series = []
    for quadrant, label in QUADRANT_LABELS.items():
        points = [a for a in result.attributes if a.quadrant == quadrant]
        series.append(
            {
                "name": str(label),
                "type": "scatter",
                "symbolSize": 14,
                "itemStyle": {"color": QUADRANT_COLOUR[quadrant]},
                "label": {"show": True, "position": "top", "formatter": "{b}", "fontSize": 11},
                "data": [
                    {"name": f"{a.priority}. {a.name}", "value": [round(a.performance, 2), round(a.importance, 3)]}
                    for a in points
                ],
            }
        )
    series[0]["markLine"] = {
        "symbol": "none",
        "silent": True,
        "lineStyle": {"color": GREY, "type": "dashed"},
        "label": {"show": False},
        "data": [{"xAxis": round(result.performance_line, 2)}, {"yAxis": round(result.importance_line, 3)}],
    }
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 30, "right": 24, "top": 24, "bottom": 48, "containLabel": True},
        "xAxis": {"type": "value", "name": _("Performance (mean 1–5)"), "nameLocation": "middle", "nameGap": 24,
                  "min": _padded(performance, 0.1, low=True), "max": _padded(performance, 0.1, low=False)},
        "yAxis": {"type": "value", "name": _("Importance (r with overall)"), "nameLocation": "middle", "nameGap": 36,
                  "min": _padded(importance, 0.1, low=True), "max": _padded(importance, 0.1, low=False)},
        "series": series,
    }  # fmt: skip


def _padded(values: list[float], step: float, *, low: bool) -> float:
    """An axis bound one step beyond the data, on the step's grid, so no point sits on the frame."""
    edge = min(values) if low else max(values)
    return round((math.floor(edge / step) - 1) * step if low else (math.ceil(edge / step) + 1) * step, 2)


def stores(rows: list[StoreRow]) -> dict[str, Any]:
    """The stores' fuzzy scores (best on top) beside their CSI."""
    shown = list(reversed([r for r in rows if r.score is not None]))
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 8, "right": 40, "top": 8, "bottom": 32, "containLabel": True},
        "xAxis": {"type": "value", "max": 100},
        "yAxis": {"type": "category", "data": [r.store.name for r in shown]},
        "series": [
            {
                "name": _("Fuzzy score"),
                "type": "bar",
                "itemStyle": {"color": BLUE},
                "label": {"show": True, "position": "right"},
                "data": [round(r.score or 0, 1) for r in shown],
            },
            {
                "name": _("CSI"),
                "type": "bar",
                "itemStyle": {"color": GREY},
                "data": [None if r.csi is None else round(r.csi, 1) for r in shown],
            },
        ],
    }
