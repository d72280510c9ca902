"""The last place of a slot is never taken twice, and a repair order is never moved twice from the same state:
real threads, real transactions, one barrier.  Only PostgreSQL runs writers truly in parallel; SQLite
serialises every write transaction, so there these tests would prove nothing."""

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
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile
from aftersales.organisation.services import api_token_issue
from aftersales.service import services
from aftersales.service.models import Appointment, RepairOrder, RepairOrderEvent, Slot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises write transactions, so no two bookings ever race",
    ),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI)
LAST_PLACE_AT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
THREADS = 8


@pytest.fixture
def last_place(cast):
    """Store A with one 09:00 slot of tomorrow that has exactly one place left, and 8 customers who want it."""
    with time_machine.travel(NOW, tick=False):
        for weekday in range(7):
            OpeningHours.objects.create(store=cast.store_a, weekday=weekday, opens=dt.time(8), closes=dt.time(22))
        for number in (1, 2, 3):
            Bay.objects.create(store=cast.store_a, code=f"B{number}", name=f"工位{number}")
        for _ in range(2):
            customer = make_customer(cast.store_a)
            book(cast, customer, make_vehicle(customer))
        slot = Slot.objects.get(store=cast.store_a, start=LAST_PLACE_AT)
        assert (slot.capacity, slot.booked) == (3, 2)
        customers = [make_customer(cast.store_a) for _ in range(THREADS)]
        cars = [(customer, make_vehicle(customer)) for customer in customers]
        yield slot, cars


def book(cast, customer, vehicle):
    return services.appointment_book(
        store=cast.store_a,
        start=LAST_PLACE_AT,
        service_type="maintenance",
        channel="online",
        customer=customer,
        vehicle=vehicle,
        by=cast.alice,
    )


def race(work, count):
    return shared_race(work, count, at=NOW)


class LastPlaceTests:
    def test_eight_bookings_for_the_last_place_leave_exactly_one_winner(self, cast, last_place):
        slot, cars = last_place
        results = race(lambda index: book(cast, *cars[index]), THREADS)

        won = [r for r in results if isinstance(r, Appointment)]
        lost = [r for r in results if isinstance(r, ApplicationError)]
        assert len(won) == 1, results
        assert len(lost) == THREADS - 1, results
        assert {error.extra.get("code") for error in lost} == {"slot_full"}
        slot.refresh_from_db()
        assert slot.booked == slot.capacity == 3
        assert Appointment.objects.filter(slot=slot).count() == 3
        assert Appointment.objects.filter(slot=slot, customer__in=[c for c, _v in cars]).count() == 1

    def test_eight_api_calls_for_the_last_place_answer_one_201_and_seven_409(self, cast, last_place):
        slot, cars = last_place
        tokens = [api_token_issue(username="alice")[0] for _ in range(THREADS)]

        def post(index):
            customer, vehicle = cars[index]
            body = {
                "store": "SH01",
                "start": LAST_PLACE_AT.isoformat(),
                "service_type": "maintenance",
                "channel": "online",
                "customer": customer.pk,
                "vehicle": vehicle.pk,
            }
            response = Client().post(
                "/api/v1/appointments",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {tokens[index]}",
                HTTP_ACCEPT_LANGUAGE="en",  # threads do not inherit the test's language; the request names it
            )
            return response.status_code, response.json()

        results = race(post, THREADS)
        statuses = sorted(status for status, _body in results)
        assert statuses == [201] + [409] * (THREADS - 1), results
        assert {body["code"] for status, body in results if status == 409} == {"slot_full"}
        assert all(
            body["detail"] == "This slot is full. Please choose another time." for s, body in results if s == 409
        )
        [created] = [body for status, body in results if status == 201]
        assert Appointment.objects.get(pk=created["id"]).slot == slot
        slot.refresh_from_db()
        assert slot.booked == slot.capacity
        assert Appointment.objects.filter(slot=slot).count() == 3


class RepairOrderRaceTests:
    def test_two_moves_from_the_same_state_one_wins_the_other_is_told_someone_else_changed_it(self, cast):
        with time_machine.travel(NOW, tick=False):
            StaffProfile.objects.filter(user=cast.tom).update(technician_grade="senior")
            bay = Bay.objects.create(store=cast.store_a, code="B1", name="工位1")
            customer = make_customer(cast.store_a)
            make_vehicle(customer, plate="沪A77777")
            order = services.walk_in_register(
                store=cast.store_a, by=cast.alice, service_type="repair", plate="沪A77777"
            )
            services.inspection_record(order=order, by=cast.alice, mileage_in=100, fuel_level=50)
            line = services.estimate_line_add(
                order=order, by=cast.alice, kind="labour", description="检查", standard_hours="1", hourly_rate="100"
            )
            services.estimate_send(estimate=line.estimate, by=cast.alice)
            services.estimate_line_decide(line=line, decision="approved", channel="desk", by=cast.alice)
            order = RepairOrder.objects.select_related("store").get(pk=order.pk)
            services.repair_order_assign(order=order, by=cast.mia, technician=cast.tom, bay=bay)
            services.repair_order_transition(order=order, to="waiting", by=cast.alice)  # the advisor releases
            for state in ("in_bay", "in_progress"):  # tom moves his own job
                services.repair_order_transition(order=order, to=state, by=cast.tom)

        # Both read the order in progress; one sends it to QC, the other to waiting-for-parts.
        copies = [RepairOrder.objects.select_related("store").get(pk=order.pk) for _ in range(2)]
        moves = [("qc", ""), ("waiting_parts", "等配件")]

        def work(index):
            to, reason = moves[index]
            return services.repair_order_transition(order=copies[index], to=to, by=cast.tom, reason=reason)

        results = race(work, 2)
        won = [r for r in results if isinstance(r, RepairOrder)]
        lost = [r for r in results if isinstance(r, ApplicationError)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].extra == {"code": "conflict"}
        assert lost[0].message  # the text is in the thread's language; the code above is what callers rely on
        order.refresh_from_db()
        assert order.status == won[0].status
        assert RepairOrderEvent.objects.filter(order=order, from_status="in_progress").count() == 1
