"""The seed's demo campaigns: a finished one whose results show an uplift over the control group, and a draft."""

from __future__ import annotations

import copy
import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from aftersales.campaigns import demo
from aftersales.campaigns.choices import Arm, CampaignStatus
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.campaigns.selectors import campaign_results
from aftersales.config.testing import shared_rows
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.templates import MARKETING_FOOTER
from aftersales.service.choices import LineDecision, RepairOrderStatus
from aftersales.service.models import EstimateLine, RepairOrder

from .conftest import shanghai

pytestmark = pytest.mark.django_db
ARGS = ["--stores", "1", "--customers", "900", "--months", "12", "--seed", "5", "--today", "2026-06-30"]


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """The seeded demo, written once for the module's tests (each test's changes are rolled back); yields the
    campaign's plan (the visits it handed to the service history)."""
    plans: list[demo.CampaignPlan] = []

    def plan(**kwargs):
        plans.append(demo.seed_campaigns_plan(**kwargs))
        return plans[-1]

    with shared_rows(django_db_blocker), pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr("aftersales.config.management.commands.seed.seed_campaigns_plan", plan)
        with django_db_blocker.unblock(), time_machine.travel(shanghai(2026, 6, 30, 11), tick=False):
            call_command("seed", *ARGS, "--no-progress", stdout=StringIO(), stderr=StringIO())
        yield plans[0]


@pytest.fixture
def seeded(seeded_once, db):
    return copy.deepcopy(seeded_once)


def test_the_finished_campaign_shows_an_uplift_over_its_control_group(seeded):
    campaign = Campaign.objects.get(status=CampaignStatus.FINISHED)
    assert campaign.started_at == shanghai(2026, 3, 22, 10)  # 100 days before --today: the window is complete
    results = campaign_results(campaign=campaign)
    assert results.control.members > 15 and results.treatment.members > results.control.members
    assert results.control.delivered == 0 and results.treatment.delivered > 0
    assert results.uplift is not None and results.uplift.estimate > 0.05 and results.uplift.lower > 0
    assert results.treatment.revenue > 0 and results.treatment.opened > 0
    # Every message went through the outbox with the campaign's key and the opt-out; control members got none.
    messages = OutboxMessage.objects.filter(dedupe_key__startswith=f"campaign:{campaign.pk}:")
    assert messages.exists() and all(m.body.endswith(MARKETING_FOOTER["zh-hans"]) for m in messages)
    assert not CampaignMember.objects.filter(campaign=campaign, arm=Arm.CONTROL, message__isnull=False).exists()


def test_a_draft_waits_for_next_month(seeded):
    draft = Campaign.objects.get(status=CampaignStatus.DRAFT)
    assert draft.audience["nev"] == "nev"
    assert draft.scheduled_at is not None and draft.scheduled_at - shanghai(2026, 6, 30, 10) == dt.timedelta(days=30)


def test_the_visits_it_brought_are_complete_visits_of_the_treatment_arm(seeded):
    """The campaign's visits are built by the service history itself: a booking or walk-in, every move from
    reception to delivery, the approved lines making the bill, the inspection's reading, and a follow-up."""
    campaign = Campaign.objects.get(status=CampaignStatus.FINISHED)
    assert seeded.campaign_id == campaign.pk and len(seeded.visits) > 30
    members = CampaignMember.objects.filter(campaign=campaign, arm=Arm.TREATMENT)
    treated = set(members.values_list("customer", flat=True))
    brought = [
        order
        for order in RepairOrder.objects.filter(vehicle_id__in=list(seeded.visits), arrived_at__gte=campaign.started_at)
        if timezone.localtime(order.arrived_at).date() == seeded.visits[order.vehicle_id]
    ]
    assert len(brought) > len(seeded.visits) / 2
    for order in brought:
        assert order.customer_id in treated and order.service_type == "maintenance"
        if order.status != RepairOrderStatus.DELIVERED:
            continue
        path = list(order.events.order_by("at", "id").values_list("from_status", "to_status"))
        assert path[0] == ("", RepairOrderStatus.RECEPTION) and path[-1][1] == RepairOrderStatus.DELIVERED
        approved = EstimateLine.objects.filter(estimate__order=order, decision=LineDecision.APPROVED)
        assert order.billed_total == sum(line.amount for line in approved) > 0
        assert order.mileage_in and order.inspection_done_at
        assert order.follow_up is not None
    # No bare rows beside the history: every order of the store has its events and, once delivered, its lines.
    assert not RepairOrder.objects.filter(events__isnull=True).exists()
    assert not RepairOrder.objects.filter(status=RepairOrderStatus.DELIVERED, estimates__isnull=True).exists()


def test_an_invited_vehicle_keeps_its_odometer_growing_and_its_visits_apart(seeded):
    for vehicle_id in seeded.visits:
        orders = list(RepairOrder.objects.filter(vehicle_id=vehicle_id).order_by("arrived_at"))
        readings = [o.mileage_in for o in orders if o.mileage_in is not None]
        assert readings == sorted(readings)
        for before, after in zip(orders, orders[1:], strict=False):
            closed = before.delivered_at or before.events.order_by("-at").first().at
            assert after.arrived_at > closed
