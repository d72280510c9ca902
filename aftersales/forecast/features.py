"""The calendar columns of the forecast, one row per week (its Monday): the official working days of the week
(statutory holidays off, 调休 make-up days on: `core.calendar`) and the Spring Festival's pull on the weeks around it.

Spring Festival (春节, the first day of the first lunar month), 2015–2035.  Source: the lunar calendar as published
by the Purple Mountain Observatory (紫金山天文台) and reproduced in the State Council's yearly holiday notices; the
years 2023–2026 agree with `chinese_calendar` (each date is a "Spring Festival" holiday there).  A year missing from
the table simply has no festival columns (they stay 0), so extend it when the forecast reaches 2036.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from aftersales.core.calendar import is_working_day

SPRING_FESTIVAL: dict[int, dt.date] = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}

# Days relative to the festival (inclusive): the run-up (cars serviced before the journey home), the holiday week
# itself, and the weeks of catching up after it (visits put off over the holiday, bodywork after the journeys).
WINDOWS: tuple[tuple[str, int, int], ...] = (
    ("festival_before", -21, -1),
    ("festival_holiday", 0, 6),
    ("festival_after", 7, 27),
)
COLUMNS: tuple[str, ...] = ("working_days", *(name for name, _first, _last in WINDOWS))


def year_fraction(monday: dt.date) -> float:
    """Where the week falls in the year, 0 ≤ τ < 1 (the harmonics' phase)."""
    return ((monday - dt.date(monday.year, 1, 1)).days + 3) / 365.2425  # + 3: the middle of the week


def week_row(monday: dt.date) -> list[float]:
    """The calendar columns of the week starting on `monday`: working days (0–7), then for each festival window
    the share of the week's seven days that fall in it (0–1)."""
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    row = [float(sum(is_working_day(day) for day in days))]
    for _name, first, last in WINDOWS:
        inside = 0
        for day in days:
            for year in (day.year - 1, day.year, day.year + 1):
                festival = SPRING_FESTIVAL.get(year)
                if festival is not None and first <= (day - festival).days <= last:
                    inside += 1
                    break
        row.append(inside / 7)
    return row


def calendar_matrix(mondays: Sequence[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    """(year fractions, exogenous columns) for the weeks starting on `mondays`."""
    fractions = np.array([year_fraction(m) for m in mondays], dtype=float)
    exog = np.array([week_row(m) for m in mondays], dtype=float).reshape(len(mondays), len(COLUMNS))
    return fractions, exog
