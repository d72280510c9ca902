"""The forecast on the demo data (`aftersales seed`, two years): the backtest's MASE is computed, agrees with a
recomputation from the orders themselves, and is shown on the managers' page and in the API."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from aftersales.config.testing import shared_rows
from aftersales.forecast import features, maths
from aftersales.forecast.models import StoreForecast
from aftersales.organisation.models import Membership, Store
from aftersales.service.choices import AppointmentStatus, RepairOrderStatus
from aftersales.service.models import Appointment, RepairOrder

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 30, 11, 0, tzinfo=SHANGHAI)  # a Tuesday; the forecast's first week is Monday 29 June
WEEK = dt.date(2026, 6, 29)
ARGS = ["--stores", "2", "--customers", "200", "--months", "24", "--seed", "5", "--today", "2026-06-30"]


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker) -> Iterator[None]:
    with shared_rows(django_db_blocker):
        with django_db_blocker.unblock():
            call_command("seed", *ARGS, "--no-progress", stdout=StringIO(), stderr=StringIO())
        yield


@pytest.fixture
def manager(seeded_once, db):
    return get_user_model().objects.get(username="manager")


@pytest.fixture
def store(manager) -> Store:
    return Store.objects.get(pk=Membership.objects.get(user=manager).store_id)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def _weekly_orders_by_hand(store: Store) -> np.ndarray:
    """The store's complete weeks of orders before WEEK, counted in Python from the rows (not the app's SQL)."""
    weeks: Counter[dt.date] = Counter()
    for arrived in (
        RepairOrder.objects.filter(store=store)
        .exclude(status=RepairOrderStatus.CANCELLED)
        .values_list("arrived_at", flat=True)
    ):
        day = arrived.astimezone(SHANGHAI).date()
        if day < WEEK:
            weeks[day - dt.timedelta(days=day.weekday())] += 1
    first = min(weeks)
    mondays = [first + dt.timedelta(days=7 * i) for i in range((WEEK - first).days // 7)]
    return np.array([weeks[m] for m in mondays], dtype=float), mondays


def test_the_backtest_mase_is_computed_and_shown_on_the_page(client, manager, store, now):
    client.force_login(manager)
    response = client.get("/forecast/", {"store": store.code}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    row = StoreForecast.objects.get(store=store, week=WEEK)
    assert row.mase is not None and row.benchmark_mase is not None and row.seasonal_period == 52
    shown = re.search(r'id="forecast-mase" data-mase="([0-9.]+)">([0-9.]+)<', html)
    assert shown is not None
    assert float(shown.group(1)) == row.mase and shown.group(2) == f"{row.mase:.2f}"
    assert "below 1 the forecast beats that rule" in html
    verdict = "better than the simple rule" if row.mase < 1 else "not better than the simple rule"
    assert f'id="forecast-verdict">{verdict}<' in html
    assert 'data-chart="forecast-chart"' in html and 'id="forecast-staffing"' in html

    # The same MASE from the rows themselves: the app's weekly SQL and its backtest agree with a plain recount.
    y, mondays = _weekly_orders_by_hand(store)
    assert row.history_weeks == len(y) > 90
    fractions, exog = features.calendar_matrix(mondays + [WEEK + dt.timedelta(days=7 * i) for i in range(8)])
    backtest = maths.rolling_origin_backtest(y, fractions, exog, origins=12, horizon=8)
    assert backtest.origins == 12 and backtest.pairs == 68
    assert row.mase == pytest.approx(backtest.mase, abs=5e-4)
    assert row.benchmark_mase == pytest.approx(backtest.benchmark_mase, abs=5e-4)
    assert 0.2 < row.mase < 1.5  # a sane forecast of a noisy workshop, not a fit to noise or a runaway trend
    # A second view reads the cache: no refit, the same row.
    computed_at = row.computed_at
    client.get("/forecast/", {"store": store.code}, HTTP_ACCEPT_LANGUAGE="en")
    assert StoreForecast.objects.get(pk=row.pk).computed_at == computed_at


def test_the_api_gives_the_mase_the_forecast_and_the_staffing(client, manager, store, now, api_token):
    response = client.get("/api/v1/forecast", {"store": store.code}, **api_token(manager))
    assert response.status_code == 200, response.content
    body = response.json()
    row = StoreForecast.objects.get(store=store, week=WEEK)
    assert body["mase"] == row.mase and body["seasonal_period"] == 52 and body["enough_history"] is True
    assert [w["week"] for w in body["forecast"]] == [(WEEK + dt.timedelta(days=7 * i)).isoformat() for i in range(8)]
    for week in body["forecast"]:
        assert 0 <= week["low"] <= week["orders"] <= week["high"]
    assert len(body["staffing"]) == 14
    booked = Counter(
        a.slot.start.astimezone(SHANGHAI).date()
        for a in Appointment.objects.filter(slot__store=store, status=AppointmentStatus.BOOKED).select_related("slot")
    )
    for day in body["staffing"]:
        assert day["booked_orders"] == booked[dt.date.fromisoformat(day["day"])]
        assert day["expected_orders"] >= day["booked_orders"]
    assert sum(day["booked_orders"] for day in body["staffing"]) > 0
