"""The arithmetic of reminders, free of Django: fit a vehicle's km per day to its odometer readings, project its
mileage to a day, and find the day it reaches a mileage.  Pure functions, so the tests can check them by hand."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

Reading = tuple[dt.date, int]

LEAST_SQUARES = "least_squares"  # two or more readings on different days
SINCE_PURCHASE = "since_purchase"  # one reading, counted from the purchase day at 0 km
DEFAULT = "default"  # too little to fit: the store's assumed km per day


@dataclass(frozen=True)
class Projection:
    """A vehicle's mileage on a day.  `anchor_on`/`anchor_km` is the point the projection runs from (the latest
    reading, or the purchase at 0 km); None when nothing is known (then no day can be projected for a mileage)."""

    km_per_day: float
    projected_km: int
    readings: list[Reading]
    method: str
    anchor_on: dt.date | None = None
    anchor_km: int = 0
    on: dt.date | None = field(default=None, compare=False)


def clean_readings(readings: Iterable[Reading], *, on: dt.date) -> list[Reading]:
    """Readings up to `on`, oldest first, one per day (the highest of a day: a second reading that day is a typo
    or the same odometer read again)."""
    best: dict[dt.date, int] = {}
    for day, km in readings:
        if day <= on and km >= 0:
            best[day] = max(km, best.get(day, 0))
    return sorted(best.items())


def least_squares_km_per_day(readings: list[Reading]) -> float:
    """The slope of km over days fitted by ordinary least squares; needs two different days."""
    origin = readings[0][0]
    xs = [(day - origin).days for day, _km in readings]
    ys = [km for _day, km in readings]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("least squares needs readings on two different days")
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return sxy / sxx


def project(
    readings: Iterable[Reading], *, on: dt.date, purchase_date: dt.date | None, default_km_per_day: float
) -> Projection:
    """km/day and the mileage on `on`.  Never negative: a falling fit (a mistyped reading) counts as 0 km/day,
    and the projection never goes below the latest reading."""
    points = clean_readings(readings, on=on)
    if len(points) >= 2:
        rate, method = least_squares_km_per_day(points), LEAST_SQUARES
    elif len(points) == 1 and purchase_date is not None and purchase_date < points[0][0]:
        day, km = points[0]
        rate, method = km / (day - purchase_date).days, SINCE_PURCHASE
    else:
        rate, method = float(default_km_per_day), DEFAULT
    rate = max(0.0, rate)
    if points:
        anchor_on, anchor_km = points[-1]
    elif purchase_date is not None and purchase_date <= on:
        anchor_on, anchor_km = purchase_date, 0
    else:
        return Projection(rate, 0, points, method, None, 0, on)
    projected = anchor_km + max(0, round(rate * (on - anchor_on).days))
    return Projection(rate, projected, points, method, anchor_on, anchor_km, on)


def date_reaching(projection: Projection, target_km: int) -> dt.date | None:
    """The day the projected mileage reaches `target_km` (in the past when it already has); None when it never
    will (0 km/day, or nothing known)."""
    if projection.anchor_on is None:
        return None
    missing = target_km - projection.anchor_km
    if missing <= 0 and projection.km_per_day <= 0:
        return projection.anchor_on
    if projection.km_per_day <= 0:
        return None
    return projection.anchor_on + dt.timedelta(days=math.ceil(missing / projection.km_per_day))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the 31st of a shorter month becomes its last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_birthday(birthday: dt.date, *, on: dt.date) -> dt.date:
    """The first birthday on or after `on` (29 February is kept on 28 February in other years)."""
    for year in (on.year, on.year + 1):
        day = dt.date(year, birthday.month, min(birthday.day, calendar.monthrange(year, birthday.month)[1]))
        if day >= on:
            return day
    raise AssertionError("unreachable")  # pragma: no cover
