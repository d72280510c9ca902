"""China's working-day calendar and the arithmetic of SLA clocks.

Two kinds of clock run in the product (SPEC §4):

* **calendar hours** — complaint clocks ("acknowledge within 2 h", "resolve within 72 h") count every hour,
  nights, weekends and holidays included: `add_calendar_hours`;
* **working days** — "decide on a suggestion within 3 working days" counts China's official working days:
  Monday to Friday, minus the statutory public holidays, plus the make-up working days (调休) on which
  a weekend day is worked, minus a store's own extra closed days: `is_working_day`, `add_working_days`,
  `working_days_between`.

The official calendar of a year comes, in this order, from:

1. a year an administrator **entered** from the State Council's notice (`OfficialCalendarYear`, through
   `aftersales calendar import FILE` or /settings/calendar/; `core.calendar_import` validates it);
2. the `chinese-calendar` **package** (the notices up to its newest release: 2004–2026 for 1.11);
3. **none**: Monday–Friday is assumed, and the gap is recorded (a logged warning once per process and year, and a
   `CalendarGap` row) so that the December job and the settings page tell the administrators.  Recording never
   raises: a database that is not ready (migrate, a test without database access) only logs.

An entered year is read once and kept in a per-process cache (`_ENTERED_TTL` seconds; importing a year clears it),
so the clocks, which ask about every day they count, cost a query per year at most.

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
import time
from collections.abc import Iterable
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

#: China's official calendar is kept in Beijing time, whatever the server's time zone.
CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: The time of day a working-day period ends: 24:00 is represented by the last whole second of the day.
END_OF_DAY = dt.time(23, 59, 59)

#: A bound on the search for the next working day; no real calendar has this many rest days in a row.
_MAX_SCAN_DAYS = 3660

#: Years already found to have no calendar in this process: warned about and recorded once.
_warned_years: set[int] = set()

CalendarSource = Literal["entered", "package", "none"]

#: How long an entered year (or its absence) is trusted before the database is asked again: another process
#: (the web page, the worker) may have imported it.  Importing in this process clears the cache at once.
_ENTERED_TTL = 60.0

#: The days of an entered year: {year: (read at (monotonic), holidays, make-up workdays)}; None: not entered.
_entered_cache: dict[int, tuple[float, frozenset[dt.date], frozenset[dt.date]] | tuple[float, None, None]] = {}

#: The years the installed package knows (its data is a contiguous range of notices).
_PACKAGE_YEARS = range(
    min(chinese_calendar.holidays).year,
    max(chinese_calendar.holidays).year + 1,
)

#: A notice for year Y may move the last days of December of Y-1 (e.g. the 2023 notice gave 31 Dec 2022 off):
#: those days belong to the entered year Y (`core.calendar_import` allows them).
SPILL_FROM = (12, 25)


def forget_entered_years() -> None:
    """Drop the cached entered years (after an import, and in tests that roll an import back)."""
    _entered_cache.clear()


def _entered(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]] | None:
    """The entered (holidays, make-up workdays) of `year`, or None; cached.  Never raises: a database that cannot
    be read (not migrated yet, no access) counts as "not entered" for this call."""
    now = time.monotonic()
    cached = _entered_cache.get(year)
    if cached is not None and now - cached[0] < _ENTERED_TTL:
        return None if cached[1] is None else (cached[1], cached[2])
    try:
        from aftersales.core.models import OfficialCalendarYear

        # A savepoint: a failing read inside the caller's transaction must not break it (PostgreSQL).
        with transaction.atomic():
            row = OfficialCalendarYear.objects.filter(year=year).values_list("holidays", "workdays").first()
    except Exception:  # noqa: BLE001 - a read path never raises; see the docstring
        logger.debug("official calendar: entered year %s could not be read", year, exc_info=True)
        _entered_cache[year] = (now, None, None)  # asked again after the TTL, or at once after an import
        return None
    if row is None:
        _entered_cache[year] = (now, None, None)
        return None
    holidays = frozenset(dt.date.fromisoformat(d) for d in row[0])
    workdays = frozenset(dt.date.fromisoformat(d) for d in row[1])
    _entered_cache[year] = (now, holidays, workdays)
    return holidays, workdays


def calendar_source(year: int) -> CalendarSource:
    """Where the official calendar of `year` comes from: "entered", "package", or "none" (Monday–Friday assumed)."""
    if _entered(year) is not None:
        return "entered"
    if year in _PACKAGE_YEARS:
        return "package"
    return "none"


def years_without_calendar(years: Iterable[int]) -> list[int]:
    """The years among `years` (sorted, each once) that have neither an entered notice nor the package's data."""
    return [year for year in sorted(set(years)) if calendar_source(year) == "none"]


