"""A message is written in its own language, whatever the language of the page whose action sent it: a customer's
Chinese SMS sent from an English page says 保养, not "Maintenance"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.core import clock
from aftersales.messaging.choices import Language
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.service.choices import AppointmentStatus, BookingChannel, ServiceType
from aftersales.service.models import Appointment, Slot
from aftersales.service.services.notifications import appointment_message


@pytest.fixture
def appointment(cast):
    customer = make_customer(cast.store_a, name="张三")
    vehicle = make_vehicle(customer, plate="沪A12345")
    start = dt.datetime.combine(clock.today() + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC)
    slot = Slot.objects.create(store=cast.store_a, start=start, end=start + dt.timedelta(hours=1), capacity=4)
    return Appointment.objects.create(
        store=cast.store_a,
        slot=slot,
        customer=customer,
        vehicle=vehicle,
        service_type=ServiceType.MAINTENANCE,
        channel=BookingChannel.PHONE,
        status=AppointmentStatus.BOOKED,
    )


def test_a_lazy_label_renders_in_the_messages_language(appointment):
    with translation.override("en"):
        message = message_enqueue(
            store=appointment.store,
            template="booking_confirmed",
            customer=appointment.customer,
            purpose="service",
            language=Language.ZH_HANS,
            context={
                "name": "张三",
                "store": "上海店",
                "address": "测试路1号",
                "directions": "测试路1号",
                "phone": "021-1234",
                "time": "2026-12-04 10:00",
                "service": ServiceType.REPAIR.label,
                "wait_minutes": 60,
                "documents": "行驶证",
                "link": "https://example.test/a/x",
                "plate": "沪A12345",
            },
        )
    assert "维修" in message.body and "Repair" not in message.body


def test_the_booking_message_sent_from_an_english_page_is_chinese(appointment):
    with translation.override("en"):  # the advisor works in English
        appointment_message(appointment=appointment, template="booking_confirmed")
    body = OutboxMessage.objects.get(template="booking_confirmed").body
    assert "保养" in body
    assert "Maintenance" not in body
