"""Reports (fixes of the issue-12 review): a file holding plates in full is downloaded only by a reader who may
see them over its stores (others get 404 and may produce their own, masked copy); every download is audited; a
group's report carries no customer's name (SPEC §10), only pseudonyms, with the store codes kept; the monthly mail
skips inactive managers, never posts a group's report to a store's WeCom robot and never picks an inactive store."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from aftersales.analytics.models import ReportRun, ReportStatus
from aftersales.analytics.reports import services, tables
from aftersales.analytics.tests import test_reports as base
from aftersales.config.testing import make_user
from aftersales.core.models import AuditEntry
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.organisation.models import SettingValue

pytestmark = pytest.mark.django_db
_produce = base._produce
# The fixtures: May 2026's bookings at SH01 and HZ01 (plates 沪A12345, 浙A54321), the clock on 10 June, media.
bookings, clock_at_now, media = base.bookings, base.clock_at_now, base.media


def _text(book: openpyxl.Workbook, sheet: str | None = None) -> str:
    sheets = [book[sheet]] if sheet else book.worksheets
    return " ".join(
        str(cell) for ws in sheets for row in ws.iter_rows(values_only=True) for cell in row if cell is not None
    )


def _store_run(cast, capture, user=None) -> ReportRun:
    return _produce(capture, user=user or cast.mia, store=cast.store_a, period="2026-05", format="xlsx", language="en")


def test_a_file_with_full_plates_is_not_handed_to_a_reader_without_see_plates(
    bookings, client, clock_at_now, django_capture_on_commit_callbacks
):
    run = _store_run(bookings, django_capture_on_commit_callbacks)
    assert run.plates_in_full  # mia may see SH01's plates: her file holds them
    assert "沪A12345" in _text(openpyxl.load_workbook(run.file.path, read_only=True), "Bookings")
    client.force_login(bookings.grace)  # the group's manager: VIEW_KPIS in SH01, no SEE_PLATES
    assert client.get(reverse("analytics:report-download", args=[run.pk])).status_code == 404
    assert not AuditEntry.objects.filter(action="report.download").exists()
    # The list offers her own copy instead of the download; asking for it makes a masked file she may take.
    runs = client.get(reverse("analytics:report-runs")).content.decode()
    assert f'data-own-copy="{run.pk}"' in runs
    assert reverse("analytics:report-download", args=[run.pk]) not in runs
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("analytics:reports"), {"period": "2026-05", "store": "SH01", "format": "xlsx", "language": "en"}
        )
    assert response.status_code == 302
    own = ReportRun.objects.get(requested_by=bookings.grace)
    assert (own.status, own.plates_in_full) == (ReportStatus.DONE, False)
    download = client.get(reverse("analytics:report-download", args=[own.pk]))
    assert download.status_code == 200
    text = _text(openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True))
    assert "沪A12345" not in text and "沪A·***45" in text
    entry = AuditEntry.objects.get(action="report.download")
    assert (entry.actor, entry.object_id, entry.store_id) == (bookings.grace, str(own.pk), bookings.store_a.pk)
    assert entry.changes["plates_in_full"] is False


def test_the_requester_downloads_audited_and_the_service_refuses_others(
    bookings, client, clock_at_now, django_capture_on_commit_callbacks
):
    from django.core.exceptions import PermissionDenied

    run = _store_run(bookings, django_capture_on_commit_callbacks)
    client.force_login(bookings.mia)
    assert client.get(reverse("analytics:report-download", args=[run.pk])).status_code == 200
    entry = AuditEntry.objects.get(action="report.download")
    assert (entry.actor, entry.changes["plates_in_full"], entry.changes["scope"]) == (bookings.mia, True, "SH01")
    with pytest.raises(PermissionDenied):
        services.report_file_for_user(user=bookings.grace, run=run)
    assert AuditEntry.objects.filter(action="report.download").count() == 1


def test_a_group_report_has_pseudonyms_not_customer_names(bookings, clock_at_now, django_capture_on_commit_callbacks):
    admin = make_user("ada", Role.ADMIN, group=bookings.group)  # sees plates in every store of the group
    run = _produce(
        django_capture_on_commit_callbacks,
        user=admin,
        group=bookings.group,
        period="2026-05",
        format="xlsx",
        language="en",
    )
    assert run.status == ReportStatus.DONE, run.error
    book = openpyxl.load_workbook(run.file.path, read_only=True)
    text = _text(book)
    assert "王五" not in text and "赵六" not in text  # customers' names
    assert "SH01" in text and "HZ01" in text  # store codes stay
    rows = list(book["Bookings"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Online booking rate:")) + 1
    header = rows[start]
    records = []
    for r in rows[start + 1 :]:
        if r[0] is None:
            break
        records.append(r)
    sh01 = [r[header.index("Customer")] for r in records if r[header.index("Store")] == "SH01"]
    expected = tables.customer_pseudonym(bookings.store_a.customers.get().pk, f"run-{run.pk}")
    assert sh01 and set(sh01) == {expected} and expected.startswith("C-")
    # A store's report for its own manager keeps the names (the store's staff serve those customers).
    store_run = _store_run(bookings, django_capture_on_commit_callbacks)
    assert "王五" in _text(openpyxl.load_workbook(store_run.file.path, read_only=True), "Bookings")


def _monthly_group_run(bookings, capture) -> None:
    SettingValue.objects.create(group=bookings.group, store=None, key=services.SEND_SETTING, value=1)
    with time_machine.travel(dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC), tick=False):
        with capture(execute=True):
            services.reports_monthly()
        services.reports_monthly()


def test_a_group_report_is_not_posted_to_a_store_robot_nor_to_inactive_managers(
    bookings, django_capture_on_commit_callbacks
):
    bookings.store_b.wecom_webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=hz01"
    bookings.store_b.save()
    gone = make_user("gus", Role.GROUP_MANAGER, group=bookings.group)
    gone.is_active = False
    gone.save()
    run = ReportRun(group=bookings.group, store=None, period="2026-05", format="pdf")
    assert services._managers(run) == [bookings.grace]  # not gus
    _monthly_group_run(bookings, django_capture_on_commit_callbacks)
    assert InboxItem.objects.filter(recipient=bookings.grace).count() == 2
    assert not InboxItem.objects.filter(recipient=gone).exists()
    group_runs = [str(pk) for pk in ReportRun.objects.filter(store__isnull=True).values_list("pk", flat=True)]
    assert len(group_runs) == 2
    assert not OutboxMessage.objects.filter(channel="wecom", related_id__in=group_runs).exists()
    # (HZ01's own monthly reports, on the group's setting too, go to its robot: its readers are its staff.)
    assert OutboxMessage.objects.filter(channel="wecom", store=bookings.store_b).exclude(related_id__in=group_runs)


def test_a_group_report_is_not_delivered_through_an_inactive_store(bookings, django_capture_on_commit_callbacks):
    bookings.store_b.is_active = False  # HZ01 comes first by code
    bookings.store_b.save()
    _monthly_group_run(bookings, django_capture_on_commit_callbacks)
    items = InboxItem.objects.filter(recipient=bookings.grace)
    assert items.count() == 2
    assert {item.store_id for item in items} == {bookings.store_a.pk}
