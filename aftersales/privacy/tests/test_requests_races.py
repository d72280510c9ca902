"""Races on PostgreSQL: two workers sweeping at once tell the store's managers once; two desks logging at the same
moment get two numbers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from aftersales.config.testing import make_cast, make_customer, race
from aftersales.notifications.models import InboxItem
from aftersales.privacy import services
from aftersales.privacy.models import RightsRequest

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SH)
pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
]


@pytest.fixture
def world():
    cast = make_cast()
    return cast, make_customer(cast.store_a, by=cast.alice, name="李四")


def test_two_sweeps_at_once_escalate_each_level_once(world):
    cast, customer = world
    with time_machine.travel(T0, tick=False):
        services.rights_request_log(store=cast.store_a, customer=customer, kind="copy", channel="desk", by=cast.alice)
    results = race(lambda _i: services.rights_request_escalation_sweep(), 3, at=dt.datetime(2026, 4, 20, tzinfo=SH))
    assert sum(r.store for r in results) == 1 and sum(r.group for r in results) == 1, results
    assert InboxItem.objects.filter(recipient=cast.mia, kind="rights_request_due_soon").count() == 1


def test_two_desks_logging_at_once_get_two_numbers(world):
    cast, customer = world

    def log(index):
        by = (cast.alice, cast.bob)[index]
        return services.rights_request_log(store=cast.store_a, customer=customer, kind="copy", channel="desk", by=by)

    results = race(log, 2, at=T0)
    assert all(isinstance(r, RightsRequest) for r in results), results
    assert sorted(RightsRequest.objects.values_list("number", flat=True)) == [
        "SH01-PI-20260310-0001",
        "SH01-PI-20260310-0002",
    ]
