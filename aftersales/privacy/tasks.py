"""Job-worker task of the rights requests (Huey).  Thin: call the idempotent escalation sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.privacy import services

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="*/5"), priority=10, name="privacy.rights_request_sweep")
@lock_task("privacy.rights_request_sweep")
def rights_request_sweep() -> dict[str, int]:
    """Every five minutes (clocks of days need no finer step): requests with 80 % of their time run go to the
    store's managers, overdue ones to the group's privacy officers; each level is claimed once, so a rerun (or a
    worker killed half-way) tells nobody twice."""
    result = services.rights_request_escalation_sweep()
    logger.info("rights request sweep: store=%s group=%s", result.store, result.group)
    return {"store": result.store, "group": result.group}
