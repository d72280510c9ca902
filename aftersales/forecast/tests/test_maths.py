"""The forecast's arithmetic: MASE and the rolling-origin backtest by hand on tiny series, the seasonal-naive
rule, and the harmonic regression on a synthetic weekly series with a season, the Spring Festival and 调休 weeks."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from aftersales.forecast import features, maths


def test_mase_by_hand():
    # In-sample naive errors of 2, 4, 6, 8 are 2, 2, 2: scale 2.  Errors |10−9| = 1 and |12−14| = 2: mean 1.5.
    assert maths.mase(np.array([10, 12]), np.array([9, 14]), np.array([2, 4, 6, 8]), 1) == pytest.approx(0.75)


def test_seasonal_scale_by_hand():
    # Period 2: |2−1| = 1 and |5−3| = 2, mean 1.5.
    assert maths.naive_scale(np.array([1, 3, 2, 5]), 2) == pytest.approx(1.5)
    assert maths.naive_scale(np.array([4, 4, 4]), 1) is None  # a constant series has no scale
    assert maths.naive_scale(np.array([4]), 1) is None


def test_seasonal_naive_repeats_the_last_season():
    assert list(maths.seasonal_naive_forecast(np.array([1, 2, 3, 4, 5, 6]), 4, 3)) == [4, 5, 6, 4]
    assert list(maths.seasonal_naive_forecast(np.array([1, 2, 7]), 3, 1)) == [7, 7, 7]


def test_the_seasonal_period_needs_a_year_and_a_quarter():
    assert maths.seasonal_period(64) == 1
    assert maths.seasonal_period(65) == 52


def _mean_forecaster(train, _fractions, _exog, horizon):
    return np.full(horizon, float(np.mean(train)))


def test_rolling_origin_backtest_by_hand():
    """y = 2, 4, …, 12; the last two origins, up to two weeks ahead, a forecaster that repeats the training mean.
    Origin 4: train 2 4 6 8 (naive scale 2), forecast 5 5 for 10 12 → |e| 5 7 → 2.5 3.5.
    Origin 5: train 2 … 10 (scale 2), forecast 6 for 12 → |e| 6 → 3.
    MASE = (2.5 + 3.5 + 3) / 3 = 3.  The naive rule (last value: 8 8, then 10) errs 2 4 and 2: (1 + 2 + 1) / 3."""
    y = np.array([2, 4, 6, 8, 10, 12], dtype=float)
    result = maths.rolling_origin_backtest(
        y, np.zeros(6), np.zeros((6, 0)), origins=2, horizon=2, min_train=4, forecaster=_mean_forecaster
    )
    assert result.origins == 2
    assert result.pairs == 3
    assert result.mase == pytest.approx(3.0)
    assert result.benchmark_mase == pytest.approx(4 / 3)
    assert result.mae == pytest.approx(6.0)
    assert result.period == 1
    assert result.rmse_by_horizon == [pytest.approx(math.sqrt((25 + 36) / 2)), pytest.approx(7.0)]


def test_an_origin_without_a_scale_is_skipped():
    y = np.array([5, 5, 5, 5, 5, 9], dtype=float)
    result = maths.rolling_origin_backtest(
        y, np.zeros(6), np.zeros((6, 0)), origins=2, horizon=2, min_train=4, forecaster=_mean_forecaster
    )
    # Origin 4 trains on 5 5 5 5 (no naive error to divide by); origin 5 on 5 5 5 5 5 too.
    assert result.origins == 0 and result.mase is None


def test_the_interval_widens_with_the_backtest_errors_and_stays_above_zero():
    backtest = maths.Backtest(rmse_by_horizon=[1.0, 2.0, None])
    low, high = maths.interval(np.array([10.0, 1.0, 5.0]), backtest, fallback_sd=9.0)
    assert high[0] - low[0] == pytest.approx(2 * maths.Z80 * 1.0)
    assert low[1] == 0.0 and high[1] == pytest.approx(1.0 + maths.Z80 * 2.0)
    assert high[2] - low[2] == pytest.approx(2 * maths.Z80 * 2.0)  # no origin reached 3 weeks: the last spread


def _synthetic(mondays: list[dt.date], seed: int = 3) -> np.ndarray:
    """A workshop's weekly orders: 40 a week, growing, a summer peak, 6 fewer per missing working day, half the
    orders in the Spring Festival's week and a catch-up after it, and noise."""
    rng = np.random.default_rng(seed)
    fractions, exog = features.calendar_matrix(mondays)
    t = np.arange(len(mondays))
    season = 8 * np.sin(2 * np.pi * (fractions - 0.3))
    calendar = 6 * (exog[:, 0] - 5) - 20 * exog[:, 2] + 12 * exog[:, 3]
    return np.clip(40 + 0.05 * t + season + calendar + rng.normal(0, 1.5, len(t)), 0, None)


