"""Selectors never write: the day's slots are made by a service (`slots_ensure_bookable`) that the pages and the
API call before they read, so a page still offers slots on a database that has none yet."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.organisation.models import Bay, OpeningHours
from aftersales.service import selectors, services
from aftersales.service.models import Slot

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
TOMORROW = dt.date(2026, 11, 24)


@pytest.fixture
def store(cast):
    with time_machine.travel(NOW, tick=False):
        for weekday in range(7):
            OpeningHours.objects.create(store=cast.store_a, weekday=weekday, opens=dt.time(8), closes=dt.time(12))
        Bay.objects.create(store=cast.store_a, code="A1", name="A1")
        yield cast.store_a


def writes(queries):
    return [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]


class SlotReadTests:
    def test_the_selector_only_reads(self, store):
        with CaptureQueriesContext(connection) as queries:
            assert selectors.slot_list(store=store, day=TOMORROW) == []
        assert writes(queries) == []
        assert not Slot.objects.exists()

    def test_the_service_makes_the_days_slots_inside_the_window_only(self, store):
        services.slots_ensure_bookable(store=store, day=TOMORROW)
        services.slots_ensure_bookable(store=store, day=TOMORROW)  # idempotent
        services.slots_ensure_bookable(store=store, day=TOMORROW + dt.timedelta(days=400))  # far: nothing
        starts = [slot.start.astimezone(SHANGHAI).time() for slot in selectors.slot_list(store=store, day=TOMORROW)]
        assert starts[0] == dt.time(8) and len(starts) == Slot.objects.count() > 0

    def test_the_customers_page_offers_slots_on_an_empty_database(self, client, store):
        assert not Slot.objects.exists()
        response = client.get(reverse("service:customer-book", args=["SH01"]), {"day": TOMORROW.isoformat()})
        assert response.status_code == 200 and "08:00" in response.content.decode()

    def test_the_api_lists_slots_on_an_empty_database(self, client, cast, store, api_token):
        response = client.get("/api/v1/slots", {"store": "SH01", "date": TOMORROW.isoformat()}, **api_token(cast.alice))
        assert response.status_code == 200 and len(response.json()) == Slot.objects.count() > 0
