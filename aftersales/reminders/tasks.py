"""Job-worker task of the reminders (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.reminders import services

logger = logging.getLogger("aftersales.jobs")


# Huey's schedule is in UTC: 01–12 h UTC is 09–20 h in China, so service notices (which ignore quiet hours) go in
# the daytime.  Hourly rather than daily so a demo server started after nine still sends the day's reminders.
@db_periodic_task(crontab(minute="5", hour="1-12"), priority=5, name="reminders.sweep")
@lock_task("reminders.sweep")
def reminders_sweep() -> dict[str, int]:
    """Every daytime hour: schedule what falls due and send what is due today.  The reminders are
    unique per due item and claimed before sending, so a rerun (or a restarted worker) sends nothing twice;
    a missed day is caught up the next morning (a reminder's day only has to have come)."""
    result = services.reminder_sweep().as_dict()
    logger.info("reminders sweep: %s", result)
    return result
