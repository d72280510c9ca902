"""Job-worker task of the notifications app (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.notifications import calendar_alert

logger = logging.getLogger("aftersales.jobs")


# 00:45 UTC is 08:45 in China.  Daily, so that a clock reaching a year without a calendar is told the next morning;
# next year's check starts on 1 December (the notice usually comes out in late October or November).
@db_periodic_task(crontab(minute="45", hour="0"), priority=5, name="notifications.calendar_check")
@lock_task("notifications.calendar_check")
def calendar_check() -> int:
    """Once a day: tell the administrators, once per year, about a year that has no official calendar."""
    alerted = calendar_alert.calendar_gap_alert_sweep()
    logger.info("official calendar check: %s year(s) alerted", alerted)
    return alerted
