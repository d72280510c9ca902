"""Writes of the forecast app: compute a store's forecast for the week and cache it (`forecast_refresh`), and the
sweep over every store (`forecast_sweep`, the weekly job).  Both are idempotent: a store's forecast of a week is one
row, replaced in place, and the sweep skips a store whose row of the week exists unless told to recompute."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction

from aftersales.core import clock
from aftersales.forecast import features, maths
from aftersales.forecast.models import StoreForecast
from aftersales.forecast.selectors import iter_weeks, labour_facts, monday_of, weekly_counts
from aftersales.organisation.models import Store
from aftersales.service.choices import ServiceType

HORIZON = 8  # weeks forecast
BACKTEST_ORIGINS = 12
MIN_HISTORY_WEEKS = maths.MIN_HISTORY_WEEKS
HISTORY_SHOWN_WEEKS = 104  # the chart's history (the fit uses it all)
LABOUR_WEEKS = 26  # standard hours per order and the weekday profile from the last half-year


@dataclass(frozen=True)
class SeriesResult:
    forecast: list[float]
    low: list[float]
    high: list[float]
    backtest: maths.Backtest


def forecast_series(y: np.ndarray, mondays: list[dt.date]) -> SeriesResult:
    """Backtest and forecast one weekly series whose weeks start on `mondays` (history, then the HORIZON weeks)."""
    fractions, exog = features.calendar_matrix(mondays)
    backtest = maths.rolling_origin_backtest(y, fractions, exog, origins=BACKTEST_ORIGINS, horizon=HORIZON)
    forecast = maths.harmonic_forecast(y, fractions, exog, HORIZON)
    low, high = maths.interval(forecast, backtest, float(np.std(y)) if len(y) else 0.0)
    return SeriesResult([round(float(v), 2) for v in forecast], low, high, backtest)


def _round(value: float | None, places: int = 3) -> float | None:
    return None if value is None else round(value, places)


def forecast_compute(*, store: Store, week: dt.date) -> dict[str, Any]:
    """The figures of the store's forecast starting the week of `week` (a Monday), from the complete weeks before
    it; `data["enough_history"]` False when the store has fewer than MIN_HISTORY_WEEKS weeks since its first order."""
    counts = weekly_counts(store_id=store.pk, before=week)
    first = counts.first_week
    history = list(iter_weeks(first, week - dt.timedelta(days=7))) if first is not None else []
    future = [week + dt.timedelta(days=7 * i) for i in range(HORIZON)]
    types = list(ServiceType.values)
    shown = history[-HISTORY_SHOWN_WEEKS:]
    data: dict[str, Any] = {
        "history": [
            {
                "week": monday.isoformat(),
                "orders": {t: counts.orders.get((monday, t), 0) for t in types},
                "bookings": {t: counts.bookings.get((monday, t), 0) for t in types},
            }
            for monday in shown
        ],
        "weeks_of_history": len(history),
        "enough_history": len(history) >= MIN_HISTORY_WEEKS,
        "method": "harmonic_regression",
    }
    data |= labour_facts(store_id=store.pk, since=week - dt.timedelta(weeks=LABOUR_WEEKS), before=week)
    if not data["enough_history"]:
        data |= {"forecast": [], "by_type": {}, "backtest": None}
        return data
    mondays = history + future
    total = np.array([sum(counts.orders.get((m, t), 0) for t in types) for m in history], dtype=float)
    overall = forecast_series(total, mondays)
    by_type: dict[str, Any] = {}
    type_results: dict[str, SeriesResult] = {}
    for service_type in types:
        y = np.array([counts.orders.get((m, service_type), 0) for m in history], dtype=float)
        result = forecast_series(y, mondays)
        type_results[service_type] = result
        by_type[service_type] = {
            "mase": _round(result.backtest.mase),
            "benchmark_mase": _round(result.backtest.benchmark_mase),
            "next_weeks": round(sum(result.forecast), 1),
        }
    data["forecast"] = [
        {
            "week": monday.isoformat(),
            "orders": overall.forecast[i],
            "low": round(overall.low[i], 2),
            "high": round(overall.high[i], 2),
            "by_type": {t: type_results[t].forecast[i] for t in types},
        }
        for i, monday in enumerate(future)
    ]
    data["by_type"] = by_type
    data["backtest"] = {
        "origins": overall.backtest.origins,
        "pairs": overall.backtest.pairs,
        "mae": _round(overall.backtest.mae, 2),
        "horizon": HORIZON,
        "rmse_by_horizon": [_round(v, 2) for v in overall.backtest.rmse_by_horizon],
    }
    data["_overall"] = overall
    return data


@transaction.atomic
def forecast_refresh(*, store: Store, today: dt.date | None = None) -> StoreForecast:
    """Compute and cache the store's forecast for the week of `today` (default: today, Beijing time); the week's
    row is replaced if it exists (idempotent)."""
    week = monday_of(today or clock.today())
    data = forecast_compute(store=store, week=week)
    overall: SeriesResult | None = data.pop("_overall", None)
    history_weeks = int(data["weeks_of_history"])
    backtest = overall.backtest if overall is not None else None
    row, _created = StoreForecast.objects.update_or_create(
        store=store,
        week=week,
        defaults={
            "computed_at": clock.now(),
            "history_weeks": history_weeks,
            "mase": _round(backtest.mase) if backtest else None,
            "benchmark_mase": _round(backtest.benchmark_mase) if backtest else None,
            "seasonal_period": backtest.period if backtest else maths.SEASON,
            "data": data,
        },
    )
    return row


@dataclass(frozen=True)
class SweepResult:
    computed: int
    skipped: int

    def as_dict(self) -> dict[str, int]:
        return {"computed": self.computed, "skipped": self.skipped}


def forecast_sweep(*, today: dt.date | None = None, recompute: bool = False) -> SweepResult:
    """Every store's forecast of this week: computed once (a rerun the same week skips the stores done, unless
    `recompute`).  One store per transaction, so a failure leaves the others' rows in place."""
    week = monday_of(today or clock.today())
    done = set(StoreForecast.objects.filter(week=week).values_list("store_id", flat=True))
    computed = skipped = 0
    for store in Store.objects.order_by("pk"):
        if store.pk in done and not recompute:
            skipped += 1
            continue
        forecast_refresh(store=store, today=week)
        computed += 1
    return SweepResult(computed=computed, skipped=skipped)


def forecast_current(*, store: Store, today: dt.date | None = None) -> StoreForecast:
    """The store's cached forecast of this week; computed now if the weekly job has not reached the store yet (a
    new store, a worker that was down).  Two requests racing to fill the cache: the loser reads the winner's row."""
    week = monday_of(today or clock.today())
    row = StoreForecast.objects.filter(store=store, week=week).first()
    if row is not None:
        return row
    try:
        return forecast_refresh(store=store, today=week)
    except IntegrityError:
        return StoreForecast.objects.get(store=store, week=week)
