"""The seed's demo campaigns: a finished one whose results show an uplift over the control group, and a draft."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from aftersales.campaigns.choices import Arm, CampaignStatus
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.campaigns.selectors import campaign_results
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.templates import MARKETING_FOOTER

from .conftest import shanghai

pytestmark = pytest.mark.django_db
ARGS = ["--stores", "1", "--customers", "900", "--months", "12", "--seed", "5", "--today", "2026-06-30"]


@pytest.fixture
def seeded():
    with time_machine.travel(shanghai(2026, 6, 30, 11), tick=False):
        call_command("seed", *ARGS, "--no-progress", stdout=StringIO(), stderr=StringIO())


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
