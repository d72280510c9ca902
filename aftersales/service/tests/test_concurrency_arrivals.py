"""Cars arriving at the same moment: every walk-in and every check-in gets its own RO number, none answers
a 500, and one car never gets two open orders.  Real threads, real transactions, one barrier; only PostgreSQL
runs writers truly in parallel (SQLite serialises write transactions, so there these tests would prove nothing)."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.config.testing import race as shared_race
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.models import Bay, OpeningHours
from aftersales.organisation.services import api_token_issue
from aftersales.service import services
from aftersales.service.models import RepairOrder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises write transactions, so no two arrivals ever race",
    ),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
THREADS = 8


def race(work, count):
    return shared_race(work, count, at=NOW)


@pytest.fixture
def cars(cast):
    with time_machine.travel(NOW, tick=False):
        customers = [make_customer(cast.store_a) for _ in range(THREADS)]
        return [make_vehicle(customer, plate=f"沪A{10000 + index}") for index, customer in enumerate(customers)]


def numbers_of_the_day():
    return sorted(RepairOrder.objects.values_list("number", flat=True))


EXPECTED = [f"SH01-20261123-{n:04d}" for n in range(1, THREADS + 1)]


class SameMomentArrivalTests:
    def test_eight_walk_ins_at_once_each_get_the_next_number(self, cast, cars):
        results = race(
            lambda index: services.walk_in_register(
                store=cast.store_a, by=cast.alice, service_type="repair", plate=cars[index].plate
            ),
            THREADS,
        )
        assert all(isinstance(r, RepairOrder) for r in results), results
        assert numbers_of_the_day() == EXPECTED

    def test_eight_check_ins_at_once_each_get_the_next_number(self, cast, cars):
        with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
            for weekday in range(7):
                OpeningHours.objects.create(store=cast.store_a, weekday=weekday, opens=dt.time(8), closes=dt.time(22))
            for number in range(1, 5):
                Bay.objects.create(store=cast.store_a, code=f"B{number}", name=f"工位{number}")
            appointments = [
                services.appointment_book(
                    store=cast.store_a,
                    start=NOW + dt.timedelta(hours=index // 4),
                    service_type="maintenance",
                    channel="phone",
                    customer=car.customer,
                    vehicle=car,
                    by=cast.alice,
                )
                for index, car in enumerate(cars)
            ]
        results = race(
            lambda index: services.appointment_check_in(appointment=appointments[index], by=cast.alice), THREADS
        )
        assert all(isinstance(r, RepairOrder) for r in results), results
        assert numbers_of_the_day() == EXPECTED

    def test_eight_walk_ins_through_the_api_answer_201_each(self, cast, cars):
        tokens = [api_token_issue(username="alice")[0] for _ in range(THREADS)]

        def post(index):
            response = Client().post(
                "/api/v1/repair-orders",
                data=json.dumps({"store": "SH01", "service_type": "repair", "plate": cars[index].plate}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {tokens[index]}",
            )
            return response.status_code

        assert race(post, THREADS) == [201] * THREADS
        assert numbers_of_the_day() == EXPECTED

    def test_the_same_car_registered_twice_at_once_opens_one_order(self, cast, cars):
        results = race(
            lambda _index: services.walk_in_register(
                store=cast.store_a, by=cast.alice, service_type="repair", plate=cars[0].plate
            ),
            2,
        )
        won = [r for r in results if isinstance(r, RepairOrder)]
        lost = [r for r in results if isinstance(r, ApplicationError)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].extra == {"code": "already_open"}
        assert RepairOrder.objects.filter(vehicle=cars[0]).count() == 1
