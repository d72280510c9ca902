"""Fixtures of the telematics tests: store A's EV with an owner who consented to vehicle data, one without, the
integration user's token, and a helper that builds an event."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.customers.models import Vehicle
from aftersales.organisation.choices import Role

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
URL = "/api/v1/vehicle-events"


@dataclass
class Fleet:
    cast: Any
    ev: Vehicle  # consented, store A
    refused: Vehicle  # no vehicle-data consent, store A
    foreign: Vehicle  # another group's car, consented
    feed: Any  # the integration user (group-wide role holding SEND_VEHICLE_EVENTS)
    headers: dict[str, str]


@pytest.fixture
def clock_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def fleet(cast, api_token, clock_now) -> Fleet:
    owner = make_customer(cast.store_a, by=cast.alice, name="电车车主", consents={"vehicle_data": True})
    ev = make_vehicle(owner, by=cast.alice, plate="沪AD12345", powertrain="bev", brand="比亚迪", model_name="海豹")
    other = make_customer(cast.store_a, by=cast.alice, name="未同意车主", consents={"vehicle_data": False})
    refused = make_vehicle(other, by=cast.alice, plate="沪AD54321", powertrain="bev", brand="比亚迪", model_name="元")
    far = make_customer(cast.store_c, name="北京车主", consents={"vehicle_data": True})
    foreign = make_vehicle(far, plate="京AD11111", powertrain="bev", brand="蔚来", model_name="ET5")
    feed = make_user("tsp-feed", Role.GROUP_MANAGER, group=cast.group)
    return Fleet(cast, ev, refused, foreign, feed, {**api_token(feed), "HTTP_ACCEPT_LANGUAGE": "en"})


def event(vehicle: Vehicle, event_id: str, *, minutes_ago: int = 1, **values: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "vin": vehicle.vin,
        "occurred_at": (NOW - dt.timedelta(minutes=minutes_ago)).isoformat(),
        **values,
    }


def post(client, headers: dict[str, str], events: list[dict[str, Any]], source: str = "tsp-byd") -> Any:
    return client.post(
        URL, data=json.dumps({"source": source, "events": events}), content_type="application/json", **headers
    )
