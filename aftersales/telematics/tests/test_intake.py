"""POST /api/v1/vehicle-events: a batch mixing good, duplicate and bad events, the 500 limit, the owner's consent,
another group's car, who may send, and the odometer readings the reminders' projection then uses."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from aftersales.reminders.selectors import mileage_projection, odometer_readings
from aftersales.telematics.models import OdometerDay, VehicleEvent
from aftersales.telematics.tests.conftest import NOW, URL, event, post

pytestmark = pytest.mark.django_db


def test_a_mixed_batch_keeps_the_good_counts_the_duplicates_and_names_each_bad_field(client, fleet):
    first = post(client, fleet.headers, [event(fleet.ev, "e-1", odometer_km=12000.5, soc_pct=80)])
    assert first.status_code == 200 and first.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    batch = [
        event(fleet.ev, "e-1", soc_pct=80),  # 0: sent before
        event(fleet.ev, "e-2", soc_pct=79.5, total_voltage_v=402.1, dtcs=["p0143"]),  # 1: good (code upper-cased)
        event(fleet.ev, "e-2", soc_pct=79.5),  # 2: repeated within the batch
        event(fleet.ev, "e-3", soc_pct=101),  # 3: SOC over 100
        event(fleet.ev, "e-4", odometer_km=-1),  # 4: negative odometer
        event(fleet.ev, "e-5", total_voltage_v=1500),  # 5: no pack has 1500 V
        event(fleet.ev, "e-6", dtcs=["P0143", "X1234"]),  # 6: not a fault code
        event(fleet.ev, "e-7", minutes_ago=-60),  # 7: an hour in the future
        {**event(fleet.ev, "e-8"), "vin": "LSVNOSUCHVIN00000"},  # 8: unknown VIN
        event(fleet.refused, "e-9", soc_pct=50),  # 9: owner without vehicle-data consent
        event(fleet.foreign, "e-10", soc_pct=50),  # 10: another group's car
        event(fleet.ev, "e-11", alarm_level=4, min_cell_voltage_v=3.9, max_cell_voltage_v=3.2),  # 11: two faults
        event(fleet.ev, "e-12", insulation_resistance_kohm=5000, max_cell_temperature_c=31, lat=31.2304, lon=121.4737),
    ]
    response = post(client, fleet.headers, batch)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 2)
    errors = {(e["index"], e["field"]) for e in body["errors"]}
    assert errors == {
        (3, "soc_pct"),
        (4, "odometer_km"),
        (5, "total_voltage_v"),
        (6, "dtcs"),
        (7, "occurred_at"),
        (8, "vin"),
        (9, "vin"),
        (10, "vin"),
        (11, "alarm_level"),
        (11, "min_cell_voltage_v"),
    }
    messages = {(e["index"], e["field"]): e["msg"] for e in body["errors"]}
    assert "consented" in messages[(9, "vin")]
    assert messages[(8, "vin")] == messages[(10, "vin")]  # another group's car is as unknown as a missing one
    assert "X1234" in messages[(6, "dtcs")]
    stored = {e.event_id: e for e in VehicleEvent.objects.all()}
    assert set(stored) == {"e-1", "e-2", "e-12"}
    assert stored["e-2"].dtcs == ["P0143"] and stored["e-2"].total_voltage_v == Decimal("402.1")
    assert stored["e-12"].latitude == Decimal("31.230400") and stored["e-12"].vehicle == fleet.ev
    # The same batch again: nothing new, every good event a duplicate, the same errors.
    again = post(client, fleet.headers, batch).json()
    assert (again["accepted"], again["duplicates"]) == (0, 4) and len(again["errors"]) == len(body["errors"])
    assert VehicleEvent.objects.count() == 3


def test_the_same_event_id_from_another_source_is_another_event(client, fleet):
    assert post(client, fleet.headers, [event(fleet.ev, "x")], source="a").json()["accepted"] == 1
    assert post(client, fleet.headers, [event(fleet.ev, "x")], source="b").json()["accepted"] == 1


def test_more_than_500_events_is_a_422_for_the_whole_call(client, fleet):
    events = [event(fleet.ev, f"n-{i}", soc_pct=50) for i in range(501)]
    response = post(client, fleet.headers, events)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"events"}
    assert VehicleEvent.objects.count() == 0
    assert post(client, fleet.headers, events[:500]).json()["accepted"] == 500


def test_consent_is_read_at_each_call(client, fleet):
    from aftersales.customers.services import consent_set

    consent_set(customer=fleet.ev.customer, purpose="vehicle_data", granted=False, channel="desk", by=None)
    body = post(client, fleet.headers, [event(fleet.ev, "w-1", soc_pct=50)]).json()
    assert body["accepted"] == 0 and body["errors"][0]["field"] == "vin"
    assert VehicleEvent.objects.count() == 0


def test_a_malformed_body_is_refused_whole(client, fleet):
    bad_number = post(client, fleet.headers, [event(fleet.ev, "m-1", soc_pct="much")])
    assert bad_number.status_code == 422 and set(bad_number.json()["errors"]) == {"events.0.soc_pct"}
    no_time = post(client, fleet.headers, [{"event_id": "m-2", "vin": fleet.ev.vin}])
    assert no_time.status_code == 422 and set(no_time.json()["errors"]) == {"events.0.occurred_at"}
    assert VehicleEvent.objects.count() == 0


def test_only_the_integration_role_may_send(client, cast, fleet, api_token):
    body = json.dumps({"source": "x", "events": [event(fleet.ev, "p-1")]})
    assert client.post(URL, data=body, content_type="application/json").status_code == 401
    for user in (cast.alice, cast.mia, cast.tom):
        response = client.post(URL, data=body, content_type="application/json", **api_token(user))
        assert response.status_code == 403, user
    # A group manager of another group holds the capability, but not for this group's cars.
    other = client.post(URL, data=body, content_type="application/json", **api_token(cast.otto)).json()
    assert other["accepted"] == 0 and other["errors"][0]["field"] == "vin"
    assert VehicleEvent.objects.count() == 0


def test_odometer_readings_feed_the_mileage_projection(client, fleet, clock_now):
    """The highest odometer of each day becomes a reading of the reminders' least-squares fit."""
    events = [
        event(fleet.ev, "o-1", minutes_ago=60 * 24 * 20, odometer_km=10_000),
        event(fleet.ev, "o-2", minutes_ago=60 * 24 * 10, odometer_km=10_390),
        event(fleet.ev, "o-3", minutes_ago=60 * 24 * 10 - 30, odometer_km=10_400),  # same day, higher: kept
        event(fleet.ev, "o-4", minutes_ago=60 * 24 * 10 - 60, odometer_km=10_395),  # same day, lower: ignored
    ]
    assert post(client, fleet.headers, events).json()["accepted"] == 4
    assert OdometerDay.objects.count() == 2
    readings = odometer_readings([fleet.ev.pk])[fleet.ev.pk]
    days = {day: km for day, km in readings}
    assert sorted(days.values()) == [10_000, 10_400]
    projection = mileage_projection(fleet.ev, on=NOW.date(), default_km_per_day=40)
    assert projection.method == "least_squares"
    assert projection.km_per_day == pytest.approx(40.0)
    assert projection.projected_km == 10_800
    # A later batch with a higher reading of the same day raises that day's reading.
    post(client, fleet.headers, [event(fleet.ev, "o-5", minutes_ago=60 * 24 * 10 - 90, odometer_km=10_420)])
    assert OdometerDay.objects.filter(km=10_420).count() == 1 and OdometerDay.objects.count() == 2


def test_a_naive_time_is_read_in_the_store_zone_and_the_year_1999_refused(client, fleet):
    naive = (NOW - dt.timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    body = post(
        client,
        fleet.headers,
        [
            {**event(fleet.ev, "t-1"), "occurred_at": naive},
            {**event(fleet.ev, "t-2"), "occurred_at": "1999-12-31T10:00:00+08:00"},
        ],
    ).json()
    assert body["accepted"] == 1 and [(e["index"], e["field"]) for e in body["errors"]] == [(1, "occurred_at")]


def test_a_full_batch_costs_a_bounded_number_of_queries(client, fleet, django_assert_max_num_queries):
    """500 events in one insert: the queries do not grow with the batch (only alerts cost a few each)."""
    events = [event(fleet.ev, f"q-{i}", minutes_ago=600 - i, odometer_km=1000 + i, soc_pct=60) for i in range(500)]
    with django_assert_max_num_queries(40):
        assert post(client, fleet.headers, events).json()["accepted"] == 500
