"""Job-worker task of the care playbooks (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.care import services

logger = logging.getLogger("aftersales.jobs")


# Huey's schedule is in UTC: 02:15 UTC is 10:15 in China, after the crm app's nightly tiers (18:30 UTC) so the
# day's tiers are in place, and in the daytime so the messages need not wait for the quiet hours to end.
@db_periodic_task(crontab(minute="15", hour="2"), priority=5, name="care.sweep")
@lock_task("care.sweep")
def care_sweep() -> dict[str, int]:
    """Once a day: apply the playbooks.  Every action is unique per customer, kind and episode and is claimed in
    the same transaction as its message or task, so a rerun (or a restarted worker) does nothing twice."""
    result = services.care_sweep().as_dict()
    logger.info("care sweep: %s", result)
    return result
