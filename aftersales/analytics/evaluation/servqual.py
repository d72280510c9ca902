"""SERVQUAL gap scores and importance–performance analysis (SPEC §8).

SERVQUAL (Parasuraman, Zeithaml & Berry 1988): gap = perception − expectation per item; a dimension's gap is the
mean of its items' gaps, the overall gap the mean of the dimension gaps.

IPA (Martilla & James 1977), with importance derived from the data rather than asked: importance = Pearson correlation
of an attribute with overall satisfaction, performance = the attribute's mean; the cross-hairs are the means of the two
axes; quadrants after Martilla & James.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from aftersales.analytics.evaluation.parsing import InputError

FloatArray = NDArray[np.float64]
Quadrant = Literal["concentrate_here", "keep_up", "low_priority", "possible_overkill"]


def _table(values: Sequence[Sequence[float]] | Sequence[float] | FloatArray, where: str) -> FloatArray:
    """Respondents × items (a single row of item means is fine); NaN marks a missing answer."""
    array = np.array(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.size == 0:
        raise InputError(where, "expected one row per respondent and one column per item.")
    return array


@dataclass(frozen=True)
class ItemGap:
    item: str
    dimension: str
    perception: float
    expectation: float
    gap: float  # mean of (P − E) over respondents who answered both
    answers: int


@dataclass(frozen=True)
class GapResult:
    items: tuple[ItemGap, ...]
    dimensions: dict[str, float]  # dimension → mean of its items' gaps (in the order first met)
    overall: float  # mean of the dimension gaps (each dimension counts once, as in SERVQUAL)

    @property
    def item_mean(self) -> float:
        """Mean of all item gaps, each item counting once: what many published studies print as the "overall" gap.
        It differs from ``overall`` when the dimensions have different numbers of items."""
        return float(np.mean([item.gap for item in self.items]))


def gap_scores(
    perceptions: Sequence[Sequence[float]] | Sequence[float] | FloatArray,
    expectations: Sequence[Sequence[float]] | Sequence[float] | FloatArray,
    dimensions: Sequence[str],
    items: Sequence[str] | None = None,
) -> GapResult:
    p = _table(perceptions, "perceptions")
    e = _table(expectations, "expectations")
    if p.shape != e.shape:
        raise InputError("expectations", f"shape {e.shape} differs from the perceptions' {p.shape}.")
    k = p.shape[1]
    if len(dimensions) != k:
        raise InputError("dimensions", f"expected one dimension per item ({k}), got {len(dimensions)}.")
    names = list(items) if items is not None else [f"item {j + 1}" for j in range(k)]
    gaps: list[ItemGap] = []
    for j in range(k):
        both = ~np.isnan(p[:, j]) & ~np.isnan(e[:, j])
        if not both.any():
            raise InputError(f"{names[j]}", "no respondent answered both the perception and the expectation.")
        gaps.append(
            ItemGap(
                item=names[j],
                dimension=dimensions[j],
                perception=float(p[both, j].mean()),
                expectation=float(e[both, j].mean()),
                gap=float((p[both, j] - e[both, j]).mean()),
                answers=int(both.sum()),
            )
        )
    by_dimension: dict[str, list[float]] = {}
    for gap in gaps:
        by_dimension.setdefault(gap.dimension, []).append(gap.gap)
    dimension_gaps = {name: float(np.mean(values)) for name, values in by_dimension.items()}
    return GapResult(
        items=tuple(gaps), dimensions=dimension_gaps, overall=float(np.mean(list(dimension_gaps.values())))
    )


# --- importance–performance analysis -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IpaAttribute:
    name: str
    importance: float  # Pearson r with overall satisfaction (0 when either side does not vary)
    performance: float  # mean score
    quadrant: Quadrant
    priority: int  # 1 = improve first
    answers: int
    importance_defined: bool  # False when the attribute or the overall score is constant among its answers


@dataclass(frozen=True)
class IpaResult:
    attributes: tuple[IpaAttribute, ...]  # in input order
    importance_line: float  # mean importance (the horizontal cross-hair)
    performance_line: float  # mean performance (the vertical cross-hair)

    def priorities(self, top: int | None = None) -> list[IpaAttribute]:
        ranked = sorted(self.attributes, key=lambda a: a.priority)
        return ranked if top is None else ranked[:top]


def pearson(x: FloatArray, y: FloatArray) -> float | None:
    """Pearson's r over the pairs where both are present; None when either side is constant or < 2 pairs."""
    both = ~np.isnan(x) & ~np.isnan(y)
    if both.sum() < 2:
        return None
    dx, dy = x[both] - x[both].mean(), y[both] - y[both].mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return None if denominator == 0 else float(dx @ dy) / denominator


def _quadrant(importance: float, performance: float, i_line: float, p_line: float) -> Quadrant:
    high_importance, high_performance = importance >= i_line, performance >= p_line
    if high_importance:
        return "keep_up" if high_performance else "concentrate_here"
    return "possible_overkill" if high_performance else "low_priority"


QUADRANT_ORDER: dict[Quadrant, int] = {
    "concentrate_here": 0,
    "keep_up": 1,
    "low_priority": 2,
    "possible_overkill": 3,
}


def ipa(
    attributes: Sequence[Sequence[float]] | FloatArray,
    overall: Sequence[float] | FloatArray,
    names: Sequence[str] | None = None,
) -> IpaResult:
    """``attributes``: respondents × attributes (NaN = not answered); ``overall``: each respondent's overall
    satisfaction.

    Priorities: quadrant first (concentrate here, keep up, low priority, possible overkill), then within a quadrant
    by z(importance) − z(performance), the distance towards "important and poorly done" on standardised axes."""
    x = _table(attributes, "attributes")
    y = np.array(overall, dtype=np.float64)
    if y.ndim != 1 or y.size != x.shape[0]:
        raise InputError("overall", f"expected one overall score per respondent ({x.shape[0]}), got {y.size}.")
    k = x.shape[1]
    labels = list(names) if names is not None else [f"attribute {j + 1}" for j in range(k)]
    if len(labels) != k:
        raise InputError("names", f"expected {k} names, got {len(labels)}.")
    importance: list[float] = []
    defined: list[bool] = []
    performance: list[float] = []
    answers: list[int] = []
    for j in range(k):
        answered = ~np.isnan(x[:, j])
        if not answered.any():
            raise InputError(labels[j], "nobody answered this attribute.")
        r = pearson(x[:, j], y)
        importance.append(0.0 if r is None else r)
        defined.append(r is not None)
        performance.append(float(x[answered, j].mean()))
        answers.append(int(answered.sum()))
    imp, perf = np.array(importance), np.array(performance)
    i_line, p_line = float(imp.mean()), float(perf.mean())
    z_imp = (imp - i_line) / (imp.std() or 1.0)
    z_perf = (perf - p_line) / (perf.std() or 1.0)
    quadrants = [_quadrant(importance[j], performance[j], i_line, p_line) for j in range(k)]
    order = sorted(range(k), key=lambda j: (QUADRANT_ORDER[quadrants[j]], -(z_imp[j] - z_perf[j]), j))
    rank = {j: position + 1 for position, j in enumerate(order)}
    return IpaResult(
        attributes=tuple(
            IpaAttribute(labels[j], importance[j], performance[j], quadrants[j], rank[j], answers[j], defined[j])
            for j in range(k)
        ),
        importance_line=i_line,
        performance_line=p_line,
    )
