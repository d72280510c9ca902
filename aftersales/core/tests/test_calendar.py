"""China's working-day calendar and the SLA clock arithmetic (core.calendar), with a store's closed days.

Every expected answer is computed by hand from the State Council's holiday notices, as the installed
chinese-calendar data has them (checked against it; `TestOfficialCalendarData` pins the dates relied on):

* National Day + Mid-autumn 2025: Wed 1 Oct – Wed 8 Oct off; Sun 28 Sep and Sat 11 Oct are make-up working days.
* Spring Festival 2026: Sun 15 Feb – Mon 23 Feb off; Sat 14 Feb and Sat 28 Feb are make-up working days.
* Labour Day 2026: Fri 1 May – Tue 5 May off; Sat 9 May is a make-up working day.
* November 2025 has no holiday: an ordinary Monday–Friday month (Sat 15, Sun 16 Nov off).
* The library's data ends with 2026: 2027 uses the Monday–Friday fallback.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from aftersales.core import calendar, clock
from aftersales.core.calendar import (
    CHINA_TZ,
    add_calendar_hours,
    add_working_days,
    format_countdown,
    is_working_day,
    remaining,
    working_days_between,
)
from aftersales.core.models import AuditEntry
from aftersales.organisation.models import ClosedDay
from aftersales.organisation.selectors import closed_days_for_store
from aftersales.organisation.services import closed_day_add, closed_day_remove


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A Beijing-time moment."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=CHINA_TZ)


def end_of(year: int, month: int, day: int) -> dt.datetime:
    """24:00 of a Beijing date, as the calendar represents it (23:59:59)."""
    return bj(year, month, day, 23, 59, 59)


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Forget which unknown years were already warned about, so a test sees its own warning."""
    monkeypatch.setattr(calendar, "_warned_years", set())


class TestOfficialCalendarData:
    """The holiday dates the other tests rely on, as the installed chinese-calendar has them."""

    @pytest.mark.parametrize(
        "day",
        [dt.date(2025, 10, d) for d in range(1, 9)]  # National Day 2025: 1–8 Oct
        + [dt.date(2026, 2, d) for d in range(15, 24)]  # Spring Festival 2026: 15–23 Feb
        + [dt.date(2026, 5, d) for d in range(1, 6)],  # Labour Day 2026: 1–5 May
    )
    def test_statutory_holidays_are_off(self, day):
        assert not is_working_day(day)

    @pytest.mark.parametrize(
        "day",
        [
            dt.date(2025, 9, 28),  # Sunday, make-up for National Day 2025
            dt.date(2025, 10, 11),  # Saturday, make-up for National Day 2025
            dt.date(2026, 2, 14),  # Saturday, make-up for Spring Festival 2026
            dt.date(2026, 2, 28),  # Saturday, make-up for Spring Festival 2026
            dt.date(2026, 5, 9),  # Saturday, make-up for Labour Day 2026
        ],
    )
    def test_make_up_weekend_days_are_working_days(self, day):
        assert day.weekday() >= 5
        assert is_working_day(day)

    def test_an_ordinary_week(self):
        week = [dt.date(2025, 11, 10) + dt.timedelta(days=i) for i in range(7)]  # Mon 10 – Sun 16 Nov 2025
        assert [is_working_day(d) for d in week] == [True] * 5 + [False] * 2

    def test_the_days_around_a_holiday_are_working_days(self):
        assert is_working_day(dt.date(2025, 9, 30))  # Tuesday before National Day
        assert is_working_day(dt.date(2025, 10, 9))  # Thursday after it
        assert not is_working_day(dt.date(2025, 10, 12))  # Sunday after the make-up Saturday

    def test_a_datetime_is_refused_so_no_one_takes_a_utc_date_for_a_beijing_one(self):
        with pytest.raises(TypeError):
            is_working_day(bj(2025, 11, 10, 9))


class TestStoreClosedDaysInTheCalendar:
    def test_an_extra_closed_day_is_off(self):
        stock_take = dt.date(2025, 11, 12)  # a Wednesday
        assert is_working_day(stock_take)
        assert not is_working_day(stock_take, closed_days=[stock_take])
        assert is_working_day(dt.date(2025, 11, 13), closed_days=[stock_take])

    def test_closed_days_can_be_any_iterable(self):
        closed = (d for d in [dt.date(2025, 11, 12)])
        assert not is_working_day(dt.date(2025, 11, 12), closed_days=closed)

    def test_a_closed_make_up_saturday_is_off(self):
        assert not is_working_day(dt.date(2025, 10, 11), closed_days={dt.date(2025, 10, 11)})


