"""Entered years of the official calendar (core.calendar + core.calendar_import + `aftersales calendar`).

The 2027 notice used is docs/calendar-2027.example.json (an illustrative notice, not the State Council's): Spring
Festival Fri 5 Feb (除夕) – Sat 13 Feb off, make-up working days Sun 14 Feb and Sat 20 Feb; New Year 1–3 Jan;
Qingming 3–5 Apr; Labour Day 1–5 May (Sat 8 May worked); 9 Jun; 15 Sep; National Day 1–7 Oct (Sun 26 Sep and
Sat 9 Oct worked).  Without it, 2027 falls back to Monday–Friday (the package's data ends with 2026).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction

from aftersales.config.testing import make_customer
from aftersales.core import calendar
from aftersales.core.calendar import CHINA_TZ, add_working_days, calendar_source, is_working_day
from aftersales.core.calendar_import import calendar_year_import, calendar_year_parse
from aftersales.core.models import AuditEntry, CalendarGap, OfficialCalendarYear
from aftersales.feedback import services as feedback

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "docs" / "calendar-2027.example.json"


def notice_2027() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def end_of(year: int, month: int, day: int) -> dt.datetime:
    return bj(year, month, day).replace(hour=23, minute=59, second=59)


@pytest.fixture(autouse=True)
def fresh_calendar(monkeypatch):
    """No entered year cached from another test (a rolled-back import leaves no signal), no year warned about."""
    monkeypatch.setattr(calendar, "_warned_years", set())
    calendar.forget_entered_years()
    yield
    calendar.forget_entered_years()


def errors_of(data) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as err:
        calendar_year_import(data, by=None)
    return err.value.message_dict


@pytest.mark.django_db
class TestImport:
    def test_the_example_file_is_entered_and_the_clocks_use_it(self, cast):
        assert calendar_source(2027) == "none"
        row = calendar_year_import(notice_2027(), by=cast.grace)
        assert row.year == 2027 and len(row.holidays) == 29 and row.workdays[0] == "2027-02-14"
        assert row.entered_by == cast.grace and row.notice.startswith("示例")
        assert calendar_source(2027) == "entered"
        assert not is_working_day(dt.date(2027, 2, 8))  # a Monday of the Spring Festival
        assert is_working_day(dt.date(2027, 2, 14))  # a Sunday worked instead (调休)
        assert not is_working_day(dt.date(2027, 2, 21))  # an ordinary Sunday
        assert is_working_day(dt.date(2027, 2, 15))  # an ordinary Monday
        entry = AuditEntry.objects.get(action="calendar.import")
        assert entry.actor == cast.grace and entry.object_id == str(row.pk)
        assert entry.changes["year"] == 2027 and "2027-02-05" in entry.changes["holidays"]
        assert "replaced" not in entry.changes

    def test_importing_a_year_again_replaces_it(self, cast):
        calendar_year_import(notice_2027(), by=None)
        assert not is_working_day(dt.date(2027, 6, 9))
        changed = notice_2027()
        changed["holidays"].remove("2027-06-09")
        changed["holidays"] += ["2027-06-10", "2027-06-11"]
        changed["workdays"] += ["2027-06-13"]  # a Sunday
        calendar_year_import(changed, by=cast.grace)
        assert OfficialCalendarYear.objects.count() == 1
        assert is_working_day(dt.date(2027, 6, 9)) and not is_working_day(dt.date(2027, 6, 10))
        assert is_working_day(dt.date(2027, 6, 13))
        last = AuditEntry.objects.filter(action="calendar.import").order_by("-id").first()
        assert "2027-06-09" in last.changes["replaced"]["holidays"]

    def test_an_entered_year_comes_before_the_package(self):
        # Suppose 2026's Labour Day were moved: the entered year wins over the package's data.
        assert not is_working_day(dt.date(2026, 5, 4))
        calendar_year_import({"year": 2026, "holidays": ["2026-05-01"], "workdays": []}, by=None)
        assert calendar_source(2026) == "entered"
        assert is_working_day(dt.date(2026, 5, 4))
        assert not is_working_day(dt.date(2026, 5, 1))

    def test_a_notice_may_move_the_last_days_of_the_year_before(self):
        # Like the 2023 notice (Sat 31 Dec 2022 off) and the 2012 one (Sat 31 Dec 2011 worked).
        data = notice_2027()
        data["holidays"].append("2026-12-31")  # a Thursday, in the package's year 2026
        data["workdays"].append("2026-12-27")  # a Sunday
        calendar_year_import(data, by=None)
        assert not is_working_day(dt.date(2026, 12, 31))
        assert is_working_day(dt.date(2026, 12, 27))
        assert is_working_day(dt.date(2026, 12, 30))  # the package's ordinary Wednesday
        source, holidays, workdays = calendar.official_days(2026)
        assert source == "package" and dt.date(2026, 12, 31) in holidays and dt.date(2026, 12, 27) in workdays

    def test_the_import_is_read_cheaply(self, django_assert_max_num_queries):
        calendar_year_import(notice_2027(), by=None)
        calendar.forget_entered_years()
        with django_assert_max_num_queries(3):  # 2026 (December spill) and 2027, read once each
            for _ in range(20):
                add_working_days(bj(2027, 2, 4, 10), 3)


@pytest.mark.django_db
class TestValidation:
    def test_a_bad_date_is_named_by_its_place(self):
        data = notice_2027()
        data["holidays"][3] = "2027-13-01"
        assert errors_of(data) == {"holidays": ["holidays[3]: 2027-13-01 is not a date (YYYY-MM-DD)."]}

    @pytest.mark.parametrize("value", ["2027/02/05", "20270205", 20270205, None, "2027-2-5"])
    def test_only_iso_dates(self, value):
        data = notice_2027()
        data["workdays"][1] = value
        assert list(errors_of(data)) == ["workdays"]
        assert errors_of(data)["workdays"][0].startswith("workdays[1]: ")

    def test_a_make_up_working_day_is_a_weekend_day(self):
        data = notice_2027()
        data["workdays"].append("2027-02-15")  # a Monday
        assert errors_of(data) == {
            "workdays": ["workdays[5]: 2027-02-15 is a weekday; a make-up working day is a Saturday or a Sunday."]
        }

    def test_a_day_is_not_both_nor_twice(self):
        data = notice_2027()
        data["workdays"].append("2027-02-13")  # a Saturday of the holiday
        data["holidays"].append("2027-01-02")
        errors = errors_of(data)
        assert errors["workdays"] == ["workdays[5]: 2027-02-13 is also a holiday."]
        assert errors["holidays"] == ["holidays[29]: 2027-01-02 is listed twice (also at 1)."]

    @pytest.mark.parametrize("day", ["2028-01-01", "2026-12-24", "2025-02-05"])
    def test_dates_lie_in_the_notices_range(self, day):
        data = notice_2027()
        data["holidays"].append(day)
        (message,) = errors_of(data)["holidays"]
        assert message.startswith(f"holidays[29]: {day} is outside the notice's range (2026-12-25 to 2027-12-31)")

    @pytest.mark.parametrize("year", [1999, 2101, "2027", True, None, 2027.0])
    def test_the_year(self, year):
        data = notice_2027()
        data["year"] = year
        assert "year" in errors_of(data)

    def test_holidays_are_required_and_workdays_may_be_empty(self):
        assert errors_of({"year": 2027, "holidays": [], "workdays": []}) == {
            "holidays": ["holidays: the notice gives at least one holiday."]
        }
        assert "holidays" in errors_of({"year": 2027, "workdays": []})
        assert calendar_year_import({"year": 2027, "holidays": ["2027-01-01"]}, by=None).workdays == []

    def test_unknown_fields_and_a_long_notice(self):
        data = notice_2027() | {"workday": []}
        assert errors_of(data) == {"file": ["Unknown field(s): workday (expected year, holidays, workdays, notice)."]}
        assert "notice" in errors_of(notice_2027() | {"notice": "x" * 121})

    def test_nothing_is_written_on_any_error(self):
        data = notice_2027()
        data["workdays"].append("2027-02-15")
        errors_of(data)
        assert not OfficialCalendarYear.objects.exists() and not AuditEntry.objects.exists()
        assert calendar_source(2027) == "none"

    def test_the_file_must_be_a_json_object(self):
        for text in ("{", "[1, 2]", b"\xff\xfe{", b" " * (65 * 1024)):
            with pytest.raises(ValidationError) as err:
                calendar_year_parse(text)
            assert list(err.value.message_dict) == ["file"]
        assert calendar_year_parse('\ufeff{"year": 2027}') == {"year": 2027}


@pytest.mark.django_db
class TestSuggestionClock:
    """SPEC: a suggestion received just before an entered Spring Festival is due after the holiday."""

    def log(self, cast, received_at):
        customer = make_customer(cast.store_a, by=cast.alice)
        with time_machine.travel(received_at + dt.timedelta(minutes=5), tick=False):
            return feedback.suggestion_log(
                store=cast.store_a,
                customer=customer,
                channel="customer_page",
                description="希望春节期间也能预约保养",
                received_at=received_at,
                by=cast.alice,
            )

    def test_without_the_notice_2027_counts_monday_to_friday(self, cast):
        # Thu 4 Feb 2027 → Fri 5, Mon 8, Tue 9: the clock runs out in the middle of the Spring Festival.
        assert self.log(cast, bj(2027, 2, 4, 16)).decision_due == end_of(2027, 2, 9)
        assert CalendarGap.objects.filter(year=2027, first_reached_at__isnull=False).exists()

    def test_received_on_the_last_working_day_before_the_entered_spring_festival(self, cast):
        calendar_year_import(notice_2027(), by=cast.grace)
        # Thu 4 Feb 2027 → 5–13 Feb off; Sun 14 (make-up, 1), Mon 15 (2), Tue 16 (3).
        assert self.log(cast, bj(2027, 2, 4, 16)).decision_due == end_of(2027, 2, 16)

    def test_received_on_the_friday_the_festival_begins(self, cast):
        calendar_year_import(notice_2027(), by=cast.grace)
        # Fri 5 Feb 2027 (除夕, off): counting starts after the day; the same due time.
        assert self.log(cast, bj(2027, 2, 5, 9, 30)).decision_due == end_of(2027, 2, 16)
        # The Friday before (29 Jan): Mon 1, Tue 2, Wed 3 Feb: before the holiday, unchanged.
        assert self.log(cast, bj(2027, 1, 29, 9, 30)).decision_due == end_of(2027, 2, 3)
        assert not CalendarGap.objects.exists()


@pytest.mark.django_db
class TestGap:
    def test_a_clock_reaching_a_year_without_calendar_records_it_once_and_warns(self, caplog):
        caplog.set_level(logging.WARNING, logger="aftersales.core.calendar")
        assert calendar_source(2027) == "none"
        with time_machine.travel(bj(2026, 12, 31, 10), tick=False):
            due = add_working_days(bj(2026, 12, 31, 10), 3)
        assert due == end_of(2027, 1, 5)  # Fri 1, Mon 4, Tue 5 Jan (Monday–Friday: New Year's Day is not known)
        gap = CalendarGap.objects.get()
        assert gap.year == 2027 and gap.first_reached_at == bj(2026, 12, 31, 10) and gap.alerted_at is None
        add_working_days(bj(2027, 3, 1, 10), 3)
        assert CalendarGap.objects.count() == 1
        warnings = [r for r in caplog.records if "2027" in r.getMessage()]
        assert len(warnings) == 1 and "calendar import" in warnings[0].getMessage()
        assert calendar.years_without_calendar([2028, 2026, 2028, 2027]) == [2027, 2028]

    def test_recording_inside_the_callers_transaction_leaves_it_usable(self, cast):
        with transaction.atomic():
            add_working_days(bj(2029, 3, 1, 10), 1)
            cast.store_a.refresh_from_db()  # the transaction still works (PostgreSQL aborts it after an error)
        assert CalendarGap.objects.filter(year=2029).exists()

    def test_a_database_that_cannot_be_read_only_logs(self, monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("no such table: core_officialcalendaryear")

        monkeypatch.setattr(OfficialCalendarYear.objects, "filter", broken)
        monkeypatch.setattr(CalendarGap.objects, "get_or_create", broken)
        assert is_working_day(dt.date(2030, 1, 2))  # a Wednesday: Monday–Friday, no exception
        assert calendar_source(2030) == "none"


@pytest.mark.django_db
class TestCommand:
    def write(self, tmp_path, data) -> str:
        path = tmp_path / "notice.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return str(path)

    def test_import_prints_a_summary_and_the_months(self, tmp_path, capsys):
        call_command("calendar", "import", str(EXAMPLE))
        out = capsys.readouterr().out
        assert "Entered 2027" in out and "29 holidays, 5 make-up working days" in out
        assert "Feb: holidays 5 Fri, 6 Sat" in out and "make-up working days 14 Sun, 20 Sat" in out
        assert OfficialCalendarYear.objects.get().entered_by is None
        assert AuditEntry.objects.get(action="calendar.import").actor is None

    def test_an_invalid_file_exits_2_and_writes_nothing(self, tmp_path):
        data = notice_2027()
        data["workdays"][0] = "2027-02-15"
        with pytest.raises(CommandError) as err:
            call_command("calendar", "import", self.write(tmp_path, data))
        assert err.value.returncode == 2
        assert "workdays[0]: 2027-02-15 is a weekday" in str(err.value)
        with pytest.raises(CommandError) as err:
            call_command("calendar", "import", str(tmp_path / "missing.json"))
        assert err.value.returncode == 2
        assert not OfficialCalendarYear.objects.exists()

    def test_show_names_the_source(self, capsys):
        call_command("calendar", "show", "2026")
        out = capsys.readouterr().out
        assert out.startswith("2026: from the chinese-calendar package")
        assert "Feb: holidays 15 Sun" in out and "make-up working days 14 Sat, 28 Sat" in out
        call_command("calendar", "show", "2031")
        out = capsys.readouterr().out
        assert "2031: NO CALENDAR. Monday–Friday is assumed" in out and "aftersales calendar import FILE" in out
        assert not CalendarGap.objects.exists()  # looking at a year is not a clock reaching into it


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["AFTERSALES_DATA_DIR"] = str(data_dir)
    return subprocess.run(  # noqa: S603 - our own console script
        [sys.executable, "-m", "aftersales", "calendar", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_the_console_script_exits_2_with_the_reason_on_stderr(tmp_path):
    bad = copy.deepcopy(notice_2027())
    bad["holidays"][3] = "2027-13-01"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = run_cli("import", str(path), data_dir=tmp_path)
    assert result.returncode == 2
    # The reasons are in the product's language (zh-Hans by default); the field's place is the same in any.
    assert "holidays[3]" in result.stderr and "2027-13-01" in result.stderr and "nothing was written" in result.stderr
    assert result.stdout == ""
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    result = run_cli("import", str(tmp_path / "broken.json"), data_dir=tmp_path)
    assert result.returncode == 2 and "JSON" in result.stderr
