"""Reporting periods of KPIS.md: a calendar month, quarter or year in the store's local time (Asia/Shanghai),
half-open [first day 00:00, next period's first day 00:00).  Stored times are UTC; the bounds here are aware."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

PeriodKind = Literal["month", "quarter", "year"]
LOCAL_TZ = ZoneInfo(settings.TIME_ZONE)
_MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")


class PeriodError(ValueError):
    """A period text that is not YYYY-MM, YYYY-Qn or YYYY (the message names the expected forms)."""


@dataclass(frozen=True, order=True)
class Period:
    """A month (index 1–12), a quarter (index 1–4) or a year (index 1)."""

    kind: PeriodKind
    year: int
    index: int

    # ---- construction
    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PATTERN.match((text or "").strip())
        if not match:
            raise PeriodError(_("A period is written YYYY-MM, YYYY-Qn or YYYY (e.g. 2026-05, 2026-Q2, 2026)."))
        year = int(match["year"])
        if not 2000 <= year <= 2100:
            raise PeriodError(_("The year of a period lies between 2000 and 2100."))
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise PeriodError(_("A month is 01 to 12."))
            return cls("month", year, month)
        if match["quarter"]:
            return cls("quarter", year, int(match["quarter"]))
        return cls("year", year, 1)

    @classmethod
    def containing(cls, day: dt.date, kind: PeriodKind = "month") -> Period:
        if kind == "month":
            return cls("month", day.year, day.month)
        if kind == "quarter":
            return cls("quarter", day.year, (day.month - 1) // 3 + 1)
        return cls("year", day.year, 1)

    # ---- bounds
    @property
    def first_month(self) -> int:
        return 1 + (self.index - 1) * _MONTHS_IN[self.kind]

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def next_first_day(self) -> dt.date:
        months = self.year * 12 + self.first_month - 1 + _MONTHS_IN[self.kind]
        return dt.date(months // 12, months % 12 + 1, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next_first_day - dt.timedelta(days=1)

    @property
    def start(self) -> dt.datetime:
        """The first instant (aware, local midnight)."""
        return dt.datetime.combine(self.first_day, dt.time.min, tzinfo=LOCAL_TZ)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound)."""
        return dt.datetime.combine(self.next_first_day, dt.time.min, tzinfo=LOCAL_TZ)

    # ---- navigation
    def shift(self, steps: int) -> Period:
        """The period `steps` periods of the same kind later (earlier when negative)."""
        if self.kind == "year":
            return Period("year", self.year + steps, 1)
        per_year = 12 if self.kind == "month" else 4
        position = self.year * per_year + self.index - 1 + steps
        return Period(self.kind, position // per_year, position % per_year + 1)

    def previous(self) -> Period:
        return self.shift(-1)

    def trailing(self, count: int) -> list[Period]:
        """`count` periods ending with this one, oldest first (a 13-month trend is `trailing(13)`)."""
        return [self.shift(step) for step in range(1 - count, 1)]

    def months(self) -> list[Period]:
        """The months that make up this period."""
        first = Period("month", self.year, self.first_month)
        return [first.shift(step) for step in range(_MONTHS_IN[self.kind])]

    def is_closed(self, now: dt.datetime) -> bool:
        return now >= self.end

    def __str__(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.index}"
        return f"{self.year}"
