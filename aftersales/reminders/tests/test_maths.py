"""The projection's arithmetic, checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.reminders import maths

D = dt.date


def test_least_squares_over_three_readings_worked_by_hand():
    # x = 0, 30, 60 days; y = 10 000, 11 200, 12 200 km.  x̄ = 30, ȳ = 11 133.3;
    # Σ(x−x̄)(y−ȳ) = (−30)(−1 133.3) + 0 + 30 × 1 066.7 = 66 000; Σ(x−x̄)² = 1 800 → 36.67 km/day.
    readings = [(D(2026, 1, 1), 10_000), (D(2026, 1, 31), 11_200), (D(2026, 3, 2), 12_200)]
    p = maths.project(readings, on=D(2026, 4, 1), purchase_date=None, default_km_per_day=40)
    assert p.method == maths.LEAST_SQUARES
    assert p.km_per_day == pytest.approx(66_000 / 1_800)
    # From the latest reading: 12 200 + 30 days × 36.67 = 13 300.
    assert p.projected_km == 13_300
    assert p.readings == readings
    # 15 000 km is 2 800 km after the last reading: ⌈2 800 / 36.67⌉ = ⌈76.4⌉ = 77 days after 2 March.
    assert maths.date_reaching(p, 15_000) == D(2026, 3, 2) + dt.timedelta(days=77)


def test_one_reading_counts_from_the_purchase_at_zero_km():
    # 4 000 km in the 100 days since purchase: 40 km/day; 20 days later 4 800 km.
    p = maths.project([(D(2025, 4, 11), 4_000)], on=D(2025, 5, 1), purchase_date=D(2025, 1, 1), default_km_per_day=99)
    assert (p.method, p.km_per_day, p.projected_km) == (maths.SINCE_PURCHASE, 40.0, 4_800)


def test_one_reading_and_no_purchase_date_uses_the_default():
    p = maths.project([(D(2025, 4, 11), 4_000)], on=D(2025, 4, 21), purchase_date=None, default_km_per_day=40)
    assert (p.method, p.km_per_day, p.projected_km) == (maths.DEFAULT, 40.0, 4_400)


def test_no_reading_runs_the_default_from_the_purchase_day():
    p = maths.project([], on=D(2025, 1, 11), purchase_date=D(2025, 1, 1), default_km_per_day=40)
    assert (p.method, p.projected_km, p.anchor_on) == (maths.DEFAULT, 400, D(2025, 1, 1))
    nothing = maths.project([], on=D(2025, 1, 11), purchase_date=None, default_km_per_day=40)
    assert nothing.anchor_on is None and maths.date_reaching(nothing, 5_000) is None


def test_a_falling_fit_is_never_negative_and_never_below_the_last_reading():
    readings = [(D(2026, 1, 1), 30_000), (D(2026, 2, 1), 3_000)]  # a mistyped odometer
    p = maths.project(readings, on=D(2026, 3, 1), purchase_date=None, default_km_per_day=40)
    assert p.km_per_day == 0.0 and p.projected_km == 3_000
    assert maths.date_reaching(p, 10_000) is None


def test_readings_after_the_day_and_repeats_of_a_day_are_cleaned():
    readings = [(D(2026, 1, 1), 100), (D(2026, 1, 1), 120), (D(2026, 5, 1), 9_999)]
    assert maths.clean_readings(readings, on=D(2026, 2, 1)) == [(D(2026, 1, 1), 120)]


def test_add_months_keeps_the_day_or_the_month_end():
    assert maths.add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert maths.add_months(D(2026, 11, 15), 14) == D(2028, 1, 15)
    assert maths.next_birthday(D(1992, 2, 29), on=D(2026, 3, 1)) == D(2027, 2, 28)
