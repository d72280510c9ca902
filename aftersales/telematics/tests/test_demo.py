"""The demo EVs: a month of reports each, and today one alert per scenario (and a rescue request for level 3)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.rescue.models import RescueRequest
from aftersales.telematics.demo import seed_telematics
from aftersales.telematics.models import OdometerDay, VehicleAlert, VehicleEvent

pytestmark = pytest.mark.django_db


def test_the_demo_cars_report_and_each_scenario_raises_its_alert(cast):
    for number in range(5):
        owner = make_customer(cast.store_a, name=f"电车{number}")
        make_vehicle(owner, powertrain="bev", brand="比亚迪", model_name="汉", mileage_km=10_000)
    today = dt.date(2026, 11, 23)
    counts = seed_telematics(rng=random.Random(1), stores=[cast.store_a], users={"group": cast.grace}, today=today)
    assert counts["errors"] == 0 and counts["duplicates"] == 0
    assert counts["accepted"] == VehicleEvent.objects.count() > 5 * 150
    kinds = sorted(VehicleAlert.objects.values_list("kind", flat=True))
    assert kinds == ["alarm_level", "battery_low", "dtc_family", "insulation_fault"]
    assert RescueRequest.objects.count() == 1
    assert OdometerDay.objects.count() >= 5 * 30
