"""The staffing table by hand: a forecast of known size, a store open Monday to Saturday, technicians of known
grades; and the cover rule (a technician may take work of their grade or below)."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.config.testing import make_user
from aftersales.forecast import selectors, services
from aftersales.forecast.models import StoreForecast
from aftersales.organisation.choices import Role, TechnicianGrade
from aftersales.organisation.models import ClosedDay, OpeningHours, StaffProfile

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 6, 29)


def _technician(username, store, grade, role=Role.TECHNICIAN):
    user = make_user(username, role, store=store)
    StaffProfile.objects.filter(user=user).update(technician_grade=grade)
    return user


def test_cover_counts_from_the_highest_grade_down():
    # Senior work 10 h, one senior technician 7 h: 3 h short at senior, whatever juniors are free.
    assert selectors.cover({"senior": 10.0, "": 2.0}, {"senior": 7.0, "junior": 20.0}) == (3.0, "senior")
    # Intermediate work 5 h, two seniors 14 h with 4 h of senior work: covered from above.
    assert selectors.cover({"senior": 4.0, "intermediate": 5.0}, {"senior": 14.0}) == (0.0, "")
    # Everything any grade can do, 30 h against 21 h: short 9 h at the "any grade" level.
    assert selectors.cover({"": 30.0}, {"junior": 21.0}) == (9.0, "")


def test_the_table_from_a_known_forecast(cast, settings):
    store = cast.store_a
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=d, opens=dt.time(8, 30), closes=dt.time(18, 0)) for d in range(6)]
    )
    ClosedDay.objects.create(store=store, date=MONDAY + dt.timedelta(days=2), reason="盘点")  # Wednesday closed
    _technician("sam", store, TechnicianGrade.SENIOR)
    _technician("jun", store, TechnicianGrade.JUNIOR)
    _technician("fred", store, TechnicianGrade.SENIOR, role=Role.FOREMAN)
    StaffProfile.objects.filter(user=cast.tom).update(technician_grade=TechnicianGrade.INTERMEDIATE)
    # 12 repairs in the week, evenly over the days; a repair is 2 standard hours, half of them senior work.
    forecast = StoreForecast.objects.create(
        store=store,
        week=MONDAY,
        computed_at=dt.datetime(2026, 6, 29, 1, 0, tzinfo=dt.UTC),
        history_weeks=40,
        data={
            "enough_history": True,
            "hours_per_order": {"repair": 2.0},
            "grade_share": {"repair": {"": 0.5, "senior": 0.5}},
            "weekday_share": [1 / 7] * 7,
            "forecast": [{"week": MONDAY.isoformat(), "orders": 12, "low": 8, "high": 16, "by_type": {"repair": 12.0}}],
        },
    )
    table = selectors.staffing(store=store, forecast=forecast, today=MONDAY, days=7)
    assert table.technicians == {
        "": 0,
        "junior": 1,
        "intermediate": 1,
        "senior": 2,
        "technician": 0,
        "senior_technician": 0,
    }
    by_day = {d.day: d for d in table.days}
    monday, wednesday, sunday = by_day[MONDAY], by_day[MONDAY + dt.timedelta(days=2)], by_day[MONDAY + dt.timedelta(6)]
    assert not wednesday.open and not sunday.open
    assert wednesday.expected_orders == 0 and wednesday.available_total == 0
    # Five open days share the week's 12 repairs: 2.4 a day → 4.8 standard hours ÷ 85 % = 5.65 technician-hours,
    # half of them senior.
    assert monday.expected_orders == 2.4
    assert {grade: hours for grade, hours in monday.needed.items() if hours} == {"": 2.8, "senior": 2.8}
    assert {grade: hours for grade, hours in monday.available.items() if hours} == {
        "junior": 7.0,
        "intermediate": 7.0,
        "senior": 14.0,
    }
    assert monday.shortfall == 0
    assert selectors.grades_present(table) == ["", "junior", "intermediate", "senior"]


def test_a_short_day_names_the_grade(cast):
    store = cast.store_a
    OpeningHours.objects.create(store=store, weekday=0, opens=dt.time(8, 30), closes=dt.time(18, 0))
    _technician("jun", store, TechnicianGrade.JUNIOR)
    forecast = StoreForecast.objects.create(
        store=store,
        week=MONDAY,
        computed_at=dt.datetime(2026, 6, 29, 1, 0, tzinfo=dt.UTC),
        history_weeks=40,
        data={
            "hours_per_order": {"nev_check": 1.7},
            "grade_share": {"nev_check": {"senior": 1.0}},
            "weekday_share": [1, 0, 0, 0, 0, 0, 0],
            "forecast": [{"week": MONDAY.isoformat(), "orders": 5, "low": 3, "high": 7, "by_type": {"nev_check": 5}}],
        },
    )
    monday = selectors.staffing(store=store, forecast=forecast, today=MONDAY, days=1).days[0]
    assert monday.expected_orders == 5
    assert monday.needed["senior"] == 10.0  # 5 × 1.7 ÷ 0.85
    assert (monday.shortfall, monday.short_grade) == (10.0, "senior")  # a junior may not take it


def test_without_history_the_forecast_is_empty_and_says_why(cast):
    row = services.forecast_refresh(store=cast.store_a, today=MONDAY)
    assert row.data["enough_history"] is False
    assert row.data["forecast"] == [] and row.mase is None and row.history_weeks == 0


def test_the_sweep_computes_each_store_once_a_week(cast):
    first = services.forecast_sweep(today=MONDAY)
    assert first.as_dict() == {"computed": 3, "skipped": 0}
    assert services.forecast_sweep(today=MONDAY + dt.timedelta(days=3)).as_dict() == {"computed": 0, "skipped": 3}
    assert services.forecast_sweep(today=MONDAY, recompute=True).computed == 3
    assert StoreForecast.objects.count() == 3  # replaced in place
    assert services.forecast_sweep(today=MONDAY + dt.timedelta(days=7)).computed == 3
    assert StoreForecast.objects.count() == 6


def test_the_nightly_task_runs_the_sweep_once_a_week(cast, time_machine):
    from aftersales.forecast import tasks

    time_machine.move_to(dt.datetime(2026, 7, 1, 1, 40, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    assert tasks.forecast_sweep.call_local() == {"computed": 3, "skipped": 0}
    assert tasks.forecast_sweep.call_local() == {"computed": 0, "skipped": 3}
    assert set(StoreForecast.objects.values_list("week", flat=True)) == {MONDAY}