class TestAddWorkingDays:
    def test_across_a_weekend(self):
        # Thu 13 Nov 2025 → Fri 14 (1), Sat 15 and Sun 16 off, Mon 17 (2), Tue 18 (3).
        assert add_working_days(bj(2025, 11, 13, 10, 0), 3) == end_of(2025, 11, 18)

    def test_within_one_week(self):
        # Mon 10 Nov 2025 → Tue 11 (1), Wed 12 (2), Thu 13 (3).
        assert add_working_days(bj(2025, 11, 10, 10, 0), 3) == end_of(2025, 11, 13)

    def test_across_national_day_landing_on_the_make_up_saturday(self):
        # Tue 30 Sep 2025 → 1–8 Oct off, Thu 9 Oct (1), Fri 10 Oct (2), Sat 11 Oct make-up (3).
        due = add_working_days(bj(2025, 9, 30, 15, 0), 3)
        assert due == end_of(2025, 10, 11)
        assert due.weekday() == 5

    def test_a_make_up_sunday_is_counted(self):
        # Fri 26 Sep 2025 → Sat 27 off, Sun 28 make-up (1), Mon 29 (2), Tue 30 (3).
        # (Counting Sunday as a rest day would push the due time past the holiday, to Thu 9 Oct.)
        assert add_working_days(bj(2025, 9, 26, 16, 0), 3) == end_of(2025, 9, 30)

    def test_across_spring_festival_2026(self):
        # Thu 12 Feb 2026 → Fri 13 (1), Sat 14 make-up (2), 15–23 Feb off, Tue 24 (3).
        assert add_working_days(bj(2026, 2, 12, 11, 0), 3) == end_of(2026, 2, 24)

    def test_across_labour_day_2026(self):
        # Wed 29 Apr 2026 → Thu 30 (1), 1–5 May off, Wed 6 (2), Thu 7 (3).
        assert add_working_days(bj(2026, 4, 29, 9, 30), 3) == end_of(2026, 5, 7)

    def test_landing_on_the_labour_day_make_up_saturday(self):
        # Fri 8 May 2026 → Sat 9 May is a make-up working day (1).
        assert add_working_days(bj(2026, 5, 8, 17, 0), 1) == end_of(2026, 5, 9)

    def test_a_store_closed_day_is_skipped(self):
        # Thu 13 Nov 2025, the store closed on Mon 17 → Fri 14 (1), Tue 18 (2), Wed 19 (3).
        due = add_working_days(bj(2025, 11, 13, 10, 0), 3, closed_days=[dt.date(2025, 11, 17)])
        assert due == end_of(2025, 11, 19)

    def test_a_store_closed_on_a_holiday_changes_nothing(self):
        closed = [dt.date(2025, 10, 3)]
        assert add_working_days(bj(2025, 9, 30, 15, 0), 3, closed_days=closed) == end_of(2025, 10, 11)

    def test_start_on_a_holiday(self):
        # Thu 2 Oct 2025 (National Day) → 3–8 Oct off, Thu 9 (1), Fri 10 (2), Sat 11 make-up (3).
        assert add_working_days(bj(2025, 10, 2, 11, 0), 3) == end_of(2025, 10, 11)

    def test_start_on_a_weekend(self):
        # Sat 15 Nov 2025 → Mon 17 (1), Tue 18 (2), Wed 19 (3): the same as a Friday receipt.
        assert add_working_days(bj(2025, 11, 15, 14, 0), 3) == end_of(2025, 11, 19)
        assert add_working_days(bj(2025, 11, 14, 14, 0), 3) == end_of(2025, 11, 19)

    def test_the_time_of_day_does_not_matter(self):
        # Mon 10 Nov 2025, first or last minute of the day → Thu 13 Nov, end of day.
        assert add_working_days(bj(2025, 11, 10, 0, 0), 3) == end_of(2025, 11, 13)
        assert add_working_days(bj(2025, 11, 10, 23, 59), 3) == end_of(2025, 11, 13)

    def test_start_late_in_the_day_in_utc_counts_from_the_beijing_date(self):
        # 16:30 UTC on Mon 10 Nov is 00:30 on Tue 11 Nov in Beijing → Wed 12 (1), Thu 13 (2), Fri 14 (3).
        start = dt.datetime(2025, 11, 10, 16, 30, tzinfo=dt.UTC)
        assert add_working_days(start, 3) == end_of(2025, 11, 14)

    def test_the_result_is_in_beijing_time(self):
        due = add_working_days(dt.datetime(2025, 11, 10, 2, 0, tzinfo=dt.UTC), 1)
        assert due.tzinfo == CHINA_TZ
        assert due.isoformat() == "2025-11-11T23:59:59+08:00"

    def test_zero_days_is_the_end_of_the_same_working_day(self):
        assert add_working_days(bj(2025, 11, 10, 10, 0), 0) == end_of(2025, 11, 10)

    def test_zero_days_from_a_rest_day_is_the_end_of_the_next_working_day(self):
        # Sat 15 Nov 2025 → Mon 17; Wed 1 Oct 2025 → Thu 9 Oct.
        assert add_working_days(bj(2025, 11, 15, 10, 0), 0) == end_of(2025, 11, 17)
        assert add_working_days(bj(2025, 10, 1, 10, 0), 0) == end_of(2025, 10, 9)

    def test_negative_days_are_refused(self):
        with pytest.raises(ValueError, match="negative"):
            add_working_days(bj(2025, 11, 10, 10, 0), -1)

    def test_a_naive_start_is_refused(self):
        with pytest.raises(ValueError, match="aware"):
            add_working_days(dt.datetime(2025, 11, 10, 10, 0), 3)

    def test_a_date_or_fractional_days_are_refused(self):
        with pytest.raises(TypeError):
            add_working_days(dt.date(2025, 11, 10), 3)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            add_working_days(bj(2025, 11, 10), 1.5)  # type: ignore[arg-type]

    def test_a_store_closed_every_day_is_reported_not_looped_forever(self):
        start = bj(2025, 11, 10, 10, 0)
        closed = {start.date() + dt.timedelta(days=i) for i in range(1, 4000)}
        with pytest.raises(ValueError, match="closed days"):
            add_working_days(start, 1, closed_days=closed)


