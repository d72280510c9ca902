"""Demo reminders: the first morning sweep over the seeded vehicles and customers, run for the seed's `today`.

It schedules what falls due in the coming weeks (maintenance from the seeded visits' readings and the advisors'
next-maintenance dates, insurance, inspections, open deferred work, birthdays) and sends, through the outbox, the
reminders whose day has come — exactly what the worker's first run would do, so the Reminders page shows both
upcoming and sent rows.  Items overdue by more than `reminder_overdue_days` are left out, as in production."""

from __future__ import annotations

import datetime as dt

from aftersales.reminders.services import reminder_sweep


def seed_reminders(*, today: dt.date) -> dict[str, int]:
    """Run the sweep once for `today`; returns its counts."""
    return reminder_sweep(on=today).as_dict()