def test_the_harmonic_regression_forecasts_a_seasonal_series_through_the_spring_festival():
    first = dt.date(2023, 1, 2)  # a Monday; three years of history, then eight weeks around the 2026 festival
    mondays = [first + dt.timedelta(days=7 * i) for i in range(170)]
    y = _synthetic(mondays)
    history, horizon = mondays.index(dt.date(2026, 1, 19)), 8
    assert history == 159
    fractions, exog = features.calendar_matrix(mondays[: history + horizon])
    forecast = maths.harmonic_forecast(y[:history], fractions, exog, horizon)
    actual = y[history : history + horizon]
    assert np.mean(np.abs(forecast - actual)) < 3.0
    holiday_week = mondays.index(dt.date(2026, 2, 16)) - history  # 2026-02-17 is the festival
    make_up_week = mondays.index(dt.date(2026, 2, 9)) - history  # six working days (Saturday the 14th worked)
    assert forecast[holiday_week] < forecast[make_up_week] - 30  # the dip is forecast, and the busier week before
    naive = maths.seasonal_naive_forecast(y[:history], horizon, 52)
    assert np.mean(np.abs(forecast - actual)) < np.mean(np.abs(naive - actual)) / 2  # 2025's festival was in January
    backtest = maths.rolling_origin_backtest(y[:history], fractions[:history], exog[:history])
    assert backtest.period == 52 and backtest.origins == 12 and backtest.pairs == 68  # 8+8+8+8+8+7+6+5+4+3+2+1
    assert backtest.mase is not None and backtest.benchmark_mase is not None
    assert backtest.mase < 0.3 and backtest.mase < backtest.benchmark_mase / 1.5


def test_short_histories_fall_back_gracefully():
    assert list(maths.harmonic_forecast(np.array([]), np.zeros(2), np.zeros((2, 0)), 2)) == [0.0, 0.0]
    assert list(maths.harmonic_forecast(np.array([2.0, 4.0]), np.zeros(4), np.zeros((4, 0)), 2)) == [3.0, 3.0]
    assert maths.harmonic_count(51) == 0 and maths.harmonic_count(60) == 1 and maths.harmonic_count(104) == 2


@pytest.mark.parametrize(
    ("monday", "row"),
    [
        # 2026: the festival on 17 February, holiday 15–23 February, make-up working Saturdays 14 and 28 February.
        ("2026-02-09", [6, 1, 0, 0]),
        ("2026-02-16", [0, 1 / 7, 6 / 7, 0]),
        ("2026-02-23", [5, 0, 1 / 7, 6 / 7]),
        # National Day 2025: 1–8 October off, Saturday 11 October worked.
        ("2025-09-29", [2, 0, 0, 0]),
        ("2025-10-06", [3, 0, 0, 0]),
        ("2026-06-29", [5, 0, 0, 0]),
    ],
)
def test_calendar_columns(monday, row):
    assert features.week_row(dt.date.fromisoformat(monday)) == pytest.approx(row)
