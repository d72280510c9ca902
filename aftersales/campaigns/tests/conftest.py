"""Fixtures of the campaign tests: store A of the cast with its manager mia, customers with and without
marketing consent, repair orders and bookings written straight to the tables (the results are a read over
them), and a stopped clock (time-machine) on a Monday morning in Shanghai."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from aftersales.campaigns import services
from aftersales.campaigns.models import Campaign
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.customers.choices import ConsentChannel, ConsentPurpose
from aftersales.customers.services import consent_set
from aftersales.messaging.backends import ConsoleBackend
from aftersales.service.choices import BookingChannel, RepairOrderStatus, ServiceType
from aftersales.service.models import Appointment, RepairOrder, Slot
from aftersales.service.tests.conftest import SHANGHAI, shanghai

__all__ = ["SHANGHAI", "shanghai"]
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def console_outbox():
    ConsoleBackend.clear()
    yield ConsoleBackend.sent
    ConsoleBackend.clear()


@pytest.fixture
def clock_at():
    """Move the stopped clock: clock_at(2026, 3, 2, 10) is 10:00 in Shanghai."""
    travellers: list[Any] = []

    def travel(*args: int) -> dt.datetime:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(shanghai(*args), tick=False)
        traveller.start()
        travellers.append(traveller)
        return shanghai(*args)

    travel(2026, 3, 2, 10)
    yield travel
    for traveller in travellers:
        traveller.stop()


def customer(store: Any, *, consent: bool | None = True, tier: str = "", name: str = "张三", **vehicle: Any) -> Any:
    """A customer with one vehicle; `consent` True/False is their marketing answer, None: never asked."""
    consents = {ConsentPurpose.MARKETING: consent} if consent is not None else None
    person = make_customer(store, name=name, consents=consents)
    if tier:
        type(person).objects.filter(pk=person.pk).update(tier=tier)
        person.tier = tier
    make_vehicle(person, **vehicle)
    return person


def opt_out(person: Any) -> None:
    consent_set(
        customer=person, purpose=ConsentPurpose.MARKETING, granted=False, channel=ConsentChannel.MESSAGE_REPLY, by=None
    )


def visit(person: Any, *, arrived: dt.datetime, billed: str | None = "500.00", status: str = "delivered") -> Any:
    vehicle = person.vehicles.first()
    return RepairOrder.objects.create(
        store=person.store,
        number=f"T{next(_numbers):06d}",
        customer=person,
        vehicle=vehicle,
        service_type=ServiceType.MAINTENANCE,
        status=status,
        arrived_at=arrived,
        delivered_at=arrived + dt.timedelta(hours=3) if status == RepairOrderStatus.DELIVERED else None,
        billed_total=Decimal(billed) if billed else None,
    )


def booking(person: Any, *, created: dt.datetime) -> Any:
    start = created + dt.timedelta(days=3, minutes=next(_numbers))
    slot = Slot.objects.create(store=person.store, start=start, end=start + dt.timedelta(hours=1), capacity=4)
    return Appointment.objects.create(
        store=person.store,
        slot=slot,
        customer=person,
        vehicle=person.vehicles.first(),
        service_type=ServiceType.MAINTENANCE,
        channel=BookingChannel.ONLINE,
        created_at=created,
    )


TEXT_ZH = "春季关爱：保养工时八折，点击预约 {link}"
TEXT_EN = "Spring care: 20% off maintenance labour. Book here: {link}"


def draft(store: Any, by: Any, *, purpose: str = "marketing", audience: dict | None = None, **extra: Any) -> Campaign:
    data = services.CampaignInput(
        name=extra.pop("name", "春季关爱"),
        purpose=purpose,
        audience=audience or {},
        text_zh=extra.pop("text_zh", TEXT_ZH),
        text_en=extra.pop("text_en", TEXT_EN),
        scheduled_at=extra.pop("scheduled_at", None),
    )
    return services.campaign_create(store=store, data=data, by=by)


def scheduled(store: Any, by: Any, *, at: dt.datetime, **kwargs: Any) -> Campaign:
    campaign = draft(store, by, scheduled_at=at, **kwargs)
    return services.campaign_transition(campaign=campaign, to="scheduled", by=by)
