"""GET /api/v1/campaigns and /api/v1/campaigns/{id} with the results per arm."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.campaigns.choices import Arm
from aftersales.campaigns.models import CampaignMember
from aftersales.campaigns.stats import newcombe_difference

from .conftest import customer, draft, shanghai, visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(cast, clock_at):
    campaign = draft(cast.store_a, cast.mia, name="回厂关爱")
    start = shanghai(2026, 3, 2, 11)
    type(campaign).objects.filter(pk=campaign.pk).update(status="finished", started_at=start)
    for i in range(6):
        person = customer(cast.store_a, name=f"T{i}")
        CampaignMember.objects.create(campaign=campaign, customer=person, arm=Arm.TREATMENT, handled_at=start)
        if i < 3:
            visit(person, arrived=start + dt.timedelta(days=3), billed="100.00")
    for i in range(4):
        person = customer(cast.store_a, name=f"C{i}")
        CampaignMember.objects.create(campaign=campaign, customer=person, arm=Arm.CONTROL, handled_at=start)
    return campaign


class ApiTests:
    def test_the_list_and_the_detail_with_results(self, client, cast, api_token, sent):
        answer = client.get("/api/v1/campaigns", **api_token(cast.mia))
        assert answer.status_code == 200
        row = answer.json()["items"][0]
        assert (row["id"], row["store"], row["status"], row["members"]) == (sent.pk, "SH01", "finished", 10)
        detail = client.get(f"/api/v1/campaigns/{sent.pk}", **api_token(cast.alice)).json()
        results = detail["results"]
        assert results["treatment"]["members"] == 6 and results["treatment"]["returned"] == 3
        assert results["treatment"]["revenue"] == "300.00"
        assert results["control"]["members"] == 4 and results["control"]["returned"] == 0
        expected = newcombe_difference(3, 6, 0, 4)
        assert results["uplift"]["estimate"] == pytest.approx(0.5)
        assert results["uplift"]["lower"] == pytest.approx(expected.lower)
        assert results["uplift"]["upper"] == pytest.approx(expected.upper)
        assert results["uplift"]["method"] == "newcombe_hybrid_score_95"
        assert results["window_days"] == 90

    def test_another_stores_campaign_is_404_and_a_technician_sees_none(self, client, cast, api_token, sent):
        assert client.get(f"/api/v1/campaigns/{sent.pk}", **api_token(cast.carol)).status_code == 404
        assert client.get(f"/api/v1/campaigns/{sent.pk}", **api_token(cast.tom)).status_code == 404
        assert client.get("/api/v1/campaigns", **api_token(cast.carol)).json()["items"] == []

    def test_bad_input_names_the_field(self, client, cast, api_token, sent):
        answer = client.get("/api/v1/campaigns?status=sent", **api_token(cast.mia))
        assert answer.status_code == 422 and "status" in answer.content.decode()
        answer = client.get("/api/v1/campaigns?store=NOPE", **api_token(cast.mia))
        assert answer.status_code == 422 and "store" in answer.content.decode()
        assert client.get("/api/v1/campaigns/abc", **api_token(cast.mia)).status_code == 422
