"""Sane bounds for the dates people type or send, one helper for every schema and form.

A year 9999 (or 0001) is a typing error, and it overflows the calendar arithmetic that follows (clocks,
working days, reminders), so it used to end in a 500 or in a record nobody can act on.  Each field takes
the bounds that fit what it means:

- `HAPPENED`  things that already happened (a complaint or suggestion received, a part produced, the month
  of a complaint cluster): not before 2000-01-01, not after tomorrow (the services refuse the future
  itself with their own message; the day of slack keeps time zones out of it);
- `PLANNED`   things planned (an appointment, a pick-up window, a CAPA action's due date, the next
  maintenance): within a year back and five years ahead of today.  The business horizon is the services'
  (a booking horizon setting, "the next maintenance must be in the future"), with their own messages;
  these bounds only keep absurd years out;
- `ANY_DAY`   a date used to filter a list: 2000-01-01 up to ten years ahead (nothing is written, but the
  day's range must still be computable).  Forms apply it to every date field that declares nothing else.

Customers' birthdays and purchase dates keep their own check in customers/services.py (1900 to today).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core import clock

EARLIEST = dt.date(2000, 1, 1)

OUT_OF_BOUNDS = _("Enter a date between {earliest} and {latest}.")


@dataclass(frozen=True)
class DateBounds:
    """A Django validator too: `forms.DateField(validators=[PLANNED])`.

    `earliest` is a fixed first day, or None to count `days_back` from today; the last day is `days_ahead`
    days after today (today from the project's clock, so tests can move it)."""

    earliest: dt.date | None = EARLIEST
    days_back: int = 0
    days_ahead: int = 0

    def limits(self, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
        today = today or clock.today()
        first = self.earliest if self.earliest is not None else today - dt.timedelta(days=self.days_back)
        return first, today + dt.timedelta(days=self.days_ahead)

    def __call__(self, value: dt.date | dt.datetime | None) -> None:
        if value is None:
            return
        # The day as written, in the value's own offset: converting year 9999 to local time would overflow.
        day = value.date() if isinstance(value, dt.datetime) else value
        first, last = self.limits()
        if not first <= day <= last:
            raise ValidationError(
                OUT_OF_BOUNDS.format(earliest=first.isoformat(), latest=last.isoformat()), code="date_out_of_bounds"
            )


HAPPENED = DateBounds(earliest=EARLIEST, days_ahead=1)
PLANNED = DateBounds(earliest=None, days_back=366, days_ahead=5 * 366)
ANY_DAY = DateBounds(earliest=EARLIEST, days_ahead=10 * 366)
