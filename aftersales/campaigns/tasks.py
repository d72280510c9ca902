"""Job-worker tasks of the care campaigns (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.campaigns import services

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="*"), priority=5, name="campaigns.sweep")
@lock_task("campaigns.sweep")
def campaigns_sweep() -> dict[str, int]:
    """Every minute: start the campaigns whose time has come, queue the next batches of messages, finish those
    done.  Each member is handled in its own transaction, so a worker killed half-way loses nothing and
    sends nothing twice when the next run resumes."""
    result = services.campaigns_sweep().as_dict()
    logger.info("campaigns sweep: %s", result)
    return result
