"""`reports_sweep`: a report whose worker stopped is marked failed with the reason in the report's language (so a
new request is not answered with the dead run), one never handed to the worker is handed again, and a run that is
still beating or freshly queued is left alone.  Controlled clock."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from aftersales.analytics.models import ReportRun, ReportStatus
from aftersales.analytics.reports import services

T0 = dt.datetime(2026, 6, 10, 2, 0, tzinfo=dt.UTC)


def _run(cast, *, status: str, language: str = "en", at: dt.datetime = T0, format: str = "xlsx") -> ReportRun:
    with time_machine.travel(at, tick=False):
        return ReportRun.objects.create(
            group=cast.group, store=cast.store_a, period="2026-05", format=format, language=language, status=status,
            requested_by=cast.mia,
        )  # fmt: skip


@pytest.mark.django_db
def test_a_silent_running_report_fails_with_the_reason_and_a_new_request_makes_a_new_run(
    cast, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    dead = _run(cast, status=ReportStatus.RUNNING)
    chinese = _run(cast, status=ReportStatus.RUNNING, language="zh-hans")
    beating = _run(cast, status=ReportStatus.RUNNING, at=T0 + dt.timedelta(minutes=20), format="pdf")
    with time_machine.travel(T0 + dt.timedelta(minutes=29), tick=False):
        assert services.reports_sweep().failed == 0  # 29 minutes of silence: still waited for
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        assert services.reports_sweep().failed == 2
        dead.refresh_from_db()
        chinese.refresh_from_db()
        beating.refresh_from_db()
        assert dead.status == ReportStatus.FAILED and "worker stopped" in dead.error
        assert dead.finished_at == T0 + dt.timedelta(minutes=31)
        assert chinese.status == ReportStatus.FAILED and "重新" in chinese.error
        assert beating.status == ReportStatus.RUNNING
        with django_capture_on_commit_callbacks(execute=True):
            again = services.report_request(
                user=cast.mia, store=cast.store_a, period="2026-05", format="xlsx", language="en"
            )
        assert again.pk not in {dead.pk, chinese.pk, beating.pk}
        again.refresh_from_db()
        assert again.status == ReportStatus.DONE


@pytest.mark.django_db
def test_progress_is_the_heartbeat(cast):
    run = _run(cast, status=ReportStatus.RUNNING)
    with time_machine.travel(T0 + dt.timedelta(minutes=25), tick=False):
        services._progress(run.pk)(40, "sheet 2")
    with time_machine.travel(T0 + dt.timedelta(minutes=40), tick=False):
        assert services.reports_sweep().failed == 0
    run.refresh_from_db()
    assert (run.status, run.progress) == (ReportStatus.RUNNING, 40)


@pytest.mark.django_db
def test_a_run_left_queued_is_handed_to_the_worker_again(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    stuck = _run(cast, status=ReportStatus.QUEUED)
    fresh = _run(cast, status=ReportStatus.QUEUED, at=T0 + dt.timedelta(minutes=10))
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        result = services.reports_sweep()  # the worker runs in immediate mode in tests
    assert (result.failed, result.handed_again) == (0, 1)
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == ReportStatus.DONE and stuck.progress == 100
    assert fresh.status == ReportStatus.QUEUED
