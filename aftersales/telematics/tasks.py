"""Job-worker tasks of the telematics app (Huey).  Thin: call the idempotent services, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.telematics import services

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="*/10"), priority=5, name="telematics.sweep")
@lock_task("telematics.sweep")
def telematics_sweep() -> dict[str, int]:
    """Every 10 minutes: apply the rules to events an intake stored without applying them (none, normally), and
    close the alerts whose episode window has passed.  Both are idempotent: one open alert per vehicle and rule."""
    result = {
        "opened": services.vehicle_events_evaluate_pending(),
        "closed": services.vehicle_alerts_close_stale(),
    }
    logger.info("telematics sweep: %s", result)
    return result


# 03:40 UTC is 11:40 in China: the privacy jobs' quiet hour.
@db_periodic_task(crontab(minute="40", hour="3"), priority=3, name="telematics.retention")
@lock_task("telematics.retention")
def telematics_retention() -> int:
    """Once a day: coarsen the precise positions older than each group's location_retention_days (SPEC §10)."""
    done = services.vehicle_event_locations_coarsen()
    logger.info("telematics retention: %s positions coarsened", done)
    return done
