"""The same batch posted twice at the same moment (a platform's retry racing its first try): every event stored
once, `accepted` adding up to the batch, one alert.  Only PostgreSQL runs the two writers in parallel."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from aftersales.telematics.models import VehicleAlert, VehicleEvent
from aftersales.telematics.tests.conftest import URL, event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
]
THREADS = 4


def test_a_batch_sent_twice_at_once_is_stored_once_with_one_alert(fleet):
    body = json.dumps(
        {"source": "tsp", "events": [event(fleet.ev, f"r-{i}", soc_pct=5, odometer_km=1000 + i) for i in range(50)]}
    )
    barrier = threading.Barrier(THREADS)
    answers: list[dict] = []

    def send() -> None:
        try:
            barrier.wait()
            response = Client().post(URL, data=body, content_type="application/json", **fleet.headers)
            answers.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == THREADS
    assert sum(a["accepted"] for a in answers) == 50
    assert all(a["accepted"] + a["duplicates"] == 50 for a in answers)
    assert VehicleEvent.objects.count() == 50
    assert VehicleAlert.objects.filter(kind="battery_low").count() == 1
    assert VehicleAlert.objects.get(kind="battery_low").events_count == 50


def test_two_first_uses_of_a_group_write_its_default_rules_once(fleet):
    """The rule table is created on a group's first use; two first uses at once must not write it twice."""
    from aftersales.telematics.models import AlertRule
    from aftersales.telematics.selectors import DEFAULT_RULES
    from aftersales.telematics.services import alert_rules_ensure_defaults

    barrier = threading.Barrier(THREADS)

    def first_use() -> None:
        try:
            barrier.wait()
            alert_rules_ensure_defaults(group_id=fleet.cast.group.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_use) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AlertRule.objects.filter(group=fleet.cast.group).count() == len(DEFAULT_RULES)
