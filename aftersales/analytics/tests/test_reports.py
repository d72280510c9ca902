"""KPI reports: who may ask for which, bad input named by field, the worker's XLSX (read back with openpyxl:
the same figures as the catalogue, the records behind them) and PDF (read back with pypdf: the store's code and a
KPI label in Chinese), progress to 100, failures recorded, the download checked, the monthly sending."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from pypdf import PdfReader

from aftersales.analytics.models import ReportRun, ReportStatus
from aftersales.analytics.periods import Period
from aftersales.analytics.reports import services, xlsx
from aftersales.analytics.selectors import kpi_drilldown, kpi_figures, scope_for_group, scope_for_store
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import SettingValue
from aftersales.service.choices import BookingChannel, ServiceType
from aftersales.service.models import Appointment, Slot

NOW = dt.datetime(2026, 6, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, June 2026
MAY = Period.parse("2026-05")
_minutes = itertools.count()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock_at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def _book(store, customer, *, when: dt.datetime, channel: str) -> Appointment:
    start = when + dt.timedelta(minutes=next(_minutes))
    slot = Slot.objects.create(store=store, start=start, end=start + dt.timedelta(hours=1), capacity=4)
    return Appointment.objects.create(
        store=store,
        slot=slot,
        customer=customer,
        vehicle=customer.vehicles.first(),
        service_type=ServiceType.MAINTENANCE,
        channel=channel,
    )


@pytest.fixture
def bookings(cast):
    """May 2026: three online bookings and one by phone at SH01 (75 %), one by phone at HZ01; one in April."""
    customer = make_customer(cast.store_a, name="王五")
    make_vehicle(customer, plate="沪A12345")
    other = make_customer(cast.store_b, name="赵六")
    make_vehicle(other, plate="浙A54321")
    may = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)
    for channel in (BookingChannel.ONLINE, BookingChannel.ONLINE, BookingChannel.ONLINE, BookingChannel.PHONE):
        _book(cast.store_a, customer, when=may, channel=channel)
    _book(cast.store_b, other, when=may, channel=BookingChannel.PHONE)
    _book(cast.store_a, customer, when=dt.datetime(2026, 4, 20, 2, 0, tzinfo=dt.UTC), channel=BookingChannel.PHONE)
    return cast


def _produce(django_capture_on_commit_callbacks, **kwargs) -> ReportRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.report_request(**kwargs)
    run.refresh_from_db()
    return run


# ------------------------------------------------------------------------------------------------ request


@pytest.mark.django_db
class TestRequest:
    def test_an_advisor_is_refused(self, cast, clock_at_now):
        with pytest.raises(PermissionDenied):
            services.report_request(user=cast.alice, store=cast.store_a, period="2026-05", format="xlsx", language="en")
        assert not ReportRun.objects.exists()

    def test_a_manager_is_refused_another_store_and_the_group(self, cast, clock_at_now):
        with pytest.raises(PermissionDenied):
            services.report_request(user=cast.mia, store=cast.store_b, period="2026-05", format="xlsx", language="en")
        with pytest.raises(PermissionDenied):  # the group's figures include the sister store's records
            services.report_request(user=cast.mia, group=cast.group, period="2026-05", format="pdf", language="en")
        with pytest.raises(PermissionDenied):
            services.report_request(user=cast.otto, group=cast.group, period="2026-05", format="pdf", language="en")

    def test_the_group_manager_may_ask_for_the_group(self, cast, clock_at_now):
        run = services.report_request(user=cast.grace, group=cast.group, period="2026-Q2", format="pdf", language="en")
        assert (run.store, run.group, run.period, run.status) == (None, cast.group, "2026-Q2", ReportStatus.QUEUED)

    @pytest.mark.parametrize(
        ("field", "changes"),
        [
            ("period", {"period": "2026-13"}),
            ("period", {"period": "May 2026"}),
            ("period", {"period": "2026-07"}),  # has not begun on 10 June
            ("format", {"format": "docx"}),
            ("language", {"language": "fr"}),
        ],
    )
    def test_bad_input_names_the_field(self, cast, clock_at_now, field, changes):
        arguments = {"user": cast.mia, "store": cast.store_a, "period": "2026-05", "format": "xlsx", "language": "en"}
        with pytest.raises(ValidationError) as error:
            services.report_request(**(arguments | changes))
        assert set(error.value.message_dict) == {field}
        assert not ReportRun.objects.exists()

    def test_neither_or_both_scopes_name_the_store(self, cast, clock_at_now):
        for scope in ({}, {"store": cast.store_a, "group": cast.group}):
            with pytest.raises(ValidationError) as error:
                services.report_request(user=cast.mia, period="2026-05", format="xlsx", language="en", **scope)
            assert "store" in error.value.message_dict

    def test_a_double_click_makes_one_run(self, cast, clock_at_now):
        first = services.report_request(
            user=cast.mia, store=cast.store_a, period="2026-05", format="xlsx", language="en"
        )
        again = services.report_request(
            user=cast.mia, store=cast.store_a, period="2026-05", format="xlsx", language="en"
        )
        assert first.pk == again.pk


# ------------------------------------------------------------------------------------------------ produce


@pytest.mark.django_db
class TestXlsx:
    def test_the_summary_has_the_catalogue_figures_and_the_sheets_the_records(
        self, bookings, clock_at_now, django_capture_on_commit_callbacks
    ):
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.mia,
            store=bookings.store_a,
            period="2026-05",
            format="xlsx",
            language="en",
        )
        assert (run.status, run.progress, run.error) == (ReportStatus.DONE, 100, "")
        assert run.file.name.endswith(".xlsx") and run.finished_at is not None
        book = openpyxl.load_workbook(run.file.path, read_only=True)
        summary = list(book["Summary"].iter_rows(values_only=True))
        assert summary[0][0] == "KPI report: SH01 上海店"
        headings = summary[4]
        by_key = {row[headings.index("Key")]: row for row in summary[5:] if row[headings.index("Key")]}
        figures = kpi_figures(scope_for_store(bookings.store_a), MAY, now=NOW)
        assert set(by_key) == set(figures)
        for key, result in figures.items():
            row = by_key[key]
            value = row[headings.index("Value")]
            assert (None if value is None else Decimal(str(value))) == result.value, key
            assert Decimal(str(row[headings.index("Numerator")])) == Decimal(result.numerator), key
            assert row[headings.index("Denominator")] == result.denominator, key
        online = by_key["online_booking_rate_percent"]
        assert (online[headings.index("Value")], online[headings.index("Numerator")]) == (75, 3)
        assert online[headings.index("Denominator")] == 4
        assert online[headings.index("Status")] == "Near target"  # 75 % against 80 %, within the 5-point band
        # the previous period (April: one phone booking) and the change in points
        assert online[headings.index("Previous period")] == 0
        assert online[headings.index("Change vs previous period")] == 75

        # the Bookings sheet lists the four appointments behind the online-booking rate, no more (HZ01's is not)
        rows = list(book["Bookings"].iter_rows(values_only=True))
        start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Online booking rate:"))
        header = rows[start + 1]
        records = []
        for r in rows[start + 2 :]:
            if r[0] is None:
                break
            records.append(r)
        expected = list(
            kpi_drilldown("online_booking_rate_percent", scope_for_store(bookings.store_a), MAY, now=NOW)
            .order_by("pk")
            .values_list("pk", "channel")
        )
        assert [r[0] for r in records] == [pk for pk, _channel in expected]
        assert len(records) == 4
        counts = [r[header.index("Counts in the numerator")] for r in records]
        assert counts.count("Yes") == 3 and counts.count("No") == 1
        assert "Online (customer's phone)" in [r[header.index("Channel")] for r in records]  # labels, not codes

    def test_plates_masked_without_see_plates(self, bookings, clock_at_now, django_capture_on_commit_callbacks):
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.grace,
            group=bookings.group,
            period="2026-05",
            format="xlsx",
            language="en",
        )
        text = " ".join(
            str(cell)
            for row in openpyxl.load_workbook(run.file.path, read_only=True)["Bookings"].iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
        assert "沪A12345" not in text and "沪A·***45" in text
        assert "浙A·***21" in text  # the group report covers both stores

    def test_group_summary_is_the_group_figure(self, bookings, clock_at_now, django_capture_on_commit_callbacks):
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.grace,
            group=bookings.group,
            period="2026-05",
            format="xlsx",
            language="zh-hans",
        )
        book = openpyxl.load_workbook(run.file.path, read_only=True)
        summary = list(book.worksheets[0].iter_rows(values_only=True))
        row = next(r for r in summary if r and r[-1] == "online_booking_rate_percent")
        group = kpi_figures(scope_for_group(bookings.group), MAY, now=NOW)["online_booking_rate_percent"]
        assert (Decimal(str(row[2])), row[4], row[5]) == (group.value, 3, 5)  # 60 %, not the mean of 75 and 0

    def test_a_failure_is_recorded_with_its_message(
        self, bookings, clock_at_now, django_capture_on_commit_callbacks, monkeypatch
    ):
        def broken(*_args, **_kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(xlsx, "write_xlsx", broken)
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.mia,
            store=bookings.store_a,
            period="2026-05",
            format="xlsx",
            language="en",
        )
        assert run.status == ReportStatus.FAILED
        assert run.error == "OSError: disk full"
        assert not run.file

    def test_a_run_is_produced_once(self, bookings, clock_at_now, django_capture_on_commit_callbacks):
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.mia,
            store=bookings.store_a,
            period="2026-05",
            format="xlsx",
            language="en",
        )
        assert services.report_produce(run_id=run.pk) is None  # a task delivered twice does nothing


@pytest.mark.django_db
def test_pdf_in_chinese_has_the_store_and_a_kpi_label(bookings, clock_at_now, django_capture_on_commit_callbacks):
    steps: list[tuple[int, str]] = []
    original = services._progress

    def recording(run_id):
        report = original(run_id)

        def both(percent, step):
            steps.append((percent, str(step)))
            report(percent, step)

        return both

    services._progress = recording
    try:
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.mia,
            store=bookings.store_a,
            period="2026-05",
            format="pdf",
            language="zh-hans",
        )
    finally:
        services._progress = original
    assert (run.status, run.progress) == (ReportStatus.DONE, 100), run.error
    text = "".join(page.extract_text() for page in PdfReader(run.file.path).pages)
    assert "SH01" in text
    assert "线上预约率" in text  # the online booking rate's label in Chinese
    assert len(PdfReader(run.file.path).pages) >= 3  # cover, summary, charts
    percents = [percent for percent, _step in steps]
    assert percents == sorted(percents) and len(steps) >= 5  # the run told its progress step by step


# ------------------------------------------------------------------------------------------------ page


@pytest.mark.django_db
class TestPage:
    def test_the_page_requests_and_lists_with_polling_then_downloads(
        self, bookings, client, clock_at_now, django_capture_on_commit_callbacks
    ):
        client.force_login(bookings.mia)
        page = client.get(reverse("analytics:reports"))
        assert page.status_code == 200
        assert 'value="2026-05"' in page.content.decode()  # last month by default
        with django_capture_on_commit_callbacks(execute=False) as callbacks:  # the worker has not run yet
            response = client.post(
                reverse("analytics:reports"),
                {"period": "2026-05", "store": "SH01", "format": "xlsx", "language": "en"},
            )
        assert response.status_code == 302
        runs = client.get(reverse("analytics:report-runs")).content.decode()
        assert 'hx-trigger="every 2s"' in runs and "progress-bar" in runs
        for callback in callbacks:
            callback()
        runs = client.get(reverse("analytics:report-runs")).content.decode()
        assert "every 2s" not in runs  # nothing left to follow
        run = ReportRun.objects.get()
        download = client.get(reverse("analytics:report-download", args=[run.pk]))
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith('attachment; filename="kpi-report-SH01-2026-05-en.xlsx"')
        assert openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)

    def test_an_unknown_store_and_a_bad_period_are_named_on_the_form(self, bookings, client, clock_at_now):
        client.force_login(bookings.mia)
        response = client.post(
            reverse("analytics:reports"), {"period": "2026-5", "store": "HZ01", "format": "xlsx", "language": "en"}
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.errors) == {"store"}  # HZ01 is not offered to SH01's manager
        response = client.post(
            reverse("analytics:reports"), {"period": "2026-5", "store": "SH01", "format": "xlsx", "language": "en"}
        )
        assert set(response.context["form"].errors) == {"period"}
        assert not ReportRun.objects.exists()

    def test_another_store_cannot_download_and_an_advisor_has_no_page(
        self, bookings, client, clock_at_now, django_capture_on_commit_callbacks
    ):
        run = _produce(
            django_capture_on_commit_callbacks,
            user=bookings.mia,
            store=bookings.store_a,
            period="2026-05",
            format="xlsx",
            language="en",
        )
        client.force_login(bookings.otto)
        assert client.get(reverse("analytics:report-download", args=[run.pk])).status_code == 404
        client.force_login(bookings.alice)
        assert client.get(reverse("analytics:report-download", args=[run.pk])).status_code == 404
        assert client.get(reverse("analytics:reports")).status_code == 403
        client.force_login(bookings.grace)  # the group's manager reads SH01's figures, but not mia's full plates
        assert client.get(reverse("analytics:report-download", args=[run.pk])).status_code == 404


# ------------------------------------------------------------------------------------------------ monthly


@pytest.mark.django_db
def test_monthly_reports_go_to_the_store_managers_once(bookings, django_capture_on_commit_callbacks):
    SettingValue.objects.create(group=bookings.group, store=bookings.store_a, key=services.SEND_SETTING, value=1)
    with time_machine.travel(dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC), tick=False):  # 2 June, 06:30
        with django_capture_on_commit_callbacks(execute=True):
            result = services.reports_monthly()
        assert result.queued == 2  # PDF and XLSX of SH01 only (HZ01 and the group have the setting off)
        runs = ReportRun.objects.order_by("format")
        assert [(r.store, r.period, r.status) for r in runs] == [
            (bookings.store_a, "2026-05", ReportStatus.DONE),
            (bookings.store_a, "2026-05", ReportStatus.DONE),
        ]
        sent = services.reports_monthly()  # the run finished after the first pass: this pass sends
        again = services.reports_monthly()
    assert (sent.queued, sent.sent) == (0, 2) and (again.queued, again.sent) == (0, 0)
    items = InboxItem.objects.filter(recipient=bookings.mia)
    assert items.count() == 2
    item = items.first()
    assert item.url.startswith("/numbers/reports/") and "2026-05" in item.text_en
    assert "2026-05" in item.text_zh_hans
    assert not InboxItem.objects.exclude(recipient=bookings.mia).exists()  # advisors get nothing
    assert all(run.sent_to_managers for run in ReportRun.objects.all())


@pytest.mark.django_db
def test_monthly_reports_wait_for_the_first_week(bookings):
    SettingValue.objects.create(group=bookings.group, store=None, key=services.SEND_SETTING, value=1)
    with time_machine.travel(dt.datetime(2026, 6, 15, 2, 0, tzinfo=dt.UTC), tick=False):
        assert services.reports_monthly().queued == 0
    assert not ReportRun.objects.exists()


@pytest.mark.django_db
def test_the_xlsx_queries_do_not_grow_with_the_records(bookings, clock_at_now, django_capture_on_commit_callbacks):
    """No query per record: the drill-downs are one streamed query per KPI, related numbers joined in it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def produce(language: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            run = _produce(
                django_capture_on_commit_callbacks,
                user=bookings.mia,
                store=bookings.store_a,
                period="2026-05",
                format="xlsx",
                language=language,
            )
        assert run.status == ReportStatus.DONE
        return len(queries)

    produce("en")  # warms the per-process caches (content types, catalogue) the first run fills
    few = produce("zh-hans")
    customer = Appointment.objects.filter(store=bookings.store_a).first().customer
    for _n in range(20):
        _book(bookings.store_a, customer, when=dt.datetime(2026, 5, 20, 2, 0, tzinfo=dt.UTC), channel="online")
    many = produce("en")
    assert many == few
    # settings, a figure, and one streamed drill-down per KPI, plus the progress updates (40 KPIs with issue 16's)
    assert few < 340
