"""Demo connected cars: five of the first store's new-energy vehicles, whose owners agreed to vehicle data, report
every four hours for the last 30 days through the intake (as the group's telematics platform would), and today
each shows one of the rules at work: a battery running low, an insulation fault, an EV powertrain fault code, a
level-3 alarm (a rescue request), and one car with nothing to report."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from aftersales.customers.choices import NEV_POWERTRAINS, ConsentChannel, ConsentPurpose
from aftersales.customers.models import Vehicle
from aftersales.customers.services import consent_set
from aftersales.organisation.models import Store
from aftersales.telematics.services import MAX_EVENTS, vehicle_events_intake

SOURCE = "demo-tsp"
DAYS = 30
EVERY_HOURS = 4
CARS = 5


def _history(rng: random.Random, vehicle: Vehicle, *, now: dt.datetime, store: Store) -> list[dict[str, Any]]:
    """One car's events, oldest first: odometer rising 30–70 km a day, SOC between charges, healthy values."""
    events: list[dict[str, Any]] = []
    km = float(vehicle.mileage_km or rng.randint(8_000, 30_000))
    soc = 90.0
    start = now - dt.timedelta(days=DAYS)
    for step in range(DAYS * 24 // EVERY_HOURS):
        at = start + dt.timedelta(hours=step * EVERY_HOURS, minutes=rng.randint(0, 20))
        km += rng.uniform(5, 12)
        soc -= rng.uniform(4, 10)
        if soc < 25:
            soc = rng.uniform(85, 98)  # charged overnight
        events.append(
            {
                "event_id": f"{vehicle.vin}-{at:%Y%m%d%H%M}",
                "vin": vehicle.vin,
                "occurred_at": at,
                "odometer_km": round(km, 1),
                "soc_pct": round(soc, 1),
                "total_voltage_v": round(330 + soc * 0.7, 1),
                "total_current_a": round(rng.uniform(-5, 60), 1),
                "insulation_resistance_kohm": rng.randint(2500, 5000),
                "max_cell_voltage_v": round(3.55 + soc / 1000, 3),
                "min_cell_voltage_v": round(3.50 + soc / 1000, 3),
                "max_cell_temperature_c": rng.randint(24, 31),
                "min_cell_temperature_c": rng.randint(18, 23),
                "alarm_level": 0,
                "latitude": round(float(store.latitude) + rng.uniform(-0.05, 0.05), 6),
                "longitude": round(float(store.longitude) + rng.uniform(-0.05, 0.05), 6),
            }
        )
    return events


def _today(index: int, last: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """The car's reports of the last hours: what makes a rule fire (index 4: nothing)."""

    def at(minutes: int, suffix: str, **values: Any) -> dict[str, Any]:
        return {
            **last,
            "event_id": f"{last['vin']}-today-{suffix}",
            "occurred_at": now - dt.timedelta(minutes=minutes),
            **values,
        }

    if index == 0:  # parked with the lights on: the battery runs low
        return [at(180, "a", soc_pct=12.0), at(90, "b", soc_pct=8.5), at(30, "c", soc_pct=7.0)]
    if index == 1:  # water in a connector: insulation resistance falls
        return [at(240, "a", insulation_resistance_kohm=900), at(60, "b", insulation_resistance_kohm=85)]
    if index == 2:  # an EV powertrain fault code, next to an old oxygen-sensor code
        return [at(120, "a", dtcs=["P0143"]), at(45, "b", dtcs=["P0143", "P0A80"], alarm_level=1)]
    if index == 3:  # thermal runaway warning on the road: level 3
        return [
            at(50, "a", max_cell_temperature_c=48, alarm_level=2, alarm_flags=["battery_high_temperature"]),
            at(
                20,
                "b",
                max_cell_temperature_c=63,
                alarm_level=3,
                alarm_flags=["battery_high_temperature", "temperature_difference", "insulation"],
                insulation_resistance_kohm=400,
            ),
        ]
    return []


def seed_telematics(
    *, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date, now: dt.datetime | None = None
) -> dict[str, int]:
    """Consent, history and today's events for the demo EVs; returns the intake's counts."""
    now = now or timezone.make_aware(dt.datetime.combine(today, dt.time(10, 30)))
    sender = users["group"]  # a group-wide role holds SEND_VEHICLE_EVENTS (docs/telematics.md)
    store = stores[0]
    cars = list(
        Vehicle.objects.filter(store=store, powertrain__in=NEV_POWERTRAINS)
        .select_related("customer")
        .order_by("pk")[:CARS]
    )
    events: list[dict[str, Any]] = []
    for index, vehicle in enumerate(cars):
        consent_set(
            customer=vehicle.customer,
            purpose=ConsentPurpose.VEHICLE_DATA,
            granted=True,
            channel=ConsentChannel.DESK,
            by=None,
        )
        history = _history(rng, vehicle, now=now - dt.timedelta(hours=5), store=store)
        events.extend(history)
        events.extend(_today(index, history[-1], now))
    events.sort(key=lambda e: e["occurred_at"])
    totals = {"accepted": 0, "duplicates": 0, "errors": 0, "alerts": 0}
    for start in range(0, len(events), MAX_EVENTS):
        result = vehicle_events_intake(source=SOURCE, events=events[start : start + MAX_EVENTS], by=sender, now=now)
        totals["accepted"] += result.accepted
        totals["duplicates"] += result.duplicates
        totals["errors"] += len(result.errors)
        totals["alerts"] += result.alerts
    return totals
