"""Analytic hierarchy process (SPEC §8): weights from a reciprocal pairwise-comparison matrix, consistency, the
comparisons behind an inconsistency, group AHP, sensitivity of a ranking to a weight, global weights.

Every result names its weighting method and its RI table, because AHP tools differ on both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from aftersales.analytics.evaluation.parsing import InputError

Method = Literal["eigenvector", "geometric"]
METHODS: tuple[Method, ...] = ("eigenvector", "geometric")
FloatArray = NDArray[np.float64]

CONSISTENCY_LIMIT = 0.10  # CR ≥ 0.10 is refused (Saaty's rule, SPEC §8)
MAX_ORDER = 15  # the RI tables stop at n = 15
# a_ij · a_ji may differ from 1 by this much (relative): 1/8 typed as 0.13 passes (1.04), 3 for 1/3 does not (9).
RECIPROCAL_TOLERANCE = 0.05
DIAGONAL_TOLERANCE = 1e-9

# Random consistency index RI for n = 1 … 15 (mean CI of random reciprocal matrices on the 1–9 scale).
RI_TABLES: dict[str, tuple[float, ...]] = {
    # SPEC §8's default: the table of Chinese textbooks (Saaty's 1980 values extended to n = 15).
    "chinese_textbook": (0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.54, 1.56, 1.57, 1.59),
    # Saaty's later table (Theory and Applications of the Analytic Network Process, 2005; Saaty & Tran 2007).
    "saaty_2005": (0, 0, 0.52, 0.89, 1.11, 1.25, 1.35, 1.40, 1.45, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59),
    # Donegan & Dodd, "A note on Saaty's random indexes", Math. Comput. Modelling 15(10), 1991.  UNVERIFIED: typed
    # from memory; not yet checked against the paper or a table quoting it (see docs/evaluation.md).
    "donegan_dodd": (
        0,
        0,
        0.4914,
        0.8286,
        1.0591,
        1.1797,
        1.2519,
        1.3171,
        1.3733,
        1.4055,
        1.4213,
        1.4497,
        1.4643,
        1.4822,
        1.4969,
    ),
}
DEFAULT_RI_TABLE = "chinese_textbook"


class MatrixError(InputError):
    """A matrix that is not a valid reciprocal comparison matrix; ``cell`` is the (row, column), 0-based, if any."""

    def __init__(self, message: str, cell: tuple[int, int] | None = None) -> None:
        where = "matrix" if cell is None else f"matrix[{cell[0] + 1}][{cell[1] + 1}]"
        super().__init__(where, message)
        self.cell = cell


@dataclass(frozen=True)
class AhpResult:
    weights: tuple[float, ...]
    lambda_max: float
    ci: float
    cr: float
    consistent: bool
    n: int
    method: Method
    ri_table: str
    ri: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"weights": list(self.weights)}


@dataclass(frozen=True)
class InconsistentPair:
    """One comparison (row i against column j, 0-based, i < j) and how far it is from the derived weights."""

    row: int
    column: int
    given: float  # a_ij as judged
    consistent_value: float  # w_i / w_j: the judgement that would agree with the weights
    contribution: float  # (ε + 1/ε − 2)/n with ε = a_ij·w_j/w_i: this pair's part of λmax − n
    share: float  # contribution / Σ contributions (0 when the matrix is consistent)


def validate(matrix: Sequence[Sequence[float]] | FloatArray, *, max_order: int = MAX_ORDER) -> FloatArray:
    """The matrix as a float array, or a MatrixError naming what is wrong and where (rows/columns from 1)."""
    try:
        array = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MatrixError("not a rectangular matrix of numbers.") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        shape = "×".join(str(s) for s in array.shape) if array.ndim == 2 else f"{array.ndim}-dimensional"
        raise MatrixError(f"must be square (n×n), got {shape}.")
    n = array.shape[0]
    if n > max_order:
        raise MatrixError(f"at most {max_order} items can be compared (the RI tables stop there), got {n}.")
    for i in range(n):
        for j in range(n):
            value = array[i, j]
            if not math.isfinite(value) or value <= 0:
                raise MatrixError(f"must be a positive number, got {value:g}.", (i, j))
    for i in range(n):
        if abs(array[i, i] - 1) > DIAGONAL_TOLERANCE:
            raise MatrixError(f"the diagonal must be 1 (an item compared with itself), got {array[i, i]:g}.", (i, i))
    for i in range(n):
        for j in range(i + 1, n):
            if abs(array[i, j] * array[j, i] - 1) > RECIPROCAL_TOLERANCE:
                raise MatrixError(
                    f"not reciprocal: a{i + 1}{j + 1} = {array[i, j]:g} but a{j + 1}{i + 1} = {array[j, i]:g}; "
                    f"a{j + 1}{i + 1} should be 1/{array[i, j]:g} = {1 / array[i, j]:.4g}.",
                    (j, i),
                )
    return array


def random_index(n: int, table: str = DEFAULT_RI_TABLE) -> float:
    if table not in RI_TABLES:
        raise InputError("ri_table", f"unknown table {table!r}; one of {', '.join(RI_TABLES)}.")
    if not 1 <= n <= len(RI_TABLES[table]):
        raise InputError("n", f"the RI table {table} covers n = 1 … {len(RI_TABLES[table])}, got {n}.")
    return float(RI_TABLES[table][n - 1])


def _eigenvector(array: FloatArray) -> tuple[FloatArray, float]:
    values, vectors = np.linalg.eig(array)
    k = int(np.argmax(values.real))  # Perron root: real, positive, largest for a positive matrix
    vector = np.abs(vectors[:, k].real)
    return vector / vector.sum(), float(values[k].real)


def _geometric(array: FloatArray) -> tuple[FloatArray, float]:
    rows = np.exp(np.log(array).mean(axis=1))
    weights = rows / rows.sum()
    # λmax estimated as the mean of (A·w)_i / w_i, the usual companion of approximate weights.
    return weights, float(np.mean(array @ weights / weights))


def weights_of(array: FloatArray, method: Method) -> tuple[FloatArray, float]:
    if method == "eigenvector":
        return _eigenvector(array)
    if method == "geometric":
        return _geometric(array)
    raise InputError("method", f"unknown method {method!r}; one of {', '.join(METHODS)}.")


def analyse(
    matrix: Sequence[Sequence[float]] | FloatArray,
    *,
    method: Method = "eigenvector",
    ri_table: str = DEFAULT_RI_TABLE,
) -> AhpResult:
    """Weights, λmax, CI = (λmax − n)/(n − 1), CR = CI/RI and whether CR < 0.10."""
    array = validate(matrix)
    n = array.shape[0]
    ri = random_index(n, ri_table)
    weights, lambda_max = weights_of(array, method)
    if n <= 2:  # a 1×1 or reciprocal 2×2 matrix is always consistent
        ci = cr = 0.0
        lambda_max = float(n)
    else:
        # λmax ≥ n for a reciprocal matrix; a negative CI is rounding (or the reciprocal tolerance): 0.
        ci = max(0.0, (lambda_max - n) / (n - 1))
        cr = ci / ri
    return AhpResult(
        weights=tuple(float(w) for w in weights),
        lambda_max=lambda_max,
        ci=ci,
        cr=cr,
        consistent=cr < CONSISTENCY_LIMIT,
        n=n,
        method=method,
        ri_table=ri_table,
        ri=ri,
    )


def inconsistent_pairs(
    matrix: Sequence[Sequence[float]] | FloatArray,
    weights: Sequence[float] | None = None,
    *,
    top: int | None = 3,
) -> list[InconsistentPair]:
    """The comparisons that contribute most to the inconsistency, worst first.

    With ε_ij = a_ij·w_j/w_i, the principal eigenvalue satisfies λmax − n = (1/n)·Σ_{i<j} (ε_ij + 1/ε_ij − 2)
    (sum the rows of A·w = λmax·w divided by w), so each pair's term is its exact share of λmax − n for
    eigenvector weights (a good guide for geometric ones).  The consistent value of a_ij is w_i/w_j."""
    array = validate(matrix)
    n = array.shape[0]
    w = _eigenvector(array)[0] if weights is None else np.array(weights, dtype=np.float64)
    pairs: list[tuple[int, int, float]] = []
    for i in range(n):
        for j in range(i + 1, n):
            epsilon = array[i, j] * w[j] / w[i]
            pairs.append((i, j, max(0.0, float(epsilon + 1 / epsilon - 2)) / n))
    total = sum(p[2] for p in pairs)
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    chosen = pairs if top is None else pairs[:top]
    return [
        InconsistentPair(
            row=i,
            column=j,
            given=float(array[i, j]),
            consistent_value=float(w[i] / w[j]),
            contribution=c,
            share=c / total if total > 0 else 0.0,
        )
        for i, j, c in chosen
    ]


def consistent_matrix(weights: Sequence[float]) -> FloatArray:
    """a_ij = w_i / w_j: the perfectly consistent matrix of a weight vector."""
    w = np.array(weights, dtype=np.float64)
    return np.asarray(w[:, None] / w[None, :], dtype=np.float64)


# --- group AHP -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupResult:
    experts: tuple[AhpResult, ...]  # each expert's own result (CR shown per expert)
    included: tuple[int, ...]  # experts (0-based) whose matrices were aggregated
    excluded: tuple[int, ...]  # experts left out as inconsistent
    matrix: tuple[tuple[float, ...], ...]  # the element-wise geometric mean of the included matrices
    aggregate: AhpResult

    def as_dict(self) -> dict[str, Any]:
        return {
            "experts": [e.as_dict() for e in self.experts],
            "included": list(self.included),
            "excluded": list(self.excluded),
            "matrix": [list(row) for row in self.matrix],
            "aggregate": self.aggregate.as_dict(),
        }


def geometric_mean_matrix(matrices: Sequence[Sequence[Sequence[float]] | FloatArray]) -> FloatArray:
    """Element-wise geometric mean; it keeps reciprocity (Aczél & Saaty 1983)."""
    if not matrices:
        raise InputError("matrices", "at least one expert's matrix is needed.")
    arrays = [validate(m) for m in matrices]
    if len({a.shape for a in arrays}) != 1:
        raise InputError("matrices", "every expert must compare the same items (matrices of one size).")
    return np.asarray(np.exp(np.mean([np.log(a) for a in arrays], axis=0)), dtype=np.float64)


def group(
    matrices: Sequence[Sequence[Sequence[float]] | FloatArray],
    *,
    method: Method = "eigenvector",
    ri_table: str = DEFAULT_RI_TABLE,
    exclude_inconsistent: bool = False,
) -> GroupResult:
    experts = tuple(analyse(m, method=method, ri_table=ri_table) for m in matrices)
    geometric_mean_matrix(matrices)  # validates sizes before anything is left out
    included = tuple(i for i, e in enumerate(experts) if e.consistent or not exclude_inconsistent)
    excluded = tuple(i for i in range(len(experts)) if i not in included)
    if not included:
        raise InputError("matrices", "every expert's matrix is inconsistent (CR ≥ 0.10); nothing left to aggregate.")
    combined = geometric_mean_matrix([matrices[i] for i in included])
    return GroupResult(
        experts=experts,
        included=included,
        excluded=excluded,
        matrix=tuple(tuple(float(v) for v in row) for row in combined),
        aggregate=analyse(combined, method=method, ri_table=ri_table),
    )


# --- global weights through a hierarchy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HierarchyWeights:
    criteria: tuple[float, ...]
    local: tuple[tuple[float, ...], ...]  # indicator weights within each criterion
    global_: tuple[tuple[float, ...], ...]  # criterion weight × local weight; all of them add up to 1
    cr: float | None = None  # combined consistency Σ w_c·CI_c / Σ w_c·RI_c, when the indicator results are known


def global_weights(
    criteria: Sequence[float] | AhpResult,
    indicators: Sequence[Sequence[float] | AhpResult],
) -> HierarchyWeights:
    """Global weight of indicator k under criterion c = w_c · w_k|c (criteria → indicators).

    Given AhpResults for the indicator matrices, also the hierarchy's combined CR
    Σ w_c·CI_c / Σ w_c·RI_c (the total-ranking consistency test of Chinese textbooks); criteria with one or two
    indicators contribute 0 to both sums."""
    top = criteria.weights if isinstance(criteria, AhpResult) else tuple(float(w) for w in criteria)
    if len(top) != len(indicators):
        raise InputError("indicators", f"{len(top)} criteria but {len(indicators)} indicator groups.")
    local = tuple(i.weights if isinstance(i, AhpResult) else tuple(float(w) for w in i) for i in indicators)
    cr: float | None = None
    if all(isinstance(i, AhpResult) for i in indicators):
        results = [i for i in indicators if isinstance(i, AhpResult)]
        ci_sum = sum(w * r.ci for w, r in zip(top, results, strict=True))
        ri_sum = sum(w * r.ri for w, r in zip(top, results, strict=True))
        cr = ci_sum / ri_sum if ri_sum > 0 else 0.0
    return HierarchyWeights(
        criteria=top,
        local=local,
        global_=tuple(tuple(wc * wk for wk in group_) for wc, group_ in zip(top, local, strict=True)),
        cr=cr,
    )


# --- sensitivity ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sensitivity:
    """How far criterion ``criterion``'s weight may move (the others rescaled in proportion) before the ranking of
    the alternatives changes.  ``lower``/``upper`` bound the weights that keep today's ranking; ``*_swap`` names the
    pair of alternatives (0-based) that trade places there, or None when no change happens within [0, 1]."""

    criterion: int
    weight: float
    lower: float
    upper: float
    lower_swap: tuple[int, int] | None
    upper_swap: tuple[int, int] | None

    @property
    def room_down(self) -> float:
        return self.weight - self.lower

    @property
    def room_up(self) -> float:
        return self.upper - self.weight


def _scores_at(weights: FloatArray, scores: FloatArray, c: int, t: float) -> FloatArray:
    others = 1.0 - weights[c]
    w = weights * ((1.0 - t) / others) if others > 0 else np.full_like(weights, (1.0 - t) / (len(weights) - 1))
    w[c] = t
    return np.asarray(scores @ w, dtype=np.float64)


def sensitivity(weights: Sequence[float], scores: Sequence[Sequence[float]]) -> list[Sensitivity]:
    """For each criterion: the interval of its weight within which the ranking by Σ_c w_c·s_ac stays the same.

    ``scores[a][c]`` is alternative a's priority (or score) under criterion c.  Moving w_c to t and rescaling the
    others by (1 − t)/(1 − w_c) makes every alternative's total linear in t, so each pair's crossing point is
    exact; pairs tied today are ignored (they have no order to lose)."""
    w = np.array(weights, dtype=np.float64)
    s = np.array(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != w.size:
        raise InputError("scores", f"expected one row per alternative with {w.size} criterion scores.")
    if w.size < 2:
        raise InputError("weights", "sensitivity needs at least two criteria.")
    results: list[Sensitivity] = []
    for c in range(w.size):
        at0, at1 = _scores_at(w, s, c, 0.0), _scores_at(w, s, c, 1.0)
        now = _scores_at(w, s, c, float(w[c]))
        lower, upper = 0.0, 1.0
        lower_swap: tuple[int, int] | None = None
        upper_swap: tuple[int, int] | None = None
        for a in range(s.shape[0]):
            for b in range(a + 1, s.shape[0]):
                gap_now = now[a] - now[b]
                if abs(gap_now) < 1e-12:
                    continue
                d0, d1 = at0[a] - at0[b], at1[a] - at1[b]  # the gap is d0 + (d1 − d0)·t
                if abs(d1 - d0) < 1e-15:
                    continue
                t = d0 / (d0 - d1)
                if not 0.0 <= t <= 1.0:
                    continue
                pair = (a, b) if gap_now > 0 else (b, a)  # the first is ahead today
                if t < w[c] and t >= lower:
                    lower, lower_swap = t, pair
                elif t > w[c] and t <= upper:
                    upper, upper_swap = t, pair
        results.append(Sensitivity(c, float(w[c]), float(lower), float(upper), lower_swap, upper_swap))
    return results
