"""`aftersales calendar import FILE` and `aftersales calendar show YEAR` (docs/calendar.md; the public contract).

`import` validates a State Council notice file and enters the year (replacing an earlier import); on invalid input
it writes nothing and exits with code 2, the reasons on stderr.  `show` prints a year's holidays and make-up
working days month by month and where they come from (entered / package / none).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.core import calendar
from aftersales.core.calendar_import import calendar_year_import, calendar_year_parse

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day(day: dt.date) -> str:
    return f"{day.day} {WEEKDAYS[day.weekday()]}"


class Command(BaseCommand):
    help = "Enter a year of China's official calendar from a notice file, or show a year's calendar."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,show}")
        enter = actions.add_parser("import", help="validate FILE and enter (or replace) its year")
        enter.add_argument("file", help='{"year": 2027, "holidays": ["2027-02-05", …], "workdays": [...]}')
        show = actions.add_parser("show", help="print a year's holidays and make-up working days")
        show.add_argument("year", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import":
            self._import(options["file"])
        else:
            self._show(options["year"])

    def _import(self, file: str) -> None:
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}", returncode=2) from exc
        try:
            row = calendar_year_import(calendar_year_parse(content), by=None)
        except ValidationError as exc:
            reasons = [message for messages in exc.message_dict.values() for message in messages]
            raise CommandError(
                f"{file}: not imported, nothing was written.\n  " + "\n  ".join(reasons), returncode=2
            ) from exc
        notice = f" ({row.notice})" if row.notice else ""
        self.stdout.write(
            f"Entered {row.year}{notice}: {len(row.holidays)} holidays, {len(row.workdays)} make-up working days. "
            f"The clocks use it from now on; due times already set do not move."
        )
        self._show(row.year)

    def _show(self, year: int) -> None:
        source, holidays, workdays = calendar.official_days(year)
        out = self.stdout
        if source == "entered":
            out.write(f"{year}: entered from the State Council's notice")
        elif source == "package":
            out.write(f"{year}: from the chinese-calendar package")
        else:
            out.write(
                f"{year}: NO CALENDAR. Monday–Friday is assumed: every weekday is a working day, no public holidays, "
                f"no make-up working days. Enter the State Council's notice for {year} with "
                "`aftersales calendar import FILE` (format: docs/calendar.md, "
                "example: docs/calendar-2027.example.json) "
                f"or on /settings/calendar/{year}/."
            )
            return
        for month in range(1, 13):
            off = sorted(d for d in holidays if d.month == month)
            on = sorted(d for d in workdays if d.month == month)
            if not off and not on:
                continue
            line = f"  {MONTHS[month - 1]}:"
            if off:
                line += " holidays " + ", ".join(_day(d) for d in off)
            if on:
                line += ("; " if off else " ") + "make-up working days " + ", ".join(_day(d) for d in on)
            out.write(line)
        out.write(f"  {len(holidays)} holidays, {len(workdays)} make-up working days.")
