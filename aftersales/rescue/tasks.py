"""Job-worker task of roadside rescue (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.rescue import services

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="*"), priority=20, name="rescue.sweep")
@lock_task("rescue.sweep")
def rescue_sweep() -> dict[str, int]:
    """Every minute: match the waiting requests again (a crew may have come free), alert once when one passes the
    matching target, and coarsen the precise locations past their retention.  Each step is idempotent."""
    result = services.rescue_sweep().as_dict()
    if any(result.values()):
        logger.info("rescue sweep: %s", result)
    return result
