"""The December warning: administrators are told once per year in their inbox when a year has no calendar."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model

from aftersales.config.testing import make_user
from aftersales.core import calendar
from aftersales.core.calendar import CHINA_TZ, add_working_days
from aftersales.core.calendar_import import calendar_year_import
from aftersales.core.models import CalendarGap
from aftersales.notifications import tasks
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_calendar(monkeypatch):
    monkeypatch.setattr(calendar, "_warned_years", set())
    calendar.forget_entered_years()
    yield
    calendar.forget_entered_years()


def at(year, month, day, hour=8, minute=45):
    return time_machine.travel(dt.datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ), tick=False)


@pytest.fixture
def admins(cast):
    ada = make_user("ada", Role.ADMIN, group=cast.group)
    otto_admin = make_user("oscar", Role.ADMIN, group=cast.other_group)
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    return ada, otto_admin, root


def inbox(user):
    return list(InboxItem.objects.filter(recipient=user, kind="calendar_missing"))


def test_from_1_december_next_year_without_a_calendar_is_told_once(cast, admins):
    ada, oscar, root = admins
    with at(2026, 11, 30):
        assert tasks.calendar_check.call_local() == 0
    assert not InboxItem.objects.filter(kind="calendar_missing").exists()
    with at(2026, 12, 1):
        assert tasks.calendar_check.call_local() == 1
    for user in admins:
        (item,) = inbox(user)
        assert "2027" in item.title_zh_hans and "aftersales calendar import FILE" in item.text_en
        assert item.url == "/organisation/settings/calendar/2027/"
    assert inbox(ada)[0].store.group == cast.group and inbox(oscar)[0].store.group == cast.other_group
    assert not InboxItem.objects.filter(kind="calendar_missing", recipient__in=[cast.grace, cast.mia]).exists()
    gap = CalendarGap.objects.get(year=2027)
    assert gap.alerted_at is not None and gap.first_reached_at is None
    with at(2026, 12, 2):
        assert tasks.calendar_check.call_local() == 0  # once per year
    assert InboxItem.objects.filter(kind="calendar_missing").count() == 3


def test_an_entered_or_packaged_next_year_tells_nobody(cast, admins):
    calendar_year_import({"year": 2027, "holidays": ["2027-01-01"], "workdays": []}, by=None)
    with at(2026, 12, 1):
        assert tasks.calendar_check.call_local() == 0
    with at(2025, 12, 1):  # 2026 is in the package
        assert tasks.calendar_check.call_local() == 0
    assert not InboxItem.objects.exists()


def test_a_clock_reaching_a_year_without_a_calendar_warns_the_administrators(cast, admins):
    ada, _oscar, _root = admins
    with at(2026, 12, 31, 10, 0):
        add_working_days(dt.datetime(2026, 12, 31, 10, tzinfo=CHINA_TZ), 3)  # into 2027
    assert CalendarGap.objects.get(year=2027).alerted_at is None
    with at(2027, 1, 1):  # no longer "December", but the gap is unalerted
        assert tasks.calendar_check.call_local() == 1
    assert len(inbox(ada)) == 1
    assert CalendarGap.objects.get(year=2027).alerted_at == dt.datetime(2027, 1, 1, 8, 45, tzinfo=CHINA_TZ)
    with at(2027, 1, 2):
        assert tasks.calendar_check.call_local() == 0
    assert len(inbox(ada)) == 1