class TestYearOutsideTheLibrarysData:
    def test_2027_falls_back_to_monday_to_friday_and_warns_once(self, fresh_warnings, caplog):
        caplog.set_level(logging.WARNING, logger="aftersales.core.calendar")
        # 2027 is not in the installed data: Mon 4 Jan 2027 works, Sat 9 Jan does not.
        assert is_working_day(dt.date(2027, 1, 4))
        assert not is_working_day(dt.date(2027, 1, 9))
        assert is_working_day(dt.date(2027, 1, 5))
        warnings = [r for r in caplog.records if "2027" in r.getMessage()]
        assert len(warnings) == 1
        assert "Monday–Friday" in warnings[0].getMessage()

    def test_the_fallback_counts_new_years_day_2027_as_a_plain_friday(self, fresh_warnings):
        # Thu 31 Dec 2026 (known) → Fri 1 Jan 2027 (fallback: a weekday, so working) is day 1.
        assert add_working_days(bj(2026, 12, 31, 10, 0), 1) == end_of(2027, 1, 1)
        # … and over the fallback weekend: Fri 1 Jan → Mon 4 (1), Tue 5 (2), Wed 6 (3).
        assert add_working_days(bj(2027, 1, 1, 10, 0), 3) == end_of(2027, 1, 6)

    def test_a_year_before_the_data_falls_back_too(self, fresh_warnings):
        assert is_working_day(dt.date(2003, 10, 1))  # a Wednesday; the library starts in 2004
        assert not is_working_day(dt.date(2003, 10, 4))  # a Saturday

    def test_store_closed_days_still_apply_in_the_fallback(self, fresh_warnings):
        assert not is_working_day(dt.date(2027, 1, 4), closed_days=[dt.date(2027, 1, 4)])


class TestWorkingDaysBetween:
    def test_across_national_day(self):
        # After Tue 30 Sep 2025 up to Sat 11 Oct: Thu 9, Fri 10, Sat 11 (make-up) = 3.
        assert working_days_between(bj(2025, 9, 30, 15), bj(2025, 10, 11, 8)) == 3

    def test_across_a_weekend_with_a_closed_day(self):
        # After Thu 13 Nov 2025 up to Wed 19: Fri 14, Mon 17, Tue 18, Wed 19 = 4; closed Tue 18 → 3.
        assert working_days_between(bj(2025, 11, 13), bj(2025, 11, 19)) == 4
        assert working_days_between(bj(2025, 11, 13), bj(2025, 11, 19), closed_days=[dt.date(2025, 11, 18)]) == 3

    def test_the_same_day_is_zero_and_reversed_is_negative(self):
        assert working_days_between(bj(2025, 11, 10, 9), bj(2025, 11, 10, 18)) == 0
        assert working_days_between(bj(2025, 10, 11, 8), bj(2025, 9, 30, 15)) == -3

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError):
            working_days_between(dt.datetime(2025, 11, 10), bj(2025, 11, 12))
        with pytest.raises(ValueError):
            working_days_between(bj(2025, 11, 10), dt.datetime(2025, 11, 12))

    @given(
        start=st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 9, 30)),
        days=st.integers(min_value=1, max_value=40),
        closed_offsets=st.sets(st.integers(min_value=0, max_value=60), max_size=5),
    )
    def test_it_inverts_add_working_days_and_the_due_day_is_a_working_day(self, start, days, closed_offsets):
        start = start.replace(tzinfo=CHINA_TZ)
        closed = {start.date() + dt.timedelta(days=o) for o in closed_offsets}
        due = add_working_days(start, days, closed_days=closed)
        assert working_days_between(start, due, closed_days=closed) == days
        assert is_working_day(due.date(), closed_days=closed)
        assert due.timetz() == dt.time(23, 59, 59, tzinfo=CHINA_TZ)


