"""Stock never goes negative: eight clerks issue the last units of a part to eight orders at the same moment (real
threads, real transactions, one barrier), through the service and through the API.  Only PostgreSQL runs writers
truly in parallel; SQLite serialises every write transaction, so there these tests would prove nothing."""

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.config.testing import race as shared_race
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.choices import Role
from aftersales.organisation.models import OpeningHours
from aftersales.organisation.services import api_token_issue
from aftersales.parts import services as parts
from aftersales.parts.models import Batch, Movement, Stock
from aftersales.service import services
from aftersales.service.models import LinePartIssue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises write transactions, so no two issues ever race",
    ),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
THREADS = 8


@pytest.fixture
def eight_orders(cast):
    """Three units on the shelf in two batches, and eight open orders each with an approved line of one."""
    with time_machine.travel(NOW, tick=False):
        for weekday in range(7):
            OpeningHours.objects.create(store=cast.store_a, weekday=weekday, opens=dt.time(8), closes=dt.time(22))
        clerks = [make_user(f"clerk{i}", Role.PARTS_CLERK, store=cast.store_a) for i in range(THREADS)]
        part = parts.part_save(group=cast.group, by=clerks[0], code="BAT-60", name="蓄电池 60Ah", category="oem")
        for number, quantity in (("B1", 1), ("B2", 2)):
            parts.goods_receive(
                store=cast.store_a,
                by=clerks[0],
                part=part,
                supplier="瓦尔塔",
                received_on=dt.date(2026, 11, 20),
                unit_cost="400",
                quantity=quantity,
                batch_number=number,
                source_voucher=f"V-{number}",
                certificate_checked=True,
            )
        lines = []
        for index in range(THREADS):
            customer = make_customer(cast.store_a)
            vehicle = make_vehicle(customer, plate=f"沪B1234{index}")
            order = services.walk_in_register(
                store=cast.store_a, by=cast.alice, service_type="repair", plate=vehicle.plate
            )
            services.inspection_record(order=order, by=cast.alice, mileage_in=10000, fuel_level=50)
            line = services.estimate_line_add(
                order=order, by=cast.alice, kind="part", description="蓄电池", part_number="BAT-60", unit_price="600"
            )
            services.estimate_send(estimate=line.estimate, by=cast.alice)
            lines.append(services.estimate_line_decide(line=line, decision="approved", channel="desk", by=cast.alice))
        yield part, clerks, lines


def race(work, count):
    return shared_race(work, count, at=NOW)


def assert_three_went_out(part):
    stock = Stock.objects.get(part=part)
    assert stock.on_hand == 0
    assert sorted(Batch.objects.filter(part=part).values_list("remaining", flat=True)) == [0, 0]
    assert LinePartIssue.objects.filter(line__part=part).count() == 3  # one unit each, B1 then B2 twice
    assert Movement.objects.filter(part=part, kind="issue").count() == 3
    assert sum(Movement.objects.filter(part=part).values_list("quantity", flat=True)) == 0


def test_eight_issues_of_three_units_leave_three_winners_and_stock_at_zero(eight_orders):
    part, clerks, lines = eight_orders
    results = race(lambda i: services.line_part_issue(line=lines[i], by=clerks[i]), THREADS)
    won = [r for r in results if isinstance(r, list)]
    lost = [r for r in results if isinstance(r, ApplicationError)]
    assert (len(won), len(lost)) == (3, 5), results
    assert all(error.extra["field"] == "quantity" for error in lost)
    assert_three_went_out(part)


def test_eight_api_issues_answer_three_201_and_five_409(eight_orders):
    part, clerks, lines = eight_orders
    tokens = [api_token_issue(username=clerk.username)[0] for clerk in clerks]

    def post(index):
        body = {"order": lines[index].estimate.order_id, "part": "BAT-60", "quantity": 1}
        response = Client().post(
            "/api/v1/parts/issues",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[index]}",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        return response.status_code, response.json()

    results = race(post, THREADS)
    assert sorted(status for status, _body in results) == [201] * 3 + [409] * 5, results
    assert {body["on_hand"] for status, body in results if status == 201} == {"2.00", "1.00", "0.00"}
    assert_three_went_out(part)
    assert Stock.objects.get(part=part).on_hand == Decimal("0")
