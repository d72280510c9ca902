"""The campaign lifecycle walked pair by pair: every (from, to) the table allows works for the manager, every
other pair is refused; an advisor may make no move; only the system starts and finishes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from aftersales.campaigns import services
from aftersales.campaigns.choices import CampaignStatus as S
from aftersales.campaigns.models import Campaign
from aftersales.campaigns.transitions import CAMPAIGN, CAMPAIGN_FLOW, campaign_moves_for
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.rules import Party

from .conftest import draft, shanghai

pytestmark = pytest.mark.django_db
STAFF_TARGETS = {S.DRAFT, S.SCHEDULED, S.CANCELLED}


def at(campaign: Campaign, status: str) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    return campaign


@pytest.mark.parametrize("source", S.values)
@pytest.mark.parametrize("target", S.values)
def test_every_pair_for_the_manager(cast, clock_at, source, target):
    campaign = at(draft(cast.store_a, cast.mia, scheduled_at=shanghai(2026, 3, 9, 10)), source)
    allowed = target in CAMPAIGN_FLOW[source] and target in STAFF_TARGETS
    if allowed:
        services.campaign_transition(campaign=campaign, to=target, by=cast.mia, reason="理由")
        campaign.refresh_from_db()
        assert campaign.status == target
    else:
        with pytest.raises((ApplicationError, PermissionDenied)):
            services.campaign_transition(campaign=campaign, to=target, by=cast.mia, reason="理由")
        campaign.refresh_from_db()
        assert campaign.status == source


def test_an_advisor_is_offered_nothing_and_refused(cast, clock_at):
    campaign = draft(cast.store_a, cast.mia, scheduled_at=shanghai(2026, 3, 9, 10))
    assert campaign_moves_for(campaign=campaign, user=cast.alice) == []
    with pytest.raises(PermissionDenied):
        services.campaign_transition(campaign=campaign, to=S.SCHEDULED, by=cast.alice)
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            store=cast.store_a, data=services.CampaignInput("x", "marketing", {}, "{link}", "{link}"), by=cast.alice
        )


def test_only_the_system_starts_and_finishes(cast):
    assert CAMPAIGN.get("start").parties == {Party.SYSTEM} and not CAMPAIGN.get("start").capabilities
    assert CAMPAIGN.get("finish").parties == {Party.SYSTEM} and not CAMPAIGN.get("finish").capabilities
    assert [m.name for m in CAMPAIGN.offered(actor=cast.mia, state=S.SENDING, store_id=cast.store_a.pk)] == ["cancel"]
