"""Reads: the order page in a fixed number of queries, and the advisor's workbench queue and clocks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.service import selectors, services
from aftersales.service.models import Attachment

from .conftest import frozen, open_order, shanghai

pytestmark = pytest.mark.django_db


def order_with_lines(shop, vehicle, count):
    order = open_order(shop, vehicle=vehicle)
    lines = [
        services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description=f"工序{i}", standard_hours="0.5"
        )
        for i in range(count)
    ]
    for line in lines:
        Attachment.objects.bulk_create(
            [
                Attachment(
                    order=order,
                    line=line,
                    purpose="evidence",
                    file=f"ro/x/{line.pk}-{n}.jpg",
                    size=10,
                    content_type="image/jpeg",
                    uploaded_by=shop.advisor,
                )
                for n in range(2)
            ]
        )
    Attachment.objects.create(order=order, purpose="inspection", file="ro/x/in.jpg", size=10, content_type="image/jpeg")
    services.estimate_send(estimate=lines[0].estimate, by=shop.advisor)
    for line in lines[::2]:
        services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)
    return order


def queries_for(order):
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.order_page(order)
    return len(ctx.captured_queries), page


class OrderPageTests:
    def test_the_query_count_does_not_grow_with_lines_and_attachments(self, shop):
        small = order_with_lines(shop, shop.vehicle, 1)
        other = make_vehicle(make_customer(shop.store, by=shop.advisor, name="二号"), by=shop.advisor, plate="沪A22222")
        big = order_with_lines(shop, other, 20)
        small_count, small_page = queries_for(small)
        big_count, big_page = queries_for(big)
        assert small_count == big_count <= 4
        assert len(big_page.estimates[0].lines) == 20
        assert all(len(view.attachments) == 2 for view in big_page.estimates[0].lines)
        assert len(big_page.inspection_photos) == 1
        assert len(big_page.approved) == 10
        assert big_page.bill_total == 10 * 150
        assert big_page.pending_lines == 10
        assert small_page.bill_total == 150

    def test_drafts_are_hidden_from_the_customer(self, shop):
        order = open_order(shop)
        services.estimate_line_add(order=order, by=shop.advisor, kind="fee", description="费", amount="5")
        assert selectors.order_page(order).estimates == []
        assert len(selectors.order_page(order, include_drafts=True).estimates) == 1


class WorkbenchTests:
    def _car(self, shop, plate, *, priority=False):
        customer = make_customer(shop.store, by=shop.advisor, name=f"客{plate[-2:]}", is_priority=priority)
        return make_vehicle(customer, by=shop.advisor, plate=plate)

    def test_priority_customers_come_first_then_by_arrival(self, shop):
        cars = {
            "early": self._car(shop, "沪A10001"),
            "vip_late": self._car(shop, "沪A10002", priority=True),
            "middle": self._car(shop, "沪A10003"),
            "vip_early": self._car(shop, "沪A10004", priority=True),
        }
        arrivals = {"early": (9, 0), "middle": (9, 2), "vip_early": (9, 3), "vip_late": (9, 5)}
        orders = {}
        for name, (hour, minute) in sorted(arrivals.items(), key=lambda item: item[1]):
            with frozen(2026, 3, 2, hour, minute):
                orders[name] = open_order(shop, vehicle=cars[name])
        with frozen(2026, 3, 2, 9, 6):
            bench = selectors.workbench(user=shop.advisor, store_ids=frozenset({shop.store.pk}))
        assert [row["order"] for row in bench.queue] == [
            orders["vip_early"],
            orders["vip_late"],
            orders["early"],
            orders["middle"],
        ]

    # Walk-in to bay: 10 minutes; inspection shown: 30 minutes.  Overdue only when the target is exceeded.
    @pytest.mark.parametrize(
        ("minute", "bay_overdue", "inspection_overdue"),
        [
            (9, False, False),
            (10, False, False),
            (11, True, False),
            (29, True, False),
            (30, True, False),
            (31, True, True),
        ],
    )
    def test_overdue_clocks_at_their_edges(self, shop, minute, bay_overdue, inspection_overdue):
        with frozen(2026, 3, 2, 9, 0):
            order = open_order(shop)
        with frozen(2026, 3, 2, 9, minute):
            bench = selectors.workbench(user=shop.advisor, store_ids=frozenset({shop.store.pk}))
        (row,) = bench.queue
        assert row["order"] == order
        assert row["minutes"] == minute
        assert (row["bay_overdue"], row["inspection_overdue"]) == (bay_overdue, inspection_overdue)
        assert (row in bench.overdue) is (bay_overdue or inspection_overdue)

    def test_the_clocks_stop_once_done(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            order = open_order(shop)
        with frozen(2026, 3, 2, 9, 5):
            services.inspection_record(order=order, by=shop.advisor, mileage_in=12000, fuel_level=50)
        with frozen(2026, 3, 2, 9, 8):
            services.repair_order_assign(order=order, by=shop.foreman, bay=shop.bay_1)
        with frozen(2026, 3, 2, 10, 0):
            bench = selectors.workbench(user=shop.advisor, store_ids=frozenset({shop.store.pk}))
        assert bench.queue == []  # a car with a bay has left the reception queue
        assert bench.overdue == []
        assert order.bay_assigned_at == shanghai(2026, 3, 2, 9, 8)

    def test_another_store_is_not_on_the_workbench(self, shop):
        stranger = make_customer(shop.cast.store_b, by=shop.cast.carol, name="外店")
        car = make_vehicle(stranger, by=shop.cast.carol, plate="浙A12345")
        services.walk_in_register(store=shop.cast.store_b, by=shop.cast.carol, service_type="repair", plate=car.plate)
        open_order(shop)
        bench = selectors.workbench(user=shop.advisor, store_ids=frozenset({shop.store.pk, shop.cast.store_b.pk}))
        assert [row["order"].store_id for row in bench.queue] == [shop.store.pk]
