"""Fuzzy comprehensive evaluation (模糊综合评价, SPEC §8).

R: one row per criterion, one column per grade (best grade first), r_ij = share of answers in grade j.
B = W∘R with the weighted-average operator M(·,⊕) (b_j = Σ_i w_i·r_ij) or max–min M(∧,∨) (b_j = max_i min(w_i, r_ij)),
normalised to add up to 1; the grade is the one of maximum membership (ties reported), the score Σ_j b_j·v_j from grade
values v, and each criterion's contribution to the score adds up to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from aftersales.analytics.evaluation.parsing import InputError

Operator = Literal["weighted_average", "max_min"]
OPERATORS: tuple[Operator, ...] = ("weighted_average", "max_min")
FloatArray = NDArray[np.float64]

# SPEC §8's example grade values for five grades, best first.
DEFAULT_GRADE_VALUES_5 = (100.0, 80.0, 60.0, 40.0, 20.0)
TIE_TOLERANCE = 1e-9


def membership_from_counts(counts: Sequence[Sequence[float]] | FloatArray, where: str = "membership") -> FloatArray:
    """Each row divided by its total: answer counts per grade (or shares) → membership degrees."""
    array = np.array(counts, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(where, "expected a matrix: one row per criterion, one column per grade.")
    for (i, j), value in np.ndenumerate(array):
        if not np.isfinite(value) or value < 0:
            raise InputError(f"{where}[{i + 1}][{j + 1}]", f"must be a count or share ≥ 0, got {value:g}.")
    totals = array.sum(axis=1)
    for i, total in enumerate(totals):
        if total <= 0:
            raise InputError(f"{where}[{i + 1}]", "has no answers (all zero); a criterion needs at least one.")
    return np.asarray(array / totals[:, None], dtype=np.float64)


def _weights(weights: Sequence[float] | FloatArray, n: int) -> FloatArray:
    w = np.array(weights, dtype=np.float64)
    if w.ndim != 1 or w.size != n:
        raise InputError("weights", f"expected {n} weights (one per membership row), got {w.size}.")
    for i, value in enumerate(w):
        if not np.isfinite(value) or value < 0:
            raise InputError(f"weights[{i + 1}]", f"must be ≥ 0, got {value:g}.")
    if w.sum() <= 0:
        raise InputError("weights", "all weights are zero.")
    return np.asarray(w / w.sum(), dtype=np.float64)  # weights not adding up to 1 are scaled to do so


@dataclass(frozen=True)
class FuzzyResult:
    vector: tuple[float, ...]  # B normalised to add up to 1
    raw_vector: tuple[float, ...]  # B before normalisation
    grade_index: int  # 0-based grade of maximum membership (the first, i.e. best, of a tie)
    ties: tuple[int, ...]  # every grade sharing the maximum when there is a tie, else ()
    score: float | None  # Σ_j b_j·v_j, None without grade values
    contributions: tuple[float, ...] | None  # one per criterion; they add up to the score
    operator: Operator
    weights: tuple[float, ...]  # as used (scaled to add up to 1)
    membership: tuple[tuple[float, ...], ...]  # as used (rows normalised)

    def as_dict(self) -> dict[str, Any]:
        return {
            "vector": list(self.vector),
            "grade_index": self.grade_index,
            "ties": list(self.ties),
            "score": self.score,
            "contributions": None if self.contributions is None else list(self.contributions),
            "operator": self.operator,
        }


def compose(weights: FloatArray, membership: FloatArray, operator: Operator) -> FloatArray:
    if operator == "weighted_average":
        return np.asarray(weights @ membership, dtype=np.float64)
    if operator == "max_min":
        return np.asarray(np.max(np.minimum(weights[:, None], membership), axis=0), dtype=np.float64)
    raise InputError("operator", f"unknown operator {operator!r}; one of {', '.join(OPERATORS)}.")


def _contributions(
    weights: FloatArray, membership: FloatArray, operator: Operator, values: FloatArray, total: float
) -> FloatArray:
    n, m = membership.shape
    if operator == "weighted_average":
        # score = Σ_j (Σ_i w_i r_ij) v_j / Σb = Σ_i w_i·(r_i·v) / Σb: criterion i's share is w_i·(r_i·v)/Σb.
        return np.asarray(weights * (membership @ values) / total, dtype=np.float64)
    # max–min: b_j is decided by the criterion (or criteria) where min(w_i, r_ij) is largest; that criterion is
    # credited with b_j·v_j/Σb (split evenly on a tie), so the credits still add up to the score.
    credit = np.zeros(n)
    table = np.minimum(weights[:, None], membership)
    for j in range(m):
        column = table[:, j]
        if column.max() <= 0:
            continue
        deciders = np.flatnonzero(np.abs(column - column.max()) <= TIE_TOLERANCE)
        credit[deciders] += column.max() * values[j] / total / deciders.size
    return credit


def evaluate(
    weights: Sequence[float] | FloatArray,
    membership: Sequence[Sequence[float]] | FloatArray,
    *,
    operator: Operator = "weighted_average",
    grade_values: Sequence[float] | None = None,
) -> FuzzyResult:
    """One-level evaluation.  Membership rows may be counts; they are normalised per row."""
    r = membership_from_counts(membership)
    w = _weights(weights, r.shape[0])
    b = compose(w, r, operator)
    total = float(b.sum())
    if total <= 0:
        raise InputError("membership", "the evaluation vector is all zero.")
    vector = b / total
    top = float(vector.max())
    tied = tuple(int(j) for j in np.flatnonzero(np.abs(vector - top) <= TIE_TOLERANCE))
    score: float | None = None
    contributions: tuple[float, ...] | None = None
    if grade_values is not None:
        values = np.array(grade_values, dtype=np.float64)
        if values.ndim != 1 or values.size != r.shape[1]:
            raise InputError("grade_values", f"expected {r.shape[1]} grade values (one per grade), got {values.size}.")
        score = float(vector @ values)
        contributions = tuple(float(c) for c in _contributions(w, r, operator, values, total))
    return FuzzyResult(
        vector=tuple(float(v) for v in vector),
        raw_vector=tuple(float(v) for v in b),
        grade_index=tied[0],
        ties=tied if len(tied) > 1 else (),
        score=score,
        contributions=contributions,
        operator=operator,
        weights=tuple(float(x) for x in w),
        membership=tuple(tuple(float(x) for x in row) for row in r),
    )


@dataclass(frozen=True)
class TwoLevelResult:
    criteria: tuple[FuzzyResult, ...]  # each criterion evaluated from its indicators
    overall: FuzzyResult  # the criteria's vectors as the membership matrix of the top level
    indicator_contributions: tuple[tuple[float, ...], ...] | None  # weighted average only; all add up to the score


def evaluate_two_level(
    criteria_weights: Sequence[float],
    groups: Sequence[tuple[Sequence[float], Sequence[Sequence[float]]]],
    *,
    operator: Operator = "weighted_average",
    grade_values: Sequence[float] | None = None,
) -> TwoLevelResult:
    """Indicators → criteria → overall: each group (indicator weights, indicator membership) gives its criterion's
    normalised vector B_c; the B_c form the top-level membership matrix.

    With the weighted-average operator each indicator's contribution is w_c·(its contribution within c), and these
    add up to the overall score (max–min credits are only given per criterion)."""
    if len(groups) != len(criteria_weights):
        raise InputError("groups", f"{len(criteria_weights)} criteria but {len(groups)} indicator groups.")
    criteria = tuple(evaluate(w, r, operator=operator, grade_values=grade_values) for w, r in groups)
    overall = evaluate(criteria_weights, [c.vector for c in criteria], operator=operator, grade_values=grade_values)
    indicator: tuple[tuple[float, ...], ...] | None = None
    if operator == "weighted_average" and grade_values is not None:
        indicator = tuple(
            tuple(wc * x for x in (c.contributions or ())) for wc, c in zip(overall.weights, criteria, strict=True)
        )
    return TwoLevelResult(criteria=criteria, overall=overall, indicator_contributions=indicator)
