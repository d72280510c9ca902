"""The official calendar's page (/settings/calendar/): who may read and enter it, and the reads it shows.

The calendar is one for the whole installation (China's), so the capabilities are asked in any store: entering a
year needs MANAGE_CALENDAR (administrators); reading it EDIT_GROUP_SETTINGS or MANAGE_CALENDAR.  The validation
and the write are core's (`core.calendar_import`), shared with `aftersales calendar import`.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from aftersales.core import calendar
from aftersales.core.calendar_import import calendar_year_import
from aftersales.core.models import CalendarGap, OfficialCalendarYear
from aftersales.organisation.permissions import Capability, user_can

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def calendar_moves_for(*, user: Any) -> dict[str, bool]:
    """What the page offers `user`: read the years, enter a year's notice."""
    manage = user_can(user, Capability.MANAGE_CALENDAR)
    return {"read": manage or user_can(user, Capability.EDIT_GROUP_SETTINGS), "import": manage}


def calendar_year_enter(*, data: dict[str, Any], by: User) -> OfficialCalendarYear:
    """Enter (or replace) a year from a notice file's object, for an administrator (MANAGE_CALENDAR)."""
    if not user_can(by, Capability.MANAGE_CALENDAR):
        raise PermissionDenied(_("Only an administrator may enter the official calendar."))
    return calendar_year_import(data, by=by)


@dataclass(frozen=True)
class YearRow:
    year: int
    source: str  # entered | package | none
    entered: OfficialCalendarYear | None
    reached: bool  # a clock already counted this year on Monday–Friday (CalendarGap)


def calendar_year_list(*, today: dt.date) -> list[YearRow]:
    """This year, next year, every entered year and every year a clock reached without a calendar; two queries."""
    entered = {row.year: row for row in OfficialCalendarYear.objects.select_related("entered_by__staff_profile")}
    reached = set(CalendarGap.objects.filter(first_reached_at__isnull=False).values_list("year", flat=True))
    years = {today.year, today.year + 1} | set(entered) | {y for y in reached if y >= today.year - 1}
    rows = []
    for year in sorted(years, reverse=True):
        if year in entered:
            source = "entered"
        elif calendar.package_has(year):
            source = "package"
        else:
            source = "none"
        rows.append(YearRow(year=year, source=source, entered=entered.get(year), reached=year in reached))
    return rows


@dataclass(frozen=True)
class Day:
    day: dt.date | None  # None: a blank cell before the 1st or after the last day
    kind: str = ""  # holiday | workday (make-up) | weekend | work


def calendar_year_months(year: int) -> tuple[str, list[tuple[dt.date, list[list[Day]]]]]:
    """(source, [(the month's 1st, weeks of 7 days, Monday first)]) of `year` as the clocks count it; no gap is
    recorded."""
    source, holidays, workdays = calendar.official_days(year)
    months = []
    for month, weeks in enumerate(
        month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month_index) for month_index in range(1, 13)
    ):
        rows = []
        for week in weeks:
            cells = []
            for day in week:
                if day.month != month + 1:
                    cells.append(Day(None))
                elif day in workdays:
                    cells.append(Day(day, "workday"))
                elif day in holidays:
                    cells.append(Day(day, "holiday"))
                elif day.weekday() >= 5:
                    cells.append(Day(day, "weekend"))
                else:
                    cells.append(Day(day, "work"))
            rows.append(cells)
        months.append((dt.date(year, month + 1, 1), rows))
    return source, months


def calendar_banner(*, user: Any, today: dt.date) -> dict[str, Any] | None:
    """The settings page's warning: the years needing a notice (next year from 1 December, years a clock reached
    without a calendar), and whether `user` may open the calendar page; None when all is well."""
    years = calendar.years_needing_notice(today)
    if not years:
        return None
    return {"years": years, "can_open": calendar_moves_for(user=user)["read"]}