class TestCalendarHours:
    def test_hours_run_through_nights_weekends_and_holidays(self):
        # A complaint on Tue 30 Sep 2025 at 20:00: 72 h later is Fri 3 Oct at 20:00, a National Day holiday.
        assert add_calendar_hours(bj(2025, 9, 30, 20, 0), 72) == bj(2025, 10, 3, 20, 0)
        assert add_calendar_hours(bj(2025, 11, 14, 18, 0), 48) == bj(2025, 11, 16, 18, 0)  # Fri → Sun

    def test_fractions_and_zero(self):
        assert add_calendar_hours(bj(2025, 11, 10, 9, 0), 1.5) == bj(2025, 11, 10, 10, 30)
        assert add_calendar_hours(bj(2025, 11, 10, 9, 0), 0) == bj(2025, 11, 10, 9, 0)

    def test_a_utc_start_gives_a_beijing_result(self):
        due = add_calendar_hours(dt.datetime(2025, 11, 10, 1, 0, tzinfo=dt.UTC), 2)
        assert due.isoformat() == "2025-11-10T11:00:00+08:00"

    def test_naive_negative_and_non_finite_are_refused(self):
        with pytest.raises(ValueError):
            add_calendar_hours(dt.datetime(2025, 11, 10, 9), 2)
        with pytest.raises(ValueError):
            add_calendar_hours(bj(2025, 11, 10, 9), -1)
        with pytest.raises(ValueError):
            add_calendar_hours(bj(2025, 11, 10, 9), float("inf"))
        with pytest.raises(TypeError):
            add_calendar_hours(bj(2025, 11, 10, 9), "2")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("now", "left", "shown"),
        [
            (bj(2025, 10, 1, 11, 29), dt.timedelta(minutes=1), "1 min"),  # one minute before
            (bj(2025, 10, 1, 11, 30), dt.timedelta(0), "0 min"),  # at the due time: not yet overdue
            (bj(2025, 10, 1, 11, 31), dt.timedelta(minutes=-1), "overdue 1 min"),  # one minute after
        ],
    )
    def test_an_acknowledge_clock_at_its_edges(self, now, left, shown):
        # Received on 1 Oct 2025 (a holiday: calendar hours still run) at 09:30; acknowledge within 2 h.
        due = add_calendar_hours(bj(2025, 10, 1, 9, 30), 2)
        assert due == bj(2025, 10, 1, 11, 30)
        with time_machine.travel(now, tick=False):
            delta = remaining(due, clock.now())
        assert delta == left
        assert (delta < dt.timedelta(0)) is (now > due)
        assert format_countdown(delta) == shown

    def test_a_resolve_clock_counted_down_with_a_controlled_clock(self):
        due = add_calendar_hours(bj(2025, 11, 10, 9, 0), 72)  # Thu 13 Nov 09:00
        with time_machine.travel(bj(2025, 11, 12, 7, 55), tick=False):
            assert format_countdown(remaining(due, clock.now())) == "1 d 01 h"
        with time_machine.travel(bj(2025, 11, 13, 7, 55), tick=False):
            assert format_countdown(remaining(due, clock.now())) == "1 h 05 min"
        with time_machine.travel(bj(2025, 11, 13, 9, 12, 30), tick=False):
            assert format_countdown(remaining(due, clock.now())) == "overdue 12 min"

    def test_remaining_refuses_naive_datetimes(self):
        with pytest.raises(ValueError):
            remaining(dt.datetime(2025, 11, 10, 9), bj(2025, 11, 10, 8))
        with pytest.raises(ValueError):
            remaining(bj(2025, 11, 10, 9), dt.datetime(2025, 11, 10, 8))


