"""The official calendar's pages (/organisation/settings/calendar/): who reads and who enters, the 12-month grid,
the form with the same validator as `aftersales calendar import`, and the settings page's banner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.core import calendar
from aftersales.core.calendar import CHINA_TZ, add_working_days, is_working_day
from aftersales.core.models import AuditEntry, OfficialCalendarYear
from aftersales.organisation.choices import Role

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "calendar-2027.example.json"
LIST = "/organisation/settings/calendar/"


def year_url(year: int) -> str:
    return reverse("organisation:calendar-year", kwargs={"year": year})


@pytest.fixture(autouse=True)
def fresh_calendar(monkeypatch):
    monkeypatch.setattr(calendar, "_warned_years", set())
    calendar.forget_entered_years()
    yield
    calendar.forget_entered_years()


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions read the English texts


@pytest.fixture
def admin(cast):
    return make_user("ada", Role.ADMIN, group=cast.group)


def at(year, month, day, hour=10):
    return time_machine.travel(dt.datetime(year, month, day, hour, tzinfo=CHINA_TZ), tick=False)


class TestAccess:
    def test_urls(self):
        assert reverse("organisation:calendar") == LIST
        assert year_url(2027) == LIST + "2027/"

    def test_staff_without_the_capabilities_are_refused(self, cast, client):
        for user in (cast.alice, cast.mia, cast.tom):
            client.force_login(user)
            assert client.get(LIST).status_code == 403
            assert client.get(year_url(2027)).status_code == 403
            assert client.post(year_url(2027), {"text": EXAMPLE.read_text()}).status_code == 403
        assert not OfficialCalendarYear.objects.exists()

    def test_a_group_manager_reads_but_may_not_enter(self, cast, client):
        client.force_login(cast.grace)
        page = client.get(year_url(2026))
        assert page.status_code == 200 and b'id="calendar-import"' not in page.content
        assert client.post(year_url(2027), {"text": EXAMPLE.read_text()}).status_code == 403
        assert not OfficialCalendarYear.objects.exists()

    def test_the_menu_entry(self, cast, admin, client):
        client.force_login(admin)
        assert f'href="{LIST}"'.encode() in client.get(year_url(2026)).content
        client.force_login(cast.alice)
        assert f'href="{LIST}"'.encode() not in client.get("/").content


class TestPages:
    def test_the_list_shows_each_years_source(self, admin, client, django_assert_max_num_queries):
        client.force_login(admin)
        OfficialCalendarYear.objects.create(year=2028, holidays=["2028-01-01"], workdays=[], notice="N")
        with at(2026, 12, 6), django_assert_max_num_queries(16):
            page = client.get(LIST)
        text = page.content.decode()
        assert page.status_code == 200
        assert 'data-year="2026" data-source="package"' in text
        assert 'data-year="2027" data-source="none"' in text
        assert 'data-year="2028" data-source="entered"' in text

    def test_the_year_grid_marks_holidays_make_up_days_and_weekends(self, admin, client, django_assert_max_num_queries):
        client.force_login(admin)
        with django_assert_max_num_queries(16):
            page = client.get(year_url(2026))
        text = page.content.decode()
        assert 'data-source="package"' in text
        assert (
            '<td class="p-1 bg-danger-subtle text-danger-emphasis fw-semibold" '
            'data-day="2026-02-16" data-kind="holiday"' in text
        )
        assert 'data-day="2026-02-14" data-kind="workday"' in text  # Sat 14 Feb 2026 worked
        assert 'data-day="2026-03-07" data-kind="weekend"' in text
        assert 'data-day="2026-03-09" data-kind="work"' in text
        assert text.count("data-day=") == 365

    def test_a_year_without_a_calendar_says_so_and_records_no_gap(self, admin, client):
        client.force_login(admin)
        text = client.get(year_url(2031)).content.decode()
        assert 'data-source="none"' in text and "Monday–Friday" in text
        assert 'data-kind="holiday"' not in text
        from aftersales.core.models import CalendarGap

        assert not CalendarGap.objects.exists()

    def test_pasting_the_notice_enters_the_year(self, admin, client):
        client.force_login(admin)
        response = client.post(year_url(2027), {"text": EXAMPLE.read_text(encoding="utf-8")})
        assert response.status_code == 302 and response["Location"] == year_url(2027)
        row = OfficialCalendarYear.objects.get()
        assert row.entered_by == admin and AuditEntry.objects.get(action="calendar.import").actor == admin
        assert not is_working_day(dt.date(2027, 2, 8))
        text = client.get(year_url(2027)).content.decode()
        assert 'data-source="entered"' in text and 'data-day="2027-02-14" data-kind="workday"' in text
        assert 'data-day="2027-02-08" data-kind="holiday"' in text

    def test_uploading_the_file_enters_the_year(self, admin, client):
        client.force_login(admin)
        upload = SimpleUploadedFile("2027.json", EXAMPLE.read_bytes(), content_type="application/json")
        response = client.post(LIST, {"file": upload})
        assert response.status_code == 302 and response["Location"] == year_url(2027)
        assert OfficialCalendarYear.objects.get().year == 2027

    def test_errors_name_the_field_and_nothing_is_entered(self, admin, client):
        client.force_login(admin)
        data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
        data["holidays"][3] = "2027-13-01"
        data["workdays"].append("2027-02-15")
        response = client.post(year_url(2027), {"text": json.dumps(data)})
        text = response.content.decode()
        assert response.status_code == 400
        assert "holidays[3]: 2027-13-01 is not a date (YYYY-MM-DD)." in text
        assert "workdays[5]: 2027-02-15 is a weekday" in text
        assert "2027-13-01" in text.split('id="calendar-text"')[1]  # the pasted text is kept to correct
        assert client.post(year_url(2027), {"text": "{oops"}).status_code == 400
        assert client.post(year_url(2027), {"text": " "}).status_code == 400
        assert not OfficialCalendarYear.objects.exists()


class TestSettingsBanner:
    def test_in_december_next_year_without_a_calendar_is_shown(self, cast, client):
        client.force_login(cast.grace)
        with at(2026, 11, 30):
            assert b'id="calendar-banner"' not in client.get("/organisation/settings/").content
        with at(2026, 12, 1):
            text = client.get("/organisation/settings/").content.decode()
        assert 'id="calendar-banner"' in text and "2027" in text and f'href="{year_url(2027)}"' in text

    def test_a_year_a_clock_reached_is_shown_until_entered(self, cast, client):
        client.force_login(cast.mia)  # a store manager: sees the warning, may not open the page
        with at(2026, 10, 10):
            add_working_days(dt.datetime(2026, 12, 31, 10, tzinfo=CHINA_TZ), 3)  # reaches 2027
            text = client.get("/organisation/settings/").content.decode()
            assert 'id="calendar-banner"' in text and "Ask an administrator" in text
            OfficialCalendarYear.objects.create(year=2027, holidays=["2027-01-01"], workdays=[])
            calendar.forget_entered_years()
            assert b'id="calendar-banner"' not in client.get("/organisation/settings/").content
