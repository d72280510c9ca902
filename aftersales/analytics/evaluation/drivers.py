"""Key drivers of overall satisfaction with relative-importance measures that handle correlated items (issue 13 §5).

Beside each item's plain correlation with the outcome:

- Johnson's relative weights (Johnson 2000, Multivariate Behavioral Research 35(1)): regress the outcome on the
  orthogonal counterpart Z = X·R_xx^{-1/2} of the items and share each component back by the squared loadings;
  ε_j = Σ_k λ_jk²·β_k² with Λ = R_xx^{1/2}, β = Λ^{-1}·r_xy.  The ε_j add up to R².
- Shapley decomposition of R² (LMG; Lindeman, Merenda & Gold 1980; Grömping 2007): each item's average gain in R²
  over all orders of entry.  Exact (all 2^k subsets) up to ``SHAPLEY_MAX_ITEMS`` items.

Both are computed from the correlation matrix of the complete cases (rows with an answer to every item and to the
outcome).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from aftersales.analytics.evaluation.parsing import InputError

FloatArray = NDArray[np.float64]

SHAPLEY_MAX_ITEMS = 12  # 4 096 subsets, a few milliseconds; beyond it only the relative weights are given
# Too small to trust below max(50, 10 per item): about ten observations per predictor is the usual floor for a stable
# regression (the rule of thumb in Harrell, Regression Modeling Strategies), and with n = 50 a correlation's standard
# error is still about 1/√50 ≈ 0.14, so items whose importance differs by less than that cannot be told apart.
MIN_SAMPLE = 50
MIN_PER_ITEM = 10


def minimum_sample(items: int) -> int:
    return max(MIN_SAMPLE, MIN_PER_ITEM * items)


@dataclass(frozen=True)
class Driver:
    name: str
    correlation: float  # Pearson r with the outcome
    relative_weight: float  # Johnson's ε_j (adds up to R² over the items)
    relative_share: float  # ε_j / R²
    shapley: float | None  # LMG share of R² (adds up to R²); None above SHAPLEY_MAX_ITEMS
    rank: int  # by relative weight, 1 = strongest driver


@dataclass(frozen=True)
class DriverResult:
    drivers: tuple[Driver, ...]  # in input order
    r_squared: float
    n: int  # complete cases used
    minimum_n: int
    too_small: bool  # n < minimum_n: show the figures with a warning, do not act on small differences


def _r_squared(rxx: FloatArray, rxy: FloatArray, subset: tuple[int, ...]) -> float:
    if not subset:
        return 0.0
    index = list(subset)
    r_s = rxy[index]
    beta = np.linalg.pinv(rxx[np.ix_(index, index)]) @ r_s  # pinv: perfectly collinear items do not break it
    return float(r_s @ beta)


def relative_weights(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    values, vectors = np.linalg.eigh(rxx)
    values = np.clip(values, 0.0, None)
    lam = vectors @ np.diag(np.sqrt(values)) @ vectors.T  # R_xx^{1/2}: loadings of X on the orthogonal Z
    beta = np.linalg.pinv(lam) @ rxy  # Z's regression weights on y
    return np.asarray((lam**2) @ (beta**2), dtype=np.float64)


def shapley_r2(rxx: FloatArray, rxy: FloatArray) -> FloatArray:
    k = rxy.size
    cache: dict[tuple[int, ...], float] = {}

    def r2(subset: tuple[int, ...]) -> float:
        if subset not in cache:
            cache[subset] = _r_squared(rxx, rxy, subset)
        return cache[subset]

    values = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            factor = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            for subset in combinations(others, size):
                values[j] += factor * (r2(tuple(sorted((*subset, j)))) - r2(subset))
    return values


def key_drivers(
    items: Sequence[Sequence[float]] | FloatArray,
    outcome: Sequence[float] | FloatArray,
    names: Sequence[str] | None = None,
) -> DriverResult:
    """``items``: respondents × items (NaN = not answered); ``outcome``: overall satisfaction per respondent."""
    x = np.array(items, dtype=np.float64)
    y = np.array(outcome, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.size:
        raise InputError("items", "expected one row of item scores per respondent and one outcome per respondent.")
    k = x.shape[1]
    labels = list(names) if names is not None else [f"item {j + 1}" for j in range(k)]
    if len(labels) != k:
        raise InputError("names", f"expected {k} names, got {len(labels)}.")
    complete = ~np.isnan(x).any(axis=1) & ~np.isnan(y)
    x, y = x[complete], y[complete]
    n = int(complete.sum())
    if n < 3:
        raise InputError("items", f"only {n} complete answers; at least 3 are needed to compute anything.")
    for j in range(k):
        if np.ptp(x[:, j]) == 0:
            raise InputError(labels[j], "every answer is the same; a constant item cannot drive anything.")
    if np.ptp(y) == 0:
        raise InputError("outcome", "every overall score is the same; there is nothing to explain.")
    corr = np.atleast_2d(np.asarray(np.corrcoef(np.column_stack([x, y]), rowvar=False), dtype=np.float64))
    rxx, rxy = corr[:k, :k], corr[:k, k]
    r2 = _r_squared(rxx, rxy, tuple(range(k)))
    eps = relative_weights(rxx, rxy)
    shapley = shapley_r2(rxx, rxy) if k <= SHAPLEY_MAX_ITEMS else None
    order = sorted(range(k), key=lambda j: (-eps[j], j))
    rank = {j: position + 1 for position, j in enumerate(order)}
    minimum_n = minimum_sample(k)
    return DriverResult(
        drivers=tuple(
            Driver(
                name=labels[j],
                correlation=float(rxy[j]),
                relative_weight=float(eps[j]),
                relative_share=float(eps[j] / r2) if r2 > 0 else 0.0,
                shapley=None if shapley is None else float(shapley[j]),
                rank=rank[j],
            )
            for j in range(k)
        ),
        r_squared=r2,
        n=n,
        minimum_n=minimum_n,
        too_small=n < minimum_n,
    )
