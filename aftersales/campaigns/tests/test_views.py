"""The pages: who sees what, the form with its preview, the moves, and the detail with the results."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales.campaigns.choices import CampaignStatus
from aftersales.campaigns.models import Campaign
from aftersales.core.models import AuditEntry

from .conftest import customer, draft

pytestmark = pytest.mark.django_db

FORM = {
    "name": "春季关爱",
    "purpose": "marketing",
    "tiers": ["A", "B"],
    "nev": "",
    "text_zh": "春季关爱 {link}",
    "text_en": "Spring care {link}",
    "scheduled_at": "2026-03-05T10:00",
}


def body(response) -> str:
    return response.content.decode()


class ListTests:
    def test_the_manager_sees_the_list_and_the_new_button_an_advisor_only_the_list(self, client, cast, clock_at):
        draft(cast.store_a, cast.mia, name="店A活动")
        draft(cast.store_b, cast.grace if False else make_manager_b(cast), name="店B活动")
        client.force_login(cast.mia)
        response = client.get(reverse("campaigns:campaign-list"))
        assert response.status_code == 200
        assert "店A活动" in body(response) and "店B活动" not in body(response)
        assert 'id="campaign-new"' in body(response)
        client.force_login(cast.alice)
        response = client.get(reverse("campaigns:campaign-list"))
        assert response.status_code == 200 and 'id="campaign-new"' not in body(response)

    def test_a_technician_may_not(self, client, cast):
        client.force_login(cast.tom)
        assert client.get(reverse("campaigns:campaign-list")).status_code == 403

    def test_the_menu_has_the_entry(self, client, cast):
        client.force_login(cast.mia)
        assert reverse("campaigns:campaign-list") in body(client.get(reverse("home")))


def make_manager_b(cast):
    from aftersales.config.testing import make_user
    from aftersales.organisation.choices import Role

    return make_user("mark", Role.MANAGER, store=cast.store_b)


class FormTests:
    def test_the_form_offers_marketing_only_and_refuses_a_service_notice_on_the_field(self, client, cast, clock_at):
        client.force_login(cast.mia)
        page = body(client.get(reverse("campaigns:campaign-create")))
        assert 'value="marketing"' in page and 'value="service"' not in page
        response = client.post(
            reverse("campaigns:campaign-create"),
            {**FORM, "purpose": "service", "store": cast.store_a.pk},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200 and not Campaign.objects.exists()
        assert response.context["form"].errors["purpose"] == [
            "Campaigns are for marketing only. Send service notices (recalls, safety checks) through the reminders."
        ]

    def test_the_manager_creates_a_draft(self, client, cast, clock_at):
        client.force_login(cast.mia)
        assert client.get(reverse("campaigns:campaign-create")).status_code == 200
        response = client.post(reverse("campaigns:campaign-create"), {**FORM, "store": cast.store_a.pk})
        campaign = Campaign.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse(
            "campaigns:campaign-detail", args=[campaign.pk]
        )
        assert (campaign.status, campaign.store, campaign.created_by) == (CampaignStatus.DRAFT, cast.store_a, cast.mia)
        assert campaign.audience["tiers"] == ["A", "B"]
        assert AuditEntry.objects.filter(action="campaign.create").exists()

    def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(self, client, cast, clock_at):
        client.force_login(cast.mia)
        bad = {
            **FORM,
            "store": cast.store_a.pk,
            "text_zh": "没有链接",
            "mileage_min": "9000",
            "mileage_max": "10",
            "scheduled_at": "2026-03-01T10:00",
        }
        response = client.post(reverse("campaigns:campaign-create"), bad)
        assert response.status_code == 200
        html = body(response)
        for field in ("text_zh", "mileage_max", "scheduled_at"):
            assert f'data-error-for="{field}"' in html
        assert not Campaign.objects.exists()

    def test_another_stores_id_in_the_form_is_refused(self, client, cast, clock_at):
        client.force_login(cast.mia)
        response = client.post(reverse("campaigns:campaign-create"), {**FORM, "store": cast.store_b.pk})
        assert response.status_code == 200 and 'data-error-for="store"' in body(response)
        assert not Campaign.objects.exists()

    def test_the_preview_counts_the_audience(self, client, cast, clock_at):
        for i in range(12):
            customer(cast.store_a, name=f"客{i}", tier="A" if i < 8 else "C", consent=i != 0)
        customer(cast.store_b, name="外店", tier="A")
        client.force_login(cast.mia)
        response = client.post(
            reverse("campaigns:campaign-preview"), {**FORM, "store": cast.store_a.pk}, HTTP_HX_REQUEST="true"
        )
        html = body(response)
        assert response.status_code == 200
        assert 'data-preview="total">8<' in html
        assert "客0" not in html and "客*" in html  # masked
        response = client.post(
            reverse("campaigns:campaign-preview"), {**FORM, "store": cast.store_a.pk, "mileage_min": "x"}
        )
        assert 'data-error-for="mileage_min"' in body(response) or "mileage" in body(response)

    def test_the_advisor_cannot_open_the_form_or_preview(self, client, cast):
        client.force_login(cast.alice)
        assert client.get(reverse("campaigns:campaign-create")).status_code == 403
        assert client.post(reverse("campaigns:campaign-preview"), FORM).status_code == 403

    def test_a_draft_is_edited_and_a_scheduled_one_is_not(self, client, cast, clock_at):
        campaign = draft(cast.store_a, cast.mia)
        client.force_login(cast.mia)
        url = reverse("campaigns:campaign-edit", args=[campaign.pk])
        assert client.get(url).status_code == 200
        client.post(url, {**FORM, "store": cast.store_a.pk, "name": "改名"})
        campaign.refresh_from_db()
        assert campaign.name == "改名" and campaign.scheduled_at is not None
        client.post(reverse("campaigns:campaign-move", args=[campaign.pk, "schedule"]))
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SCHEDULED
        assert client.get(url).status_code == 302


class DetailAndMoveTests:
    def test_the_detail_offers_the_managers_moves_and_none_to_an_advisor(self, client, cast, clock_at):
        campaign = draft(cast.store_a, cast.mia, scheduled_at=None)
        client.force_login(cast.mia)
        html = body(client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])))
        assert 'data-move="schedule"' in html and 'data-move="cancel"' in html
        client.force_login(cast.alice)
        response = client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]))
        assert response.status_code == 200 and "data-move" not in body(response)
        client.post(reverse("campaigns:campaign-move", args=[campaign.pk, "cancel"]), {"reason": "x"})
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.DRAFT

    def test_scheduling_without_a_time_says_so_and_cancelling_needs_a_reason(self, client, cast, clock_at):
        campaign = draft(cast.store_a, cast.mia, scheduled_at=None)
        client.force_login(cast.mia)
        response = client.post(reverse("campaigns:campaign-move", args=[campaign.pk, "schedule"]), follow=True)
        assert "Choose when to send." in body(response) or "请选择发送时间。" in body(response)
        client.post(reverse("campaigns:campaign-move", args=[campaign.pk, "cancel"]), {"reason": ""})
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.DRAFT
        client.post(reverse("campaigns:campaign-move", args=[campaign.pk, "cancel"]), {"reason": "不做了"})
        campaign.refresh_from_db()
        assert (campaign.status, campaign.cancel_reason) == (CampaignStatus.CANCELLED, "不做了")

    def test_another_stores_campaign_is_not_found(self, client, cast, clock_at):
        campaign = draft(cast.store_b, make_manager_b(cast))
        for person in (cast.mia, cast.alice, cast.otto):
            client.force_login(person)
            assert client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).status_code == 404
            assert (
                client.post(
                    reverse("campaigns:campaign-move", args=[campaign.pk, "cancel"]), {"reason": "x"}
                ).status_code
                == 404
            )

    def test_both_languages(self, client, cast, clock_at):
        campaign = draft(cast.store_a, cast.mia)
        client.force_login(cast.mia)
        client.post(reverse("set_language"), {"language": "zh-hans"})
        html = body(
            client.get(reverse("campaigns:campaign-detail", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        )
        assert "草稿" in html or "Draft" in html
