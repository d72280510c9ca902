"""Job-worker task of the forecast (Huey).  Thin: call the idempotent sweep, log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.forecast import services

logger = logging.getLogger("aftersales.jobs")


# Huey's schedule is in UTC: 17:40 UTC is 01:40 in China, at night.  It runs every night but computes a store's
# forecast once a week (the first night of the week, or the first night the worker is up after that): the sweep
# skips the stores whose forecast of the current week is already cached.
@db_periodic_task(crontab(minute="40", hour="17"), priority=3, name="forecast.sweep")
@lock_task("forecast.sweep")
def forecast_sweep() -> dict[str, int]:
    """Each store's 8-week forecast, its backtest and labour facts, cached for the week."""
    result = services.forecast_sweep().as_dict()
    logger.info("forecast sweep: %s", result)
    return result
