"""China's working-day calendar and the arithmetic of SLA clocks.

Two kinds of clock run in the product (SPEC §4):

* **calendar hours** — complaint clocks ("acknowledge within 2 h", "resolve within 72 h") count every hour,
  nights, weekends and holidays included: `add_calendar_hours`;
* **working days** — "decide on a suggestion within 3 working days" counts China's official working days:
  Monday to Friday, minus the statutory public holidays, plus the make-up working days (调休) on which
  a weekend day is worked, minus a store's own extra closed days: `is_working_day`, `add_working_days`,
  `working_days_between`.

The official calendar comes from the `chinese-calendar` library (the State Council's yearly notice, kept up
to date by its maintainers).  For a year the installed library has no data for, the calendar falls back to
Monday–Friday and logs one warning per such year: upgrade the library when the State Council publishes the
next year's holidays (usually in November).

The due-time rule for working days follows the Civil Code's rules on periods (民法典 arts. 201–203: the day
of the event is not counted; a period ends at 24:00 of its last day; a last day that is a rest day moves to
the next working day): "within N working days" of a moment is due at the end (23:59:59, Beijing time) of
the N-th working day after the day of that moment.  See `add_working_days` and docs/calendar.md.

This module is layer 0: it imports nothing from the apps.  Callers load a store's extra closed days
(`organisation.selectors.closed_days_for_store`) and pass them in.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import chinese_calendar
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

#: China's official calendar is kept in Beijing time, whatever the server's time zone.
CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: The time of day a working-day period ends: 24:00 is represented by the last whole second of the day.
END_OF_DAY = dt.time(23, 59, 59)

#: A bound on the search for the next working day; no real calendar has this many rest days in a row.
_MAX_SCAN_DAYS = 3660

_warned_years: set[int] = set()


def _official_working_day(day: dt.date) -> bool:
    """The official calendar only (no store closures), with the weekday fallback for unknown years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "chinese-calendar has no official holidays for %s: treating Monday–Friday as working days. "
                "Upgrade the chinese-calendar package once the State Council has published that year.",
                day.year,
            )
        return day.weekday() < 5


def is_working_day(day: dt.date, *, closed_days: Iterable[dt.date] = ()) -> bool:
    """Whether `day` is a working day in China and the store is open.

    Weekends are off unless they are make-up working days (调休); statutory holidays are off; the store's
    extra `closed_days` are off.  For a year outside the library's data, Monday–Friday (a warning is logged
    once per year).
    """
    if isinstance(day, dt.datetime):
        raise TypeError("is_working_day takes a date; use timezone.localdate(moment) for a datetime.")
    if day in (closed_days if isinstance(closed_days, frozenset | set) else frozenset(closed_days)):
        return False
    return _official_working_day(day)


def _require_aware(value: dt.datetime, name: str) -> None:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone); got the naive {value.isoformat()}.")


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA_TZ).date()


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=CHINA_TZ)


def add_working_days(start: dt.datetime, days: int, *, closed_days: Iterable[dt.date] = ()) -> dt.datetime:
    """The due time of "within `days` working days" from the moment `start`.

    The rule (the Civil Code's, 民法典 arts. 201–203, which Chinese customers and staff know):

    * the day of `start` (its Beijing date) is not counted, whatever the time of day;
    * counting begins the next day and skips every day that is not a working day (weekends that are not
      make-up days, statutory holidays, the store's `closed_days`); make-up working days count;
    * the period ends at 24:00 of the `days`-th working day, returned as 23:59:59 Beijing time that day.

    So a suggestion received on Monday at 10:00 or at 23:50 is due at the end of Thursday; one received on a
    Saturday, Sunday or holiday is due at the end of the third working day after it (the first working day
    after the rest day counts as day 1).

    `days=0` means "the same working day": the end of the day of `start` if that is a working day,
    otherwise the end of the next working day.  Negative `days` raise ValueError; a naive `start` raises
    ValueError.  The result is an aware datetime in Asia/Shanghai.
    """
    _require_aware(start, "start")
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError("days must be a whole number.")
    if days < 0:
        raise ValueError("days cannot be negative.")
    closed = frozenset(closed_days)
    day = _local_date(start)
    if days == 0 and is_working_day(day, closed_days=closed):
        return _end_of(day)
    remaining_days = max(days, 1)
    for _step in range(_MAX_SCAN_DAYS + days):
        day += dt.timedelta(days=1)
        if is_working_day(day, closed_days=closed):
            remaining_days -= 1
            if remaining_days == 0:
                return _end_of(day)
    raise ValueError("No working day found: check the store's closed days.")


def working_days_between(start: dt.datetime, end: dt.datetime, *, closed_days: Iterable[dt.date] = ()) -> int:
    """How many working days lie after the day of `start`, up to and including the day of `end`.

    Days are Beijing dates; the time of day does not matter.  It is the inverse of `add_working_days` for
    one day or more: `working_days_between(s, add_working_days(s, n)) == n`.  When `end` is before `start`
    the count is negative (`-working_days_between(end, start)`).
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    first, last = _local_date(start), _local_date(end)
    if last < first:
        return -working_days_between(end, start, closed_days=closed_days)
    closed = frozenset(closed_days)
    count = 0
    day = first
    while day < last:
        day += dt.timedelta(days=1)
        if is_working_day(day, closed_days=closed):
            count += 1
    return count


def add_calendar_hours(start: dt.datetime, hours: int | float) -> dt.datetime:
    """`start` plus `hours` elapsed hours (nights, weekends and holidays count), in Asia/Shanghai.

    Complaint clocks run in calendar hours ("within 24 hours" means 24 real hours).  The sum is taken in UTC,
    so it would stay right across a daylight-saving change (Asia/Shanghai has none since 1991).  A naive
    `start`, negative or non-finite hours raise ValueError.
    """
    _require_aware(start, "start")
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise TypeError("hours must be a number.")
    if not math.isfinite(hours) or hours < 0:
        raise ValueError("hours must be a finite number, zero or more.")
    return (start.astimezone(dt.UTC) + dt.timedelta(hours=hours)).astimezone(CHINA_TZ)


def remaining(due: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """The time left until `due` at `now`; negative once the clock has run out (overdue)."""
    _require_aware(due, "due")
    _require_aware(now, "now")
    return due - now


def format_countdown(delta: dt.timedelta) -> str:
    """A short countdown for pages: "45 min", "1 h 05 min", "2 d 03 h"; "overdue 12 min" once negative.

    Whole minutes, rounded down (never shows more time than is left, nor more delay than there is), so the
    last minute before a deadline shows "0 min" and the first minute after it "overdue 0 min".
    """
    overdue = delta < dt.timedelta(0)
    total_minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        text = _("%(days)d d %(hours)02d h") % {"days": days, "hours": hours}
    elif hours:
        text = _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    else:
        text = _("%(minutes)d min") % {"minutes": minutes}
    if overdue:
        return _("overdue %(time)s") % {"time": text}
    return text
