"""Precise positions are kept for the group's location_retention_days, then coarsened to about 1 km (SPEC §10)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.telematics import services
from aftersales.telematics.models import VehicleEvent
from aftersales.telematics.tests.conftest import event, post

pytestmark = pytest.mark.django_db


def test_positions_older_than_the_retention_period_are_coarsened_once(client, fleet, clock_now):
    post(client, fleet.headers, [event(fleet.ev, "l-1", lat=31.230416, lon=121.473701), event(fleet.ev, "l-2")])
    assert services.vehicle_event_locations_coarsen() == 0
    clock_now.shift(dt.timedelta(days=30, minutes=1))  # the default: 30 days
    post(client, fleet.headers, [event(fleet.ev, "l-3", minutes_ago=-30 * 24 * 60, lat=31.230416, lon=121.473701)])
    assert services.vehicle_event_locations_coarsen() == 1
    assert services.vehicle_event_locations_coarsen() == 0
    old, fresh = VehicleEvent.objects.get(event_id="l-1"), VehicleEvent.objects.get(event_id="l-3")
    assert (old.latitude, old.longitude, old.location_coarsened) == (Decimal("31.23"), Decimal("121.47"), True)
    assert fresh.latitude == Decimal("31.230416") and not fresh.location_coarsened
