"""The forecast's arithmetic, numpy only (no Django): a harmonic regression of weekly counts with calendar
regressors, the seasonal-naive benchmark, and a rolling-origin backtest scored by MASE.

Why this method and not statsmodels' ETS: the weekly load of a Chinese workshop moves with the calendar more than
with its own recent past — the Spring Festival falls on a different week every year (late January to
mid-February), and the official 调休 swaps make one week six working days long and another three.  A regression
can take those as regressors; exponential smoothing cannot.  The whole model is one least-squares solve of a few
columns, so twelve backtest refits for six service types take milliseconds, and the product does not need scipy,
pandas and patsy (statsmodels' dependencies) for it.

The model, for week t (its Monday's date d_t):

    y_t = a + b·t + Σ_k (c_k·sin(2πk·τ_t) + s_k·cos(2πk·τ_t)) + Σ_j g_j·x_{t,j} + ε_t

with τ_t the fraction of the year at d_t (so the harmonics line up with the calendar from one year to the next),
K harmonic pairs as the history allows (none under a year, then one, then two) and the calendar columns x (the
week's working days, the weeks before, of and after the Spring Festival: see `features.py`).  The columns are
standardised and solved with a small ridge penalty, so a regressor the training weeks never exercised (no Spring
Festival yet) gets no weight instead of a wild one.  Forecasts are clipped at zero (counts).

MASE (Hyndman & Koehler 2006): the forecast's mean absolute error divided by the in-sample mean absolute error of
the seasonal-naive forecast (this week = the same week a year ago, m = 52), or of the naive forecast (m = 1) when the
training weeks hold less than `SEASONAL_MIN_WEEKS`.  Below 1 the forecast beats that simple rule; above 1 the rule
would have done better.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SEASON = 52  # weeks in a seasonal-naive year
YEAR_DAYS = 365.2425
#: A seasonal-naive scale needs a year plus a quarter of seasonal differences; less history: the naive scale.
SEASONAL_MIN_WEEKS = SEASON + 13
MIN_HISTORY_WEEKS = 26  # fewer complete weeks of orders: the product shows no forecast, and says why
MIN_FIT_WEEKS = 16  # fewer weeks than this: no model (the mean of what there is)
RIDGE = 1.0
Z80 = 1.2816  # the normal quantile of a two-sided 80 % interval

Forecaster = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def harmonic_count(weeks: int) -> int:
    """How many sine/cosine pairs a history of `weeks` supports: none under a year, one under 18 months, then two."""
    if weeks < SEASON:
        return 0
    if weeks < 78:
        return 1
    return 2


def _design(t: np.ndarray, year_fraction: np.ndarray, exog: np.ndarray, harmonics: int) -> np.ndarray:
    columns = [t.astype(float)]
    for k in range(1, harmonics + 1):
        angle = 2 * math.pi * k * year_fraction
        columns += [np.sin(angle), np.cos(angle)]
    if exog.size:
        columns += [exog[:, j] for j in range(exog.shape[1])]
    return np.column_stack(columns) if columns else np.zeros((len(t), 0))


def harmonic_forecast(y: np.ndarray, year_fraction: np.ndarray, exog: np.ndarray, horizon: int) -> np.ndarray:
    """Fit the model on `y` (len n) and forecast the next `horizon` weeks.

    `year_fraction` and `exog` cover the n history weeks and the `horizon` future ones (n + horizon rows);
    `exog` may have zero columns.  Returns `horizon` non-negative values.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n == 0:
        return np.zeros(horizon)
    if n < MIN_FIT_WEEKS:
        return np.full(horizon, max(float(y.mean()), 0.0))
    exog = np.asarray(exog, dtype=float).reshape(n + horizon, -1)
    t = np.arange(n + horizon, dtype=float)
    x_all = _design(t, np.asarray(year_fraction, dtype=float), exog, harmonic_count(n))
    x_train, x_future = x_all[:n], x_all[n:]
    mean = x_train.mean(axis=0)
    sd = x_train.std(axis=0)
    keep = sd > 1e-9  # a column constant over the training weeks carries nothing (and must not divide by 0)
    z_train = (x_train[:, keep] - mean[keep]) / sd[keep]
    z_future = (x_future[:, keep] - mean[keep]) / sd[keep]
    y_mean = y.mean()
    p = z_train.shape[1]
    beta = np.linalg.solve(z_train.T @ z_train + RIDGE * np.eye(p), z_train.T @ (y - y_mean)) if p else np.zeros(0)
    return np.clip(y_mean + z_future @ beta, 0.0, None)


def seasonal_period(train_weeks: int) -> int:
    """The seasonal-naive period used for a training length: 52 with enough history, else 1 (naive)."""
    return SEASON if train_weeks >= SEASONAL_MIN_WEEKS else 1