class TestFormatCountdown:
    @pytest.mark.parametrize(
        ("delta", "shown"),
        [
            (dt.timedelta(minutes=45), "45 min"),
            (dt.timedelta(seconds=59), "0 min"),  # whole minutes, rounded down
            (dt.timedelta(hours=1, minutes=5), "1 h 05 min"),
            (dt.timedelta(hours=23, minutes=59, seconds=59), "23 h 59 min"),
            (dt.timedelta(days=2, hours=3, minutes=40), "2 d 03 h"),
            (dt.timedelta(minutes=-12), "overdue 12 min"),
            (dt.timedelta(minutes=-12, seconds=-30), "overdue 12 min"),
            (dt.timedelta(hours=-26), "overdue 1 d 02 h"),
        ],
    )
    def test_texts(self, delta, shown):
        assert format_countdown(delta) == shown


@pytest.mark.django_db
class TestStoreClosedDayRecords:
    def test_add_records_and_audits_and_the_selector_returns_the_dates(self, cast):
        closed = closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 17), reason=" 年度盘点 ", by=cast.mia)
        assert closed.reason == "年度盘点"
        closed_day_add(store=cast.store_b, day=dt.date(2025, 11, 18), reason="装修", by=cast.grace)
        assert closed_days_for_store(cast.store_a) == frozenset({dt.date(2025, 11, 17)})
        entry = AuditEntry.objects.get(action="closed_day.add", store_id=cast.store_a.pk)
        assert entry.actor == cast.mia
        assert entry.changes == {"date": "2025-11-17", "reason": "年度盘点"}

    def test_the_stores_closed_days_move_its_due_times(self, cast):
        closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 17), reason="年度盘点", by=cast.mia)
        start = bj(2025, 11, 13, 10, 0)
        assert add_working_days(start, 3, closed_days=closed_days_for_store(cast.store_a)) == end_of(2025, 11, 19)
        assert add_working_days(start, 3, closed_days=closed_days_for_store(cast.store_b)) == end_of(2025, 11, 18)

    def test_a_day_already_closed_or_a_missing_reason_is_refused(self, cast):
        closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 17), reason="年度盘点", by=cast.mia)
        with pytest.raises(ValidationError) as err:
            closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 17), reason="again", by=cast.mia)
        assert "day" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 18), reason="  ", by=cast.mia)
        assert "reason" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 18), reason="x" * 121, by=cast.mia)
        assert "reason" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            closed_day_add(store=cast.store_a, day=bj(2025, 11, 18), reason="x", by=cast.mia)  # type: ignore[arg-type]
        assert "day" in err.value.message_dict
        assert ClosedDay.objects.count() == 1

    def test_the_database_keeps_one_row_per_store_and_date(self, cast):
        ClosedDay.objects.create(store=cast.store_a, date=dt.date(2025, 11, 17), reason="a")
        ClosedDay.objects.create(store=cast.store_b, date=dt.date(2025, 11, 17), reason="b")
        with pytest.raises(IntegrityError), transaction.atomic():
            ClosedDay.objects.create(store=cast.store_a, date=dt.date(2025, 11, 17), reason="c")

    def test_remove_reopens_the_day_and_audits(self, cast):
        closed_day_add(store=cast.store_a, day=dt.date(2025, 11, 17), reason="年度盘点", by=cast.mia)
        closed_day_remove(store=cast.store_a, day=dt.date(2025, 11, 17), by=cast.mia)
        assert closed_days_for_store(cast.store_a) == frozenset()
        entry = AuditEntry.objects.get(action="closed_day.remove")
        assert entry.store_id == cast.store_a.pk
        assert entry.changes == {"date": "2025-11-17", "reason": "年度盘点"}
        with pytest.raises(ValidationError):
            closed_day_remove(store=cast.store_a, day=dt.date(2025, 11, 17), by=cast.mia)

    def test_the_store_admin_shows_and_audits_closed_days(self, cast, client):
        from django.contrib.auth import get_user_model

        root = get_user_model().objects.create_superuser("root", password="pw-root")
        client.force_login(root)
        page = client.get(f"/admin/organisation/store/{cast.store_a.pk}/change/")
        assert page.status_code == 200
        assert b"closed_days-TOTAL_FORMS" in page.content
        assert client.get("/admin/organisation/closedday/").status_code == 200
        response = client.post(
            "/admin/organisation/closedday/add/",
            {"store": cast.store_a.pk, "date": "2025-11-17", "reason": "年度盘点"},
        )
        assert response.status_code == 302
        assert closed_days_for_store(cast.store_a) == frozenset({dt.date(2025, 11, 17)})
        assert AuditEntry.objects.filter(action="closed_day.add", actor=root).count() == 1
