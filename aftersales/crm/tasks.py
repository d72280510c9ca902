"""Job-worker tasks of the crm app (Huey).  Thin: call the service, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.crm import services

logger = logging.getLogger("aftersales.jobs")

SWEEP_PRIORITY = 5  # below the minute sweeps (10): nobody waits for it at night


# Huey's clock is UTC (settings.HUEY["utc"]): 18:30 UTC is 02:30 in Asia/Shanghai (no daylight saving), after the
# day's last deliveries and before the morning's bookings.  R counts from "today" in Shanghai, so the run after
# midnight computes the new day's tiers.
@db_periodic_task(crontab(minute="30", hour="18"), priority=SWEEP_PRIORITY, name="crm.tiers_nightly")
@lock_task("crm.tiers_nightly")
def tiers_nightly() -> dict[str, object]:
    """Every customer's tier as of today: idempotent, so a rerun (or a worker restarted half-way: each threshold
    profile is one transaction) changes nothing twice and writes history only for tiers that changed."""
    result = services.tiers_compute().as_dict()
    logger.info("tiers: %s", result)
    return result
