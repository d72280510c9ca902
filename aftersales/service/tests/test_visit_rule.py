"""Walk-in (desk and API) and online booking find or register the customer and the car by the customers app's
one rule, so the same facts get the same answer on every way in."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales.config.testing import make_customer, make_vehicle, unique_vin
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.models import Bay, OpeningHours
from aftersales.service import services
from aftersales.service.models import Appointment, RepairOrder

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
TOMORROW_10 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def shop(cast):
    with time_machine.travel(NOW, tick=False):
        store = cast.store_a
        for weekday in range(7):
            OpeningHours.objects.create(store=store, weekday=weekday, opens=dt.time(8), closes=dt.time(20))
        for code in ("A1", "A2"):
            Bay.objects.create(store=store, code=code, name=code)
        owner = make_customer(store, name="王建华", phone="13812345678")
        make_vehicle(owner, plate="沪A12345")
        yield store


def book_online(client, **fields):
    data = {
        "service_type": "repair",
        "day": "2026-11-24",
        "start": TOMORROW_10.isoformat(),
        "name": "李四",
        "phone": "13911112222",
        "plate": "沪A12345",
        **fields,
    }
    with time_machine.travel(NOW, tick=False):
        return client.post(reverse("service:customer-book", args=["SH01"]), data, HTTP_ACCEPT_LANGUAGE="en")


class SameFactsSameAnswerTests:
    def test_a_plate_with_another_persons_number_is_refused_at_the_desk(self, cast, shop):
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(
                store=shop, by=cast.alice, service_type="repair", plate="沪A12345", phone="13911112222"
            )
        assert list(caught.value.message_dict) == ["plate"]
        assert not RepairOrder.objects.exists()

    def test_a_plate_with_another_persons_number_is_refused_online(self, client, shop):
        response = book_online(client)
        assert response.status_code == 200
        assert 'data-error-for="plate"' in response.content.decode()
        assert Customer.objects.count() == 1 and not Appointment.objects.exists()

    def test_a_new_car_online_needs_vin_and_model_like_at_the_desk(self, client, cast, shop):
        response = book_online(client, phone="13812345678", plate="沪C11111")
        assert 'data-error-for="vin"' in response.content.decode()
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(
                store=shop, by=cast.alice, service_type="repair", plate="沪C11111", phone="13812345678"
            )
        assert list(caught.value.message_dict) == ["vin"]
        assert Vehicle.objects.count() == 1

    def test_online_booking_registers_through_the_shared_rule(self, client, shop):
        vin = unique_vin()
        response = book_online(client, plate="沪C11111", vin=vin, model_name="比亚迪 汉", consent_surveys="on")
        assert response.status_code == 302
        appointment = Appointment.objects.get()
        assert (appointment.customer.name, appointment.vehicle.vin) == ("李四", vin)
        assert (appointment.vehicle.brand, appointment.vehicle.model_name) == ("比亚迪", "汉")
        assert appointment.customer.consents.get().channel == "customer_link"

    def test_a_pickup_without_an_address_is_refused_by_the_form(self, client, shop):
        response = book_online(client, phone="13812345678", pickup="on")
        assert 'data-error-for="pickup_address"' in response.content.decode()
        assert not Appointment.objects.exists()
