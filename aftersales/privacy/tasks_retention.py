"""Job-worker task of the retention purge (Huey).  Imported at start-up by `apps.PrivacyConfig.ready` (Huey's
discovery imports only modules named `tasks`).  Thin: call the service, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.privacy import retention

logger = logging.getLogger("aftersales.jobs")


# Mondays 01:10 UTC (09:10 in China): the privacy officers find the week's dry run in their inbox in the morning.
@db_periodic_task(crontab(minute="10", hour="1", day_of_week="1"), priority=3, name="privacy.retention_review")
@lock_task("privacy.retention_review")
def retention_weekly_dry_run() -> dict[str, int]:
    """Once a week: a dry run per dealer group, the privacy officers told to review it.  Never purges."""
    result = retention.retention_weekly_review()
    logger.info("retention weekly dry run: %s", result)
    return result
