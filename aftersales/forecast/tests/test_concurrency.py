"""Several managers opening the page of a store whose forecast is not cached yet, at the same moment: each gets the
page, and the store keeps one forecast row for the week.  Real threads and transactions on PostgreSQL (SQLite
serialises write transactions, so nothing would race there)."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from aftersales.forecast.models import StoreForecast
from aftersales.organisation.services import api_token_issue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writes"),
]

NOW = dt.datetime(2026, 6, 30, 11, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
THREADS = 6


def test_racing_first_views_leave_one_row_and_no_error(cast):
    tokens = [api_token_issue(username="mia")[0] for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: list[object] = [None] * THREADS

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            client = Client()
            if index % 2:
                response = client.get(
                    "/api/v1/forecast", {"store": "SH01"}, HTTP_AUTHORIZATION=f"Bearer {tokens[index]}"
                )
            else:
                client.force_login(cast.mia)
                response = client.get("/forecast/", HTTP_ACCEPT_LANGUAGE="en")
            results[index] = response.status_code
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(THREADS)]
    with time_machine.travel(NOW, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert results == [200] * THREADS, results
    assert StoreForecast.objects.filter(store=cast.store_a).count() == 1
    assert StoreForecast.objects.get(store=cast.store_a).week == dt.date(2026, 6, 29)
