"""Background jobs of the analytics app (Huey): closed-period snapshots, early warnings, reports."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.analytics import snapshots

logger = logging.getLogger("aftersales.jobs")


# 19:30 UTC is 03:30 in Asia/Shanghai: after the tiers (02:30), before the morning.
@db_periodic_task(crontab(minute="30", hour="19"), priority=5, name="analytics.kpi_snapshots_nightly")
@lock_task("analytics.kpi_snapshots_nightly")
def kpi_snapshots_nightly() -> int:
    """Missing, unsettled and stale KPI snapshots of the closed periods of the last 13 months (snapshots.py)."""
    computed = snapshots.snapshot_refresh()
    logger.info("kpi snapshots: %s (scope, period) pairs computed", computed)
    return computed
