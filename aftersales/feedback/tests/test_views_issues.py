"""The monthly frequent issues page: hand-built complaints and surveys over two months give the ranks, shares
and changes computed by hand below; a bad month falls back with a message; the scope follows the store switch;
managers get "Open a CAPA" per category; the number of queries does not grow with the data."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer
from aftersales.feedback import services
from aftersales.feedback.tests.conftest import LOW, deliver, grant_survey_consent

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db

URL = "/feedback/issues/"
MARCH = dt.date(2026, 3, 1)
# Low on waiting and attitude, not on quality.
MIXED = {"overall": 8, "recommend": 8, "attitude": 2, "quality": 4, "waiting": 2}


@pytest.fixture
def client():
    """Pages answer in English here (the store default is Chinese), so tests can read the messages."""
    return Client(headers={"accept-language": "en"})


def log(shop, category, at, store=None, customer=None, by=None):
    with time_machine.travel(at, tick=False):
        return services.complaint_log(
            store=store or shop.store,
            customer=customer or shop.customer,
            channel="phone",
            category=category,
            priority="general",
            description="投诉",
            by=by or shop.cast.alice,
        )


def surveyed(shop, answers, at):
    with time_machine.travel(at, tick=False):
        order = deliver(shop)
        services.survey_response_record(order=order, channel="delivery", answers=answers, by=shop.advisor)


@pytest.fixture
def two_months(shop):
    """February 2026: price ×3, waiting ×1, attitude ×1; one LOW survey (quality 2, waiting 1 are low).
    March 2026: waiting ×3, quality ×2, price ×1; surveys LOW, LOW and MIXED.  Plus noise that must not count:
    January, and store B in March."""
    for day, category in [(3, "price"), (4, "price"), (5, "price"), (6, "waiting"), (7, "attitude")]:
        log(shop, category, shanghai(2026, 2, day, 10, 0))
    for day, category in [(2, "waiting"), (3, "waiting"), (4, "waiting"), (5, "quality"), (6, "quality"), (9, "price")]:
        log(shop, category, shanghai(2026, 3, day, 10, 0))
    log(shop, "parts", shanghai(2026, 1, 31, 23, 0))  # January: outside both months
    log(shop, "parts", shanghai(2026, 3, 31, 23, 59))  # still March in Shanghai
    customer_b = make_customer(shop.cast.store_b, name="杭州客户")
    log(shop, "other", shanghai(2026, 3, 10, 10, 0), store=shop.cast.store_b, customer=customer_b, by=shop.cast.carol)
    grant_survey_consent(shop.customer, shop.advisor)
    surveyed(shop, LOW, shanghai(2026, 2, 10, 10, 0))
    surveyed(shop, LOW, shanghai(2026, 3, 10, 10, 0))
    surveyed(shop, LOW, shanghai(2026, 3, 11, 10, 0))
    surveyed(shop, MIXED, shanghai(2026, 3, 12, 10, 0))
    return shop


def table(rows):
    return [(i["row"].rank, i["row"].key, i["row"].count, i["row"].previous, i["row"].change, i["share"]) for i in rows]


class FrequentIssuesPageTests:
    def test_the_ranks_shares_and_changes_are_the_hand_computed_ones(self, client, two_months):
        shop = two_months
        client.force_login(shop.cast.alice)
        with frozen(2026, 4, 15, 9, 0):
            page = client.get(URL)  # default: the previous full month, March
        assert page.status_code == 200 and page.context["month"].isoformat() == "2026-03-01"
        # March: 7 complaints (waiting 3, quality 2, parts 1 on the 31st at 23:59, price 1).  Ranked by count, then
        # by the larger change: parts (+1) before price (−2).  Shares of 7: 42.9, 28.6, 14.3, 14.3, 0.
        assert table(page.context["categories"]) == [
            (1, "waiting", 3, 1, 2, 42.9),
            (2, "quality", 2, 0, 2, 28.6),
            (3, "parts", 1, 0, 1, 14.3),
            (4, "price", 1, 3, -2, 14.3),
            (5, "attitude", 0, 1, -1, 0.0),
        ]
        # Low answers (≤ 2): March waiting 1+1+1, quality 1+1, attitude 1 (MIXED); February waiting 1, quality 1.
        assert table(page.context["items"]) == [
            (1, "waiting", 3, 1, 2, 50.0),
            (2, "quality", 2, 1, 1, 33.3),
            (3, "attitude", 1, 0, 1, 16.7),
        ]
        means = {i["row"].key: (i["row"].mean, i["row"].previous_mean) for i in page.context["items"]}
        assert means["waiting"] == (round((1 + 1 + 2) / 3, 2), 1.0)
        body = page.content.decode()
        assert 'data-change="2"><span class="text-danger fw-semibold"' in body
        assert 'data-change="-2"><span class="text-success fw-semibold"' in body and "↓ 2" in body
        assert "杭州" not in body

    def test_the_chart_compares_both_months_with_the_top_rank_on_top(self, client, two_months):
        client.force_login(two_months.cast.alice)
        with frozen(2026, 4, 15, 9, 0):
            page = client.get(URL, {"month": "2026-03"})
        options = page.context["category_chart"]
        assert options["yAxis"]["data"][-1] == "Waiting time"
        assert [s["name"] for s in options["series"]] == ["2026-02", "2026-03"]
        assert options["series"][1]["data"] == [0, 1, 1, 2, 3]
        assert options["series"][0]["data"] == [1, 3, 0, 0, 1]
        body = page.content.decode()
        assert 'data-chart="category-chart"' in body and '<script id="category-chart" type="application/json">' in body
        assert 'data-chart="item-chart"' in body and "dist/charts.js" in body
        json.loads(body.split('<script id="category-chart" type="application/json">')[1].split("</script>")[0])

    def test_managers_open_a_capa_from_a_category_and_see_it_afterwards(self, client, two_months):
        shop = two_months
        with frozen(2026, 4, 15, 9, 0):
            client.force_login(shop.cast.alice)
            assert "data-open-capa" not in client.get(URL).content.decode()
            client.force_login(shop.cast.mia)
            body = client.get(URL).content.decode()
            link = f"{reverse('feedback:capa-create')}?category=waiting&amp;month=2026-03"
            assert link in body and 'data-open-capa="attitude"' not in body  # nothing to fix this month
            capa = services.capa_open(
                store=shop.store, by=shop.cast.mia, title="等待", cluster_category="waiting", cluster_month=MARCH
            )
            body = client.get(URL).content.decode()
        assert link not in body and reverse("feedback:capa-detail", args=[capa.pk]) in body

    @pytest.mark.parametrize("month", ["2026-13", "abc", "2099-01", "0001-01", "2026-3", "2026-04-01", "９９９９-01"])
    def test_a_bad_month_falls_back_with_a_message(self, client, shop, month):
        client.force_login(shop.cast.alice)
        with frozen(2026, 4, 15, 9, 0):
            page = client.get(URL, {"month": month})
        assert page.status_code == 200
        assert page.context["month"].isoformat() == "2026-03-01"
        assert any("showing 2026-03" in str(m) for m in page.context["messages"])

    def test_the_current_month_has_no_next_and_the_arrows_move_by_one_month(self, client, shop):
        client.force_login(shop.cast.alice)
        with frozen(2026, 1, 15, 9, 0):
            current = client.get(URL, {"month": "2026-01"})
            previous = client.get(URL)
        assert current.context["next_month"] is None and 'id="month-next"' not in current.content.decode()
        assert 'href="?month=2025-12"' in current.content.decode()
        assert previous.context["month"].isoformat() == "2025-12-01"
        assert 'href="?month=2026-01"' in previous.content.decode()

    def test_empty_months_say_where_the_figures_come_from(self, client, shop):
        client.force_login(shop.cast.alice)
        body = client.get(URL).content.decode()
        assert 'id="categories-empty"' in body and 'id="items-empty"' in body and "data-chart" not in body

    def test_the_scope_follows_the_store_switch(self, client, two_months):
        shop = two_months
        client.force_login(shop.cast.grace)  # group manager of stores A and B
        with frozen(2026, 4, 15, 9, 0):
            both = client.get(URL, {"month": "2026-03"})
            client.post(reverse("store-switch"), {"store": shop.cast.store_b.pk, "next": URL})
            only_b = client.get(URL, {"month": "2026-03"})
        assert "other" in [i["row"].key for i in both.context["categories"]]
        assert [i["row"].key for i in only_b.context["categories"]] == ["other"]
        assert only_b.context["items"] == []

    def test_a_technician_is_refused(self, client, shop):
        client.force_login(shop.cast.tom)
        assert client.get(URL).status_code == 403

    def test_the_number_of_queries_does_not_grow_with_the_data(self, client, shop):
        client.force_login(shop.cast.mia)

        def count():
            with CaptureQueriesContext(connection) as ctx, frozen(2026, 4, 15, 9, 0):
                response = client.get(URL, {"month": "2026-03"})
            assert response.status_code == 200
            return len(ctx.captured_queries)

        log(shop, "price", shanghai(2026, 3, 2, 10, 0))
        client.get(URL)  # the first request creates the default survey instrument
        few = count()
        for day, category in enumerate(["waiting", "quality", "parts", "attitude", "other", "price"], start=3):
            log(shop, category, shanghai(2026, 3, day, 10, 0))
            log(shop, category, shanghai(2026, 2, day, 10, 0))
        services.capa_open(store=shop.store, by=shop.cast.mia, title="x", cluster_category="price", cluster_month=MARCH)
        assert count() == few
        assert few <= 14
