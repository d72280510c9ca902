"""Job-worker task of the staff app (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.staff import services

logger = logging.getLogger("aftersales.jobs")


# 00:40 UTC is 08:40 in China: the managers find the day's certificate alerts in their inbox in the morning.
@db_periodic_task(crontab(minute="40", hour="0"), priority=5, name="staff.certificate_expiry")
@lock_task("staff.certificate_expiry")
def certificate_expiry() -> dict[str, int]:
    """Once a day: certificate expiry alerts.  Each (certificate, store, threshold, expiry day) is claimed once,
    in the same transaction as its inbox items, so a rerun does nothing twice."""
    result = services.certificate_expiry_sweep().as_dict()
    logger.info("certificate expiry sweep: %s", result)
    return result