def naive_scale(train: np.ndarray, period: int) -> float | None:
    """The in-sample mean absolute error of the (seasonal) naive forecast y_t = y_{t−period}; None when there are
    no differences to average or they are all zero (a constant series: no scale to divide by)."""
    train = np.asarray(train, dtype=float)
    if len(train) <= period:
        return None
    scale = float(np.mean(np.abs(train[period:] - train[:-period])))
    return scale if scale > 0 else None


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, period: int) -> float | None:
    """MASE of one forecast: mean |actual − forecast| ÷ `naive_scale(train, period)`."""
    scale = naive_scale(train, period)
    if scale is None or len(actual) == 0:
        return None
    errors = np.abs(np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float))
    return float(errors.mean() / scale)


def seasonal_naive_forecast(train: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """y_{n+h} = y_{n+h−period·⌈h/period⌉}: the same week a year before (period 52) or the last week (period 1)."""
    train = np.asarray(train, dtype=float)
    n = len(train)
    out = np.empty(horizon)
    for h in range(1, horizon + 1):
        back = period * math.ceil(h / period)
        out[h - 1] = train[n + h - 1 - back] if n + h - 1 - back >= 0 else train[-1]
    return out


@dataclass
class Backtest:
    """The rolling-origin backtest of one series.

    `mase` is the mean over every (origin, horizon) pair of |error| ÷ that origin's in-sample naive scale;
    `benchmark_mase` is the same figure for the seasonal-naive (or naive) forecast itself, on the same pairs;
    `period` the seasonal-naive period used (52, or 1 when the history was short); `mae` the mean absolute error
    in the series' own unit; `rmse_by_horizon[h−1]` the
    root-mean-square error h weeks ahead (for the interval), None where no origin reached that far.
    """

    origins: int = 0
    pairs: int = 0
    mase: float | None = None
    benchmark_mase: float | None = None
    period: int = 1
    mae: float | None = None
    rmse_by_horizon: list[float | None] = field(default_factory=list)


def rolling_origin_backtest(
    y: np.ndarray,
    year_fraction: np.ndarray,
    exog: np.ndarray,
    *,
    origins: int = 12,
    horizon: int = 8,
    min_train: int = MIN_FIT_WEEKS,
    forecaster: Forecaster = harmonic_forecast,
) -> Backtest:
    """Refit at each of the last `origins` weeks (training on the weeks before it, at least `min_train`), forecast
    up to `horizon` weeks ahead, and score the forecasts of weeks that have happened (origin n−1 checks one week,
    origin n−8 all eight).  Each error is scaled by its own origin's in-sample naive scale (an origin without one
    is skipped)."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    exog = np.asarray(exog, dtype=float).reshape(len(year_fraction), -1)
    scaled: list[float] = []
    absolute: list[float] = []
    benchmark: list[float] = []
    squared: list[list[float]] = [[] for _ in range(horizon)]
    used = 0
    period_used = 1
    for origin in range(max(min_train, n - origins), n):
        train = y[:origin]
        period = seasonal_period(origin)
        scale = naive_scale(train, period)
        if scale is None:
            continue
        steps = min(horizon, n - origin)
        predicted = forecaster(train, year_fraction[: origin + steps], exog[: origin + steps], steps)
        naive = seasonal_naive_forecast(train, steps, period)
        actual = y[origin : origin + steps]
        used += 1
        period_used = period
        for h in range(steps):
            error = actual[h] - predicted[h]
            scaled.append(abs(error) / scale)
            absolute.append(abs(error))
            benchmark.append(abs(actual[h] - naive[h]) / scale)
            squared[h].append(error * error)
    return Backtest(
        origins=used,
        pairs=len(scaled),
        mase=float(np.mean(scaled)) if scaled else None,
        benchmark_mase=float(np.mean(benchmark)) if benchmark else None,
        period=period_used,
        mae=float(np.mean(absolute)) if absolute else None,
        rmse_by_horizon=[math.sqrt(sum(s) / len(s)) if s else None for s in squared],
    )


def interval(forecast: np.ndarray, backtest: Backtest, fallback_sd: float) -> tuple[list[float], list[float]]:
    """The 80 % interval: ± 1.28 × the backtest's RMSE at each horizon (the in-sample spread where no origin
    reached that far), not below zero."""
    low, high = [], []
    last: float | None = None
    for h, value in enumerate(forecast):
        rmse = backtest.rmse_by_horizon[h] if h < len(backtest.rmse_by_horizon) else None
        spread = rmse if rmse is not None else (last if last is not None else fallback_sd)
        last = spread
        low.append(max(float(value) - Z80 * spread, 0.0))
        high.append(float(value) + Z80 * spread)
    return low, high
