"""Job-worker tasks of the service process (Huey).  Thin: call a service, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.service import services

logger = logging.getLogger("aftersales.jobs")

SWEEP_PRIORITY = 10


@db_periodic_task(crontab(minute="*/5"), priority=SWEEP_PRIORITY)
@lock_task("service.efficiency_sweep")
def efficiency_sweep() -> int:
    """Warn foremen about jobs over standard time; idempotent (an order is warned once)."""
    warned = services.efficiency_sweep()
    logger.info("efficiency sweep: %s orders warned", warned)
    return warned


@db_periodic_task(crontab(minute="*/5"), priority=SWEEP_PRIORITY)
@lock_task("service.no_show_sweep")
def no_show_sweep() -> int:
    """Bookings past their slot start + grace without check-in become no-shows; idempotent."""
    moved = services.no_show_sweep()
    logger.info("no-show sweep: %s bookings marked no-show", moved)
    return moved
