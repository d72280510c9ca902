"""Results per arm, counted in SQL over hand-made members, visits and bookings, and the uplift with its interval."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.campaigns import selectors, services
from aftersales.campaigns.choices import Arm
from aftersales.campaigns.models import CampaignMember
from aftersales.campaigns.stats import newcombe_difference
from aftersales.messaging.models import OutboxMessage

from .conftest import booking, customer, draft, shanghai, visit

pytestmark = pytest.mark.django_db

SENT_AT = shanghai(2026, 3, 2, 11)


@pytest.fixture
def finished(cast, clock_at):
    """10 treatment members (8 delivered, 4 opened, 3 booked, 4 returned, 2 400.00 CNY) and 5 control members
    (1 returned, 300.00 CNY), plus visits that must not count."""
    campaign = draft(cast.store_a, cast.mia)
    type(campaign).objects.filter(pk=campaign.pk).update(
        status="finished", started_at=SENT_AT, control_share_percent=33
    )
    campaign.refresh_from_db()
    treated = [customer(cast.store_a, name=f"T{i}") for i in range(10)]
    control = [customer(cast.store_a, name=f"C{i}") for i in range(5)]
    for i, person in enumerate(treated):
        message = OutboxMessage.objects.create(
            store=cast.store_a,
            customer=person,
            channel="sms",
            purpose="marketing",
            template="campaign_message",
            body="x",
            status="sent" if i < 8 else "suppressed",
        )
        CampaignMember.objects.create(
            campaign=campaign,
            customer=person,
            arm=Arm.TREATMENT,
            message=message,
            link_token=f"tok{i}",
            handled_at=SENT_AT,
            opened_at=SENT_AT + dt.timedelta(hours=1) if i < 4 else None,
        )
    for person in control:
        CampaignMember.objects.create(campaign=campaign, customer=person, arm=Arm.CONTROL, handled_at=SENT_AT)
    # Treatment: 4 return (two visits for T0, revenue 600 + 400 + 500 + 700 + 200), one still in the workshop.
    visit(treated[0], arrived=SENT_AT + dt.timedelta(days=5), billed="600.00")
    visit(treated[0], arrived=SENT_AT + dt.timedelta(days=40), billed="400.00")
    visit(treated[1], arrived=SENT_AT + dt.timedelta(days=10), billed="500.00")
    visit(treated[2], arrived=SENT_AT + dt.timedelta(days=89), billed="700.00")
    visit(treated[3], arrived=SENT_AT + dt.timedelta(days=20), billed=None, status="in_progress")
    visit(treated[4], arrived=SENT_AT + dt.timedelta(days=2), billed="999.00", status="cancelled")  # not a return
    visit(treated[5], arrived=SENT_AT + dt.timedelta(days=91), billed="999.00")  # after the window
    visit(treated[6], arrived=SENT_AT - dt.timedelta(days=1), billed="999.00")  # before the send
    for person in treated[:3]:
        booking(person, created=SENT_AT + dt.timedelta(days=1))
    booking(treated[7], created=SENT_AT - dt.timedelta(days=1))  # before: no count
    visit(control[0], arrived=SENT_AT + dt.timedelta(days=30), billed="300.00")
    return campaign


class ResultsTests:
    def test_each_arm_is_counted_by_hand(self, finished):
        results = selectors.campaign_results(campaign=finished)
        t, c = results.treatment, results.control
        assert (t.members, t.delivered, t.opened, t.booked, t.returned) == (10, 8, 4, 3, 4)
        assert t.revenue == Decimal("2200.00")  # 600 + 400 + 500 + 700 (delivered visits only)
        assert (c.members, c.delivered, c.opened, c.booked, c.returned) == (5, 0, 0, 0, 1)
        assert c.revenue == Decimal("300.00")
        assert results.window_days == 90 and results.window_end == SENT_AT + dt.timedelta(days=90)

    def test_the_uplift_is_the_difference_of_return_rates_with_newcombes_interval(self, finished):
        results = selectors.campaign_results(campaign=finished)
        assert results.uplift == newcombe_difference(4, 10, 1, 5)
        assert results.uplift.estimate == pytest.approx(0.4 - 0.2)
        assert results.method == "newcombe_hybrid_score_95"

    def test_it_is_one_query(self, finished, django_assert_num_queries):
        finished.store  # noqa: B018 - loaded before counting
        with django_assert_num_queries(2):  # the store's settings, then the grouped count
            selectors.campaign_results(campaign=finished)

    def test_a_campaign_not_sent_has_no_results(self, cast, clock_at):
        results = selectors.campaign_results(campaign=draft(cast.store_a, cast.mia))
        assert results.uplift is None and results.treatment.members == 0

    def test_the_chart_carries_the_rates_and_the_interval(self, finished):
        results = selectors.campaign_results(campaign=finished)
        labels = {k: k for k in ("treatment", "control", "uplift", "return_rate", "interval")}
        option = selectors.uplift_chart(results, labels=labels)
        assert option["series"][0]["data"] == [40.0, 20.0]
        low, high = (round(100 * v, 1) for v in (results.uplift.lower, results.uplift.upper))
        assert option["series"][1]["data"] == [[low, "uplift"], [high, "uplift"]]
        assert option["series"][2]["data"] == [[20.0, "uplift"]]


class LinkTests:
    def test_the_link_counts_the_first_opening_and_leads_to_the_booking_page(self, client, finished, clock_at):
        clock_at(2026, 3, 3, 9)
        member = CampaignMember.objects.get(link_token="tok5")
        response = client.get(f"/c/{member.link_token}")
        assert response.status_code == 302 and response["Location"] == "/book/SH01/"
        member.refresh_from_db()
        assert member.opened_at == shanghai(2026, 3, 3, 9)
        clock_at(2026, 3, 4, 9)
        client.get(f"/c/{member.link_token}")
        member.refresh_from_db()
        assert member.opened_at == shanghai(2026, 3, 3, 9)

    @pytest.mark.parametrize("token", ["nope", "tok5x", "a" * 40, "%00"])
    def test_an_unknown_token_is_the_friendly_404_page(self, client, finished, token):
        response = client.get(f"/c/{token}")
        assert response.status_code == 404
        assert "customer" in response.templates[0].name
        assert not CampaignMember.objects.filter(opened_at__isnull=False, link_token="tok5").exists()

    def test_the_url_in_the_message_is_the_personal_link(self, finished):
        assert services.campaign_link_url("abc").endswith("/c/abc")
