"""The telematics endpoint of /api/v1/: a telematics platform posts its cars' events in batches (public contract,
issue 14).  A malformed body (a text with control characters, a number that is not one, more than 500 events) is a
422 for the whole call; an event whose values are impossible, whose VIN is unknown or whose owner has not consented
is that event's error in the answer, and the others are kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from aftersales.core.api import OneLine
from aftersales.telematics import services

router = Router(tags=["telematics"])


class VehicleEventIn(Schema):
    """One connected-car event: measured values (GB/T 32960.3), alarms, fault codes and place."""

    event_id: OneLine = Field(
        ..., min_length=1, max_length=64, description="unique per source: a resend is a duplicate"
    )
    vin: OneLine = Field(..., max_length=32, description="the vehicle's VIN (17 characters)")
    occurred_at: dt.datetime = Field(..., description="when the car measured the values (ISO 8601, with its zone)")
    odometer_km: float | None = Field(None, description="0–2 000 000")
    soc_pct: float | None = Field(None, description="state of charge, 0–100")
    total_voltage_v: float | None = Field(None, description="0–1000 V")
    total_current_a: float | None = Field(None, description="−1000–1000 A (negative: charging)")
    insulation_resistance_kohm: float | None = Field(None, description="0–60 000 kΩ")
    max_cell_voltage_v: float | None = Field(None, description="0–15 V")
    min_cell_voltage_v: float | None = Field(None, description="0–15 V")
    max_cell_temperature_c: float | None = Field(None, description="−40–210 °C")
    min_cell_temperature_c: float | None = Field(None, description="−40–210 °C")
    alarm_level: int | None = Field(0, description="GB/T 32960.3 highest alarm level, 0–3")
    alarm_flags: list[str] = Field(default_factory=list, description="GB/T 32960.3 general alarm flags by name")
    dtcs: list[str] = Field(default_factory=list, description="OBD fault codes, e.g. P0143 or U012300")
    lat: float | None = Field(None, description="WGS-84 latitude (precise: coarsened after the retention period)")
    lon: float | None = Field(None, description="WGS-84 longitude")


class VehicleEventsIn(Schema):
    """A batch of connected-car events from one platform."""

    source: OneLine = Field(..., min_length=1, max_length=40, description="the sending platform's name")
    events: list[VehicleEventIn] = Field(..., max_length=services.MAX_EVENTS)


class EventErrorOut(Schema):
    """A refused event of a batch: its position, the field and why."""

    index: int = Field(..., description="the event's position in `events`, from 0")
    field: str
    msg: str


class VehicleEventsOut(Schema):
    """What a batch of connected-car events came to: accepted, duplicates and refused ones."""

    accepted: int
    duplicates: int
    errors: list[EventErrorOut]


@router.post("/vehicle-events", response=VehicleEventsOut, summary="Post a batch of connected-car events (≤ 500)")
def vehicle_events_post(request: HttpRequest, payload: VehicleEventsIn) -> Any:
    events = []
    for event in payload.events:
        raw = event.dict()
        raw["latitude"], raw["longitude"] = raw.pop("lat"), raw.pop("lon")
        events.append(raw)
    result = services.vehicle_events_intake(source=payload.source, events=events, by=request.auth)
    return result.as_dict()
