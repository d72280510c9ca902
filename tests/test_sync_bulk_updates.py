"""Sync by `updated_since` must see every change, also the ones services make with a guarded bulk
`UPDATE … WHERE status = …` (Django's auto_now moves `updated_at` only in save(); core/scoping.py moves it there)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.customers.models import Vehicle

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI)
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)


def test_a_bulk_update_moves_updated_at_and_the_change_is_synced(client, cast, api_token):
    with time_machine.travel(MORNING, tick=False):
        changed = make_vehicle(make_customer(cast.store_a), plate="沪A10001")
        untouched = make_vehicle(make_customer(cast.store_a), plate="沪A10002")
    with time_machine.travel(NOON, tick=False):
        assert Vehicle.objects.filter(pk=changed.pk).update(mileage_km=12_345) == 1
    changed.refresh_from_db()
    untouched.refresh_from_db()
    assert changed.updated_at == NOON and untouched.updated_at == MORNING

    since = (MORNING + dt.timedelta(hours=1)).isoformat()
    response = client.get("/api/v1/vehicles", {"updated_since": since}, **api_token(cast.alice))
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["items"]] == [changed.pk]


def test_an_explicit_updated_at_is_kept(cast):
    with time_machine.travel(MORNING, tick=False):
        vehicle = make_vehicle(make_customer(cast.store_a), plate="沪A10003")
    with time_machine.travel(NOON, tick=False):
        Vehicle.objects.filter(pk=vehicle.pk).update(mileage_km=1, updated_at=MORNING)
    vehicle.refresh_from_db()
    assert vehicle.updated_at == MORNING