def _note_missing_year(year: int) -> None:
    """Warn once per process and record `CalendarGap(year)`; never raises (see the module's docstring)."""
    if year in _warned_years:
        return
    _warned_years.add(year)
    logger.warning(
        "No official calendar for %s (neither entered nor in the chinese-calendar package): treating "
        "Monday–Friday as working days. Enter the State Council's notice with `aftersales calendar import FILE` "
        "or on /settings/calendar/.",
        year,
    )
    try:
        from aftersales.core.models import CalendarGap

        with transaction.atomic():  # a savepoint inside the caller's transaction
            gap, created = CalendarGap.objects.get_or_create(year=year, defaults={"first_reached_at": timezone.now()})
            if not created and gap.first_reached_at is None:  # made by the December check: now a clock did reach it
                CalendarGap.objects.filter(pk=gap.pk, first_reached_at__isnull=True).update(
                    first_reached_at=timezone.now()
                )
    except Exception:  # noqa: BLE001 - a read path never raises
        logger.info("official calendar: the gap for %s could not be recorded", year, exc_info=True)


def official_working_day(day: dt.date) -> bool:
    """The official calendar only (no store closures): entered year, then the package, then Monday–Friday."""
    if (day.month, day.day) >= SPILL_FROM:
        following = _entered(day.year + 1)  # the next year's notice may move the last days of December
        if following is not None:
            if day in following[0]:
                return False
            if day in following[1]:
                return True
    entered = _entered(day.year)
    if entered is not None:
        holidays, workdays = entered
        if day in workdays:
            return True
        return day.weekday() < 5 and day not in holidays
    if day.year in _PACKAGE_YEARS:
        return bool(chinese_calendar.is_workday(day))
    _note_missing_year(day.year)
    return day.weekday() < 5


_official_working_day = official_working_day  # the earlier private name


def official_days(year: int) -> tuple[CalendarSource, frozenset[dt.date], frozenset[dt.date]]:
    """(source, holidays, make-up workdays) of the days of `year` (1 Jan–31 Dec), for pages and `calendar show`:
    what `official_working_day` uses, without recording a gap (looking at a year is not a clock reaching into it).
    A holiday set may hold weekend days of a holiday block; "none" gives two empty sets."""
    source = calendar_source(year)
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    entered = _entered(year)
    if entered is not None:
        holidays.update(d for d in entered[0] if d.year == year)
        workdays.update(d for d in entered[1] if d.year == year)
    elif source == "package":
        holidays.update(d for d in chinese_calendar.holidays if d.year == year)
        workdays.update(d for d in chinese_calendar.workdays if d.year == year)
    following = _entered(year + 1)
    if following is not None:  # the next year's notice moving the last days of December wins for those days
        moved_off = {d for d in following[0] if d.year == year}
        moved_on = {d for d in following[1] if d.year == year}
        holidays = (holidays - moved_on) | moved_off
        workdays = (workdays - moved_off) | moved_on
    return source, frozenset(holidays), frozenset(workdays)


def is_working_day(day: dt.date, *, closed_days: Iterable[dt.date] = ()) -> bool:
    """Whether `day` is a working day in China and the store is open.

    Weekends are off unless they are make-up working days (调休); statutory holidays are off; the store's
    extra `closed_days` are off.  For a year neither entered nor in the package's data, Monday–Friday (the
    gap is logged and recorded once per year).
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


def package_has(year: int) -> bool:
    """Whether the installed chinese-calendar package has the State Council's notice for `year`."""
    return year in _PACKAGE_YEARS


def years_needing_notice(today: dt.date) -> list[int]:
    """The years an administrator should enter a notice for, as of `today` (a Beijing date): next year from
    1 December when it has no calendar, and every year from this one on that a clock already reached into
    (`CalendarGap`) and that still has none.  For the settings page's banner and the December job."""
    from aftersales.core.models import CalendarGap

    candidates = set(CalendarGap.objects.filter(year__gte=today.year).values_list("year", flat=True))
    if today.month == 12:
        candidates.add(today.year + 1)
    return years_without_calendar(candidates)
