"""The efficiency sweep runs every five minutes over every job in progress: its reads must not grow with the
number of jobs (orders with their events, the standard hours and one settings read per store)."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.organisation.models import Bay
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.tests.conftest import approved_labour, frozen, inspect, open_order, walk

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
SWEEP_QUERIES = 4  # in-progress orders with their store, their events, the standard hours, the store's settings


def jobs_in_progress(shop, count):
    orders = []
    with frozen(2026, 3, 2, 9, 0):
        for _ in range(count):
            index = next(_numbers)
            car = make_vehicle(make_customer(shop.store, name=f"客户{index}"), plate=f"沪A3{index:04d}")
            bay = Bay.objects.create(store=shop.store, code=f"Q{index}", name=f"Q{index}")
            order = open_order(shop, vehicle=car)
            inspect(shop, order)
            approved_labour(shop, order, hours="1.0")
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=bay)
            orders.append(walk(shop, order, S.WAITING, S.IN_BAY, S.IN_PROGRESS))
    return orders


def sweep_query_count():
    with frozen(2026, 3, 2, 9, 30), CaptureQueriesContext(connection) as queries:
        assert services.efficiency_sweep() == 0  # half an hour into one-hour jobs: nobody is late
    return len(queries)


class SweepQueryTests:
    def test_the_reads_do_not_grow_with_the_number_of_jobs(self, shop):
        jobs_in_progress(shop, 1)
        one = sweep_query_count()
        jobs_in_progress(shop, 6)
        assert sweep_query_count() == one == SWEEP_QUERIES

    def test_twelve_jobs_take_a_bounded_number_of_queries(self, shop, django_assert_max_num_queries):
        jobs_in_progress(shop, 12)
        with frozen(2026, 3, 2, 9, 30), django_assert_max_num_queries(SWEEP_QUERIES):
            assert services.efficiency_sweep(store=shop.store) == 0

    def test_late_jobs_are_still_found_among_many(self, shop):
        orders = jobs_in_progress(shop, 5)
        with frozen(2026, 3, 2, 10, 7):  # 67 minutes of work on a one-hour job: every one is late
            assert services.efficiency_sweep() == 5
        for order in orders:
            order.refresh_from_db()
            assert order.efficiency_warned_at is not None
