"""Job-worker tasks of the voice of the customer (Huey).  Thin: call an idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.feedback import services

logger = logging.getLogger("aftersales.jobs")

SWEEP_PRIORITY = 10


@db_periodic_task(crontab(minute="*"), priority=SWEEP_PRIORITY, name="feedback.sweep")
@lock_task("feedback.sweep")
def feedback_sweep() -> dict[str, int]:
    """Follow-ups for new deliveries; escalations of recovery tasks, complaints and suggestions.  Every
    minute, because the clocks are measured to the minute; each sweep claims its rows, so a rerun (or a
    worker killed half-way and restarted) sends nothing twice and loses nothing."""
    result = services.feedback_sweep().as_dict()
    logger.info("feedback sweep: %s", result)
    return result
