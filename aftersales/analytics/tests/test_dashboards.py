"""The dashboards (issue 12 part 3): the store's period, the group's stores, one person's own figures, the records
behind a figure and the home page — who may open which, what they show, and bounded query counts."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
import time_machine
from django.urls import reverse

from aftersales.analytics.periods import LOCAL_TZ
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.feedback.choices import SurveyChannel
from aftersales.feedback.models import SurveyResponse
from aftersales.feedback.services.surveys import survey_instrument_default
from aftersales.service.models import RepairOrder

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 10, 9, 0, tzinfo=LOCAL_TZ)  # 10 June: May is closed
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _may(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 5, day, hour, 0, tzinfo=LOCAL_TZ)


def delivered_order(store, *, advisor=None, technician=None, day: int = 5, score: int | None = None):
    """A repair order delivered in May 2026 at `store`, with a follow-up survey scored `score` (none: no survey)."""
    customer = make_customer(store)
    vehicle = make_vehicle(customer)
    arrived = _may(day, 9)
    order = RepairOrder.objects.create(
        store=store,
        number=f"RO-T{next(_numbers):05d}",
        customer=customer,
        vehicle=vehicle,
        service_type="repair",
        status="delivered",
        advisor=advisor,
        technician=technician,
        arrived_at=arrived,
        reception_started_at=arrived + dt.timedelta(minutes=4),
        inspection_done_at=arrived + dt.timedelta(minutes=20),
        work_started_at=arrived + dt.timedelta(minutes=40),
        ready_at=arrived + dt.timedelta(hours=3),
        delivered_at=arrived + dt.timedelta(hours=4),
        waits_on_site=True,
        link_nonce="n",
    )
    if score is not None:
        SurveyResponse.objects.create(
            store=store,
            order=order,
            customer=customer,
            instrument=survey_instrument_default(),
            channel=SurveyChannel.FOLLOW_UP_CALL,
            overall=score,
            recommend=score,
            submitted_at=arrived + dt.timedelta(days=2),
        )
    return order


@pytest.fixture
def may(cast):
    """Store A in May 2026: alice's three surveyed orders (9, 10, 6), bob's one (4), tom the technician on two;
    store B one order (10)."""
    return [
        delivered_order(cast.store_a, advisor=cast.alice, technician=cast.tom, score=9),
        delivered_order(cast.store_a, advisor=cast.alice, technician=cast.tom, score=10, day=12),
        delivered_order(cast.store_a, advisor=cast.alice, score=6, day=20),
        delivered_order(cast.store_a, advisor=cast.bob, score=4, day=21),
        delivered_order(cast.store_b, advisor=cast.carol, score=10),
    ]


def _get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


class StoreDashboardTests:
    def test_the_manager_sees_every_kpi_of_the_period_with_target_and_rag(self, client, cast, may):
        response = _get(client, cast.mia, reverse("analytics:dashboard"), period="2026-05")
        assert response.status_code == 200
        html = response.content.decode()
        tile = re.search(r'id="kpi-csat_percent"[^>]*data-status="(\w*)" data-value="([\d.]*)"', html)
        assert tile is not None
        # 2 of alice's 3 and none of bob's: 2 of 4 surveys ≥ 8 → 50.00 %, red against 90 %.
        assert tile.groups() == ("red", "50.00")
        assert "target ≥ 90.00%" in html
        assert 'id="kpi-nps"' in html and 'id="kpi-follow_up_within_24h_percent"' in html
        # Each figure links to its records.
        assert reverse("analytics:drilldown", args=["csat_percent"]) + "?period=2026-05&amp;store=SH01" in html

    def test_the_review_cycle_names_the_kpis_reviewed_at_it(self, client, cast, may):
        quarter = _get(client, cast.mia, reverse("analytics:dashboard"), period="2026-Q2").content.decode()
        assert 'data-reviewed="csat_percent"' in quarter  # SPEC §6: CSAT at the quarterly review
        month = _get(client, cast.mia, reverse("analytics:dashboard"), period="2026-05").content.decode()
        assert 'data-reviewed="csat_percent"' not in month
        assert "At the monthly review" in month

    def test_an_empty_period_says_what_to_do_next(self, client, cast):
        html = _get(client, cast.mia, reverse("analytics:dashboard"), period="2026-05").content.decode()
        assert 'id="dashboard-empty"' in html and "Look at 2026-04" in html

    def test_a_bad_period_is_refused_and_a_missing_one_shows_the_current_month(self, client, cast):
        # A bad period used to show the current month silently; it is now a 400 naming `period`
        # (test_dashboard_input.py covers every page).
        assert _get(client, cast.mia, reverse("analytics:dashboard"), period="2026-13").status_code == 400
        html = _get(client, cast.mia, reverse("analytics:dashboard")).content.decode()
        assert 'data-period="2026-06"' in html

    def test_an_advisor_cannot_open_the_store_dashboard(self, client, cast):
        assert _get(client, cast.alice, reverse("analytics:dashboard")).status_code == 403

    def test_a_manager_cannot_open_another_stores_dashboard(self, client, cast):
        response = _get(client, cast.mia, reverse("analytics:dashboard"), store="HZ01")
        assert response.status_code == 404
        assert _get(client, cast.mia, reverse("analytics:dashboard"), store="BJ01").status_code == 404

    def test_the_group_manager_picks_any_store_of_the_group(self, client, cast, may):
        html = _get(client, cast.grace, reverse("analytics:dashboard"), store="HZ01", period="2026-05").content
        assert 'id="dashboard-store">杭州店<' in html.decode()
        assert _get(client, cast.otto, reverse("analytics:dashboard"), store="HZ01").status_code == 404

    def test_the_query_count_does_not_grow_with_the_records(self, client, cast, may, django_assert_max_num_queries):
        client.force_login(cast.mia)
        url = reverse("analytics:dashboard")
        with django_assert_max_num_queries(92) as few:  # + core parts, senior share (issue 14); + 8 audits (16)
            client.get(url, {"period": "2026-05"})
        for day in range(1, 25):
            delivered_order(cast.store_a, advisor=cast.bob, score=day % 11, day=day)
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get(url, {"period": "2026-05"})


class GroupComparisonTests:
    def test_the_group_manager_sees_the_stores_side_by_side(self, client, cast, may):
        response = _get(client, cast.grace, reverse("analytics:group-dashboard"), period="2026-05", kpi="csat_percent")
        assert response.status_code == 200
        html = response.content.decode()
        # Ranking: HZ01 (1 of 1 → 100 %) before SH01 (2 of 4 → 50 %).
        order = re.findall(r'<tr data-store="(\w+)" data-status="(\w*)"', html)
        assert order == [("HZ01", "green"), ("SH01", "red")]
        # The group's figure is computed over its records: 3 of 5 = 60 %, not the mean of 100 % and 50 %.
        assert re.search(r'id="group-kpi-csat_percent"[^>]*>.*?<strong>60.00%</strong>', html, re.S)
        assert 'data-chart="heatmap-chart"' in html and 'id="heatmap-chart"' in html
        assert "/numbers/kpi/csat_percent/?period=2026-05\\u0026store=HZ01" in html  # a cell opens its records

    def test_a_store_manager_cannot_compare_the_group(self, client, cast):
        assert _get(client, cast.mia, reverse("analytics:group-dashboard")).status_code == 403
        assert _get(client, cast.alice, reverse("analytics:group-dashboard")).status_code == 403

    def test_another_groups_code_answers_404(self, client, cast):
        assert _get(client, cast.grace, reverse("analytics:group-dashboard"), group="g2").status_code == 404

    def test_the_query_count_is_bounded(self, client, cast, may, django_assert_max_num_queries):
        client.force_login(cast.grace)
        url = reverse("analytics:group-dashboard")
        with django_assert_max_num_queries(140) as before:  # the stores in one grouped read (kpi_figures_by_store)
            client.get(url, {"period": "2026-05"})
        for day in range(1, 20):
            delivered_order(cast.store_b, advisor=cast.carol, score=day % 11, day=day)
        with django_assert_max_num_queries(len(before.captured_queries)):
            client.get(url, {"period": "2026-05"})


class StaffPageTests:
    def test_an_advisor_sees_their_own_figures(self, client, cast, may):
        html = _get(client, cast.alice, reverse("analytics:my-numbers"), period="2026-05").content.decode()
        # Alice: 2 of 3 surveys ≥ 8; the store beside it: 2 of 4.
        assert re.search(r'id="kpi-csat_percent"[^>]*data-value="66.67"', html)
        assert "store 50.00%" in html
        assert f"advisor={cast.alice.pk}" in html

    def test_a_technician_sees_the_technician_cut(self, client, cast, may):
        html = _get(client, cast.tom, reverse("analytics:my-numbers"), period="2026-05").content.decode()
        assert re.search(r'id="kpi-csat_percent"[^>]*data-value="100.00"', html)
        assert f"technician={cast.tom.pk}" in html

    def test_an_advisor_cannot_open_another_advisors_page(self, client, cast, may):
        assert _get(client, cast.alice, reverse("analytics:staff-numbers", args=[cast.bob.pk])).status_code == 404
        response = _get(client, cast.alice, reverse("analytics:my-numbers"), person=cast.bob.pk)
        assert response.status_code == 404
        drill = reverse("analytics:drilldown", args=["csat_percent"])
        assert _get(client, cast.alice, drill, store="SH01", advisor=cast.bob.pk).status_code == 404

    def test_the_manager_opens_any_advisor_of_the_store_but_not_of_another(self, client, cast, may):
        html = _get(client, cast.mia, reverse("analytics:staff-numbers", args=[cast.bob.pk]), period="2026-05")
        assert re.search(r'id="kpi-csat_percent"[^>]*data-value="0.00"', html.content.decode())
        assert _get(client, cast.mia, reverse("analytics:staff-numbers", args=[cast.carol.pk])).status_code == 404

    def test_a_manager_without_personal_figures_gets_the_picker(self, client, cast):
        html = _get(client, cast.mia, reverse("analytics:my-numbers")).content.decode()
        assert 'id="staff-none"' in html and 'id="staff-picker"' in html
        assert f'<option value="{cast.bob.pk}"' in html and f'<option value="{cast.carol.pk}"' not in html


class DrilldownTests:
    def test_it_shows_the_figure_and_the_records_each_with_its_badge(self, client, cast, may):
        url = reverse("analytics:drilldown", args=["csat_percent"])
        html = _get(client, cast.mia, url, period="2026-05", store="SH01").content.decode()
        assert 'data-numerator="2" data-denominator="4"' in html
        assert "Share of post-visit survey responses" in html  # the definition
        assert html.count("data-record ") == 4
        assert len(re.findall(r'data-met="1"', html)) == 2 and len(re.findall(r'data-met="0"', html)) == 2
        survey = SurveyResponse.objects.filter(order=may[0]).get()
        assert reverse("feedback:survey-detail", args=[survey.pk]) in html
        # Only the records that miss the rule.
        html = _get(client, cast.mia, url, period="2026-05", store="SH01", met="0").content.decode()
        assert html.count("data-record ") == 2

    def test_an_order_kpi_links_to_the_orders(self, client, cast, may):
        url = reverse("analytics:drilldown", args=["follow_up_within_24h_percent"])
        html = _get(client, cast.mia, url, period="2026-05", store="SH01").content.decode()
        assert reverse("service:order-detail", args=[may[0].pk]) in html

    def test_the_advisor_drills_into_their_own_records_only(self, client, cast, may):
        url = reverse("analytics:drilldown", args=["csat_percent"])
        response = _get(client, cast.alice, url, period="2026-05", store="SH01", advisor=cast.alice.pk)
        assert response.status_code == 200
        assert 'data-numerator="2" data-denominator="3"' in response.content.decode()
        assert _get(client, cast.alice, url, period="2026-05", store="SH01").status_code == 403

    def test_an_unknown_kpi_or_another_store_answers_404(self, client, cast, may):
        assert _get(client, cast.mia, reverse("analytics:drilldown", args=["nope"])).status_code == 404
        url = reverse("analytics:drilldown", args=["csat_percent"])
        assert _get(client, cast.mia, url, store="HZ01").status_code == 404

    def test_the_group_figure_drills_into_the_groups_records(self, client, cast, may):
        url = reverse("analytics:drilldown", args=["csat_percent"])
        html = _get(client, cast.grace, url, period="2026-05", group="g1").content.decode()
        assert 'data-numerator="3" data-denominator="5"' in html and html.count("data-record ") == 5
        assert _get(client, cast.mia, url, group="g1").status_code == 403

    def test_the_records_are_paginated_with_a_bounded_query_count(
        self, client, cast, may, django_assert_max_num_queries
    ):
        for day in range(1, 29):
            delivered_order(cast.store_a, advisor=cast.bob, score=day % 11, day=day)
        client.force_login(cast.mia)
        url = reverse("analytics:drilldown", args=["csat_percent"])
        with django_assert_max_num_queries(25):
            html = client.get(url, {"period": "2026-05", "store": "SH01"}).content.decode()
        assert html.count("data-record ") == 25 and 'data-count="32"' in html
        html = client.get(url, {"period": "2026-05", "store": "SH01", "page": 2}).content.decode()
        assert html.count("data-record ") == 7

    def test_the_trend_has_thirteen_periods_and_the_target(self, client, cast, may):
        url = reverse("analytics:trend", args=["csat_percent"])
        html = _get(client, cast.mia, url, period="2026-05", store="SH01").content.decode()
        assert '"2025-05"' in html and '"2026-05"' in html and html.count('"url"') == 13
        assert '"type": "dashed"' in html

    def test_the_tiles_dialog_shows_the_definition_the_trend_and_the_way_to_the_records(self, client, cast, may):
        url = reverse("analytics:trend", args=["csat_percent"])
        html = _get(client, cast.alice, url, period="2026-05", store="SH01", advisor=cast.alice.pk, dialog="1")
        html = html.content.decode()
        assert "Share of post-visit survey responses" in html and 'data-chart="trend-csat_percent"' in html
        assert f"/numbers/kpi/csat_percent/?period=2026-05&amp;store=SH01&amp;advisor={cast.alice.pk}" in html
        # Another advisor's trend is not the advisor's to see.
        other = _get(client, cast.alice, url, period="2026-05", store="SH01", advisor=cast.bob.pk, dialog="1")
        assert other.status_code == 404


class HomeTests:
    def test_the_manager_sees_the_stores_month(self, client, cast, may):
        html = _get(client, cast.mia, reverse("home")).content.decode()
        assert 'id="home-numbers" data-kind="store"' in html
        assert 'id="home-kpi-csat_percent"' in html and 'id="voice-today"' in html

    def test_the_advisor_sees_their_own_month(self, client, cast, may):
        html = _get(client, cast.alice, reverse("home")).content.decode()
        assert 'id="home-numbers" data-kind="staff"' in html
        assert f"advisor={cast.alice.pk}" in html

    def test_the_group_manager_sees_the_groups_month(self, client, cast, may):
        html = _get(client, cast.grace, reverse("home")).content.decode()
        assert 'id="home-numbers" data-kind="group"' in html and "group=g1" in html

    def test_a_driver_sees_no_numbers(self, client, cast):
        assert 'id="home-numbers"' not in _get(client, cast.dan, reverse("home")).content.decode()
