"""Background jobs of the analytics app (Huey): closed-period snapshots, early warnings, reports."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

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


# ---- scorecards and early warnings (scorecards.py, warnings.py) -----------------------------------------------
# 20:00 UTC is 04:00 in Asia/Shanghai: after the snapshots (03:30), so the sweep's trends read settled figures.
@db_periodic_task(crontab(minute="0", hour="20"), priority=5, name="analytics.warnings_sweep")
@lock_task("analytics.warnings_sweep")
def warnings_sweep_task() -> int:
    """Early warnings of the month just ended (red, three worse months); each raised once (KpiAlert's unique
    constraints), so the daily rerun only adds what late records changed."""
    from aftersales.analytics import warnings

    raised = warnings.warnings_sweep()
    logger.info("early warnings: %s raised", len(raised))
    return len(raised)


# 20:30 UTC is 04:30 in Asia/Shanghai; the job itself only works in the month's first week.
@db_periodic_task(crontab(minute="30", hour="20"), priority=5, name="analytics.scorecards_sweep")
@lock_task("analytics.scorecards_sweep")
def scorecards_sweep_task() -> int:
    """Advisor scorecard drafts of the month (and quarter) just ended; reviewed ones are never recomputed."""
    from aftersales.analytics import scorecards

    computed = scorecards.scorecards_sweep()
    logger.info("scorecards: %s drafts computed", computed)
    return computed


# ---- reports (reports/services.py) ----------------------------------------------------------------------------
@db_task(priority=1)  # below the sweeps: a report may take a while and nobody's customer waits for it
def report_produce_task(run_id: int) -> None:
    from aftersales.analytics.reports import services as report_services

    run = report_services.report_produce(run_id=run_id)
    logger.info("report #%s: %s", run_id, run.status if run is not None else "not queued (taken or done)")


@db_periodic_task(crontab(minute="*/10"), priority=5, name="analytics.reports_sweep")
@lock_task("analytics.reports_sweep")
def reports_sweep_task() -> dict[str, int]:
    """Runs whose worker stopped are marked failed; runs never handed over are handed again."""
    from aftersales.analytics.reports import services as report_services

    result = report_services.reports_sweep()
    if result.failed or result.handed_again:
        logger.info("report sweep: %s failed, %s handed again", result.failed, result.handed_again)
    return {"failed": result.failed, "handed_again": result.handed_again}


# 22:00 UTC is 06:00 in Asia/Shanghai: last month's reports are ready when the managers arrive.  Daily in the
# month's first week (the job checks), so a worker down on the 1st still sends them on the 2nd.
@db_periodic_task(crontab(minute="0", hour="22"), priority=5, name="analytics.reports_monthly")
@lock_task("analytics.reports_monthly")
def reports_monthly_task() -> dict[str, int]:
    from aftersales.analytics.reports import services as report_services

    result = report_services.reports_monthly().as_dict()
    logger.info("monthly reports: %s", result)
    return result


# ---- frequent issues from free text (comment_issues.py) -------------------------------------------------------
# 19:00 UTC is 03:00 in Asia/Shanghai: yesterday's comments are read before the morning's review.
@db_periodic_task(crontab(minute="0", hour="19"), priority=5, name="analytics.comments_sweep")
@lock_task("analytics.comments_sweep")
def comments_sweep_task() -> int:
    """The store-months whose comments changed since the last run are read again (each read whole: idempotent)."""
    from aftersales.analytics import comment_issues

    results = comment_issues.comments_sweep()
    logger.info("comment issues: %s store-months read", len(results))
    return len(results)


@db_task(priority=3)
def comments_scan_task(store_ids: list[int], month: str) -> int:
    """A month's comments of some stores read again on request (the frequent-issues page's button)."""
    from aftersales.analytics import comment_issues
    from aftersales.analytics.periods import Period

    period = Period.parse(month)
    for store_id in store_ids:
        comment_issues.comments_scan(store=store_id, period=period)
    logger.info("comment issues: %s read again for %s stores", month, len(store_ids))
    return len(store_ids)
