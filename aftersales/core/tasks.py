"""Job-worker tasks of the core app (Huey).  Thin: call the function that holds the rule, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.core.idempotency import idempotency_purge as purge

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="7"), name="core.idempotency_purge")
@lock_task("core.idempotency_purge")
def idempotency_purge() -> int:
    """Hourly: forget the idempotency keys older than 24 hours (a rerun deletes nothing more)."""
    deleted = purge()
    logger.info("idempotency purge: %s expired keys deleted", deleted)
    return deleted
