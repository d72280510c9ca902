"""Job-worker task of the audits app (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.audits import services

logger = logging.getLogger("aftersales.jobs")


# 00:50 UTC is 08:50 in China: the owners find the day's overdue findings in their inbox in the morning.
@db_periodic_task(crontab(minute="50", hour="0"), priority=5, name="audits.findings_overdue")
@lock_task("audits.findings_overdue")
def findings_overdue() -> int:
    """Once a day: each open finding past its due date is told to its owner and the store's managers, once
    (claimed by `overdue_alerted_at`), so a rerun tells nobody twice."""
    alerted = services.finding_overdue_sweep()
    logger.info("audit findings overdue sweep: %s alerted", alerted)
    return alerted
