"""The managers' pages: what is pending or rejected with the reason, resend (audited, only rejected or failed),
the endpoint settings (secret never shown, bad input names the field and writes nothing), and who may see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales.core.models import AuditEntry
from aftersales.ehr import services
from aftersales.ehr.models import EhrAttempt, EhrEndpoint, EhrSubmission
from aftersales.ehr.tests.conftest import SECRET, endpoint_for, settled_order

pytestmark = pytest.mark.django_db

LIST = reverse("ehr:submissions")
ENDPOINT = reverse("ehr:endpoint")


@pytest.fixture
def rejected(cast, platform_server, platform):
    """Store A: one order rejected by the platform, one accepted."""
    endpoint_for(platform_server, cast.store_a)
    bad, good = settled_order(cast.store_a, by=cast.alice), settled_order(cast.store_a, by=cast.alice)
    platform.reject_vins[bad.vehicle.vin] = "里程小于上次维修里程"
    services.ehr_sweep()
    services.ehr_deliver_due()
    return EhrSubmission.objects.get(order=bad), EhrSubmission.objects.get(order=good)


class ListTests:
    def test_the_manager_sees_what_was_rejected_with_the_reason_and_not_what_was_accepted(self, client, cast, rejected):
        bad, good = rejected
        client.force_login(cast.mia)
        page = client.get(LIST).content.decode()
        assert f'id="ehr-{bad.pk}"' in page and "里程小于上次维修里程" in page
        assert f'id="ehr-{good.pk}"' not in page
        assert reverse("ehr:submission-resend", args=[bad.pk]) in page
        accepted = client.get(LIST, {"status": "accepted"}).content.decode()
        assert f'id="ehr-{good.pk}"' in accepted and "R100" in accepted

    def test_a_store_without_an_endpoint_shows_why_it_waits(self, client, cast):
        settled_order(cast.store_a, by=cast.alice)
        services.ehr_sweep()
        services.ehr_deliver_due()
        client.force_login(cast.mia)
        english = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "No e-health endpoint is configured for this store." in english
        chinese = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "本门店尚未配置电子健康档案接口。" in chinese and "电子健康档案上传" in chinese

    def test_advisors_and_technicians_are_refused(self, client, cast):
        for user in (cast.alice, cast.tom, cast.dan):
            client.force_login(user)
            assert client.get(LIST).status_code == 403
            assert client.get(ENDPOINT).status_code == 403

    def test_the_group_manager_sees_every_store_of_the_group(self, client, cast):
        settled_order(cast.store_b, by=cast.carol)
        services.ehr_sweep()
        client.force_login(cast.grace)
        assert cast.store_b.name in client.get(LIST).content.decode()
        client.force_login(cast.mia)
        assert cast.store_b.name not in client.get(LIST).content.decode()


class ResendTests:
    def test_a_rejected_record_is_rebuilt_from_the_corrected_order_and_goes_again(
        self, client, cast, rejected, platform
    ):
        bad, _good = rejected
        bad.order.__class__.objects.filter(pk=bad.order_id).update(mileage_in=30000)
        platform.reject_vins.clear()
        client.force_login(cast.mia)
        response = client.post(reverse("ehr:submission-resend", args=[bad.pk]))
        assert response.status_code == 302
        bad.refresh_from_db()
        assert (bad.status, bad.attempts, bad.record["mileage_km"]) == ("pending", 0, 30000)
        entry = AuditEntry.objects.get(action="ehr_submission.resend")
        assert entry.actor == cast.mia and entry.changes["status"] == ["rejected", "pending"]
        assert EhrAttempt.objects.filter(submission=bad, by=cast.mia).exists()
        assert services.ehr_deliver_due() == 1
        bad.refresh_from_db()
        assert bad.status == "accepted"
        assert platform.record_calls[-1][2]["repairmileage"] == "30000"

    def test_an_accepted_record_cannot_be_resent(self, client, cast, rejected):
        _bad, good = rejected
        client.force_login(cast.mia)
        client.post(reverse("ehr:submission-resend", args=[good.pk]))
        good.refresh_from_db()
        assert good.status == "accepted"
        assert not AuditEntry.objects.filter(action="ehr_submission.resend").exists()

    def test_an_advisor_may_not_resend(self, client, cast, rejected):
        bad, _good = rejected
        client.force_login(cast.alice)
        assert client.post(reverse("ehr:submission-resend", args=[bad.pk])).status_code == 404
        bad.refresh_from_db()
        assert bad.status == "rejected"


def endpoint_form(**changes):
    data = {
        "scope": "store",
        "kind": "token_record",
        "token_url": "https://ehr.example.gov.cn/oauth/token",
        "record_url": "https://ehr.example.gov.cn/api/record",
        "company_code": "310115001",
        "client_id": "acct-1",
        "secret": "top-secret-value",
        "enabled": "on",
    }
    data.update(changes)
    return data


class EndpointTests:
    def test_the_manager_sets_the_stores_endpoint_and_the_secret_is_never_shown(self, client, cast):
        client.force_login(cast.mia)
        assert client.post(ENDPOINT, endpoint_form()).status_code == 302
        endpoint = EhrEndpoint.objects.get(store=cast.store_a)
        assert endpoint.secret == "top-secret-value" and "top-secret" not in endpoint.secret_encrypted
        page = client.get(ENDPOINT).content.decode()
        assert "310115001" in page and "top-secret-value" not in page
        entry = AuditEntry.objects.get(action="ehr_endpoint.save")
        assert "top-secret-value" not in str(entry.changes)
        # an empty secret keeps the stored one
        assert client.post(ENDPOINT, endpoint_form(secret="", company_code="310115002")).status_code == 302
        endpoint.refresh_from_db()
        assert (endpoint.company_code, endpoint.secret) == ("310115002", "top-secret-value")

    def test_bad_input_names_the_field_and_writes_nothing(self, client, cast):
        client.force_login(cast.mia)
        for field, value in (("token_url", "ftp://x.example/t"), ("company_code", "   "), ("secret", "")):
            response = client.post(ENDPOINT, endpoint_form(**{field: value}))
            assert response.status_code == 400, field
            assert field in response.context["form"].errors, field
        response = client.post(ENDPOINT, endpoint_form(client_id="acct\x00"))
        assert response.status_code == 400 and "client_id" in response.context["form"].errors
        assert not EhrEndpoint.objects.exists()
        assert not AuditEntry.objects.filter(action="ehr_endpoint.save").exists()

    def test_only_a_member_with_group_settings_sets_the_groups_endpoint(self, client, cast):
        client.force_login(cast.mia)
        assert client.post(ENDPOINT, endpoint_form(scope="group")).status_code == 403
        client.force_login(cast.grace)
        assert client.post(ENDPOINT, endpoint_form(scope="group")).status_code == 302
        assert EhrEndpoint.objects.get().store is None

    def test_changing_the_account_forgets_the_cached_token(self, client, cast, platform_server):
        endpoint = endpoint_for(platform_server, cast.store_a)
        EhrEndpoint.objects.filter(pk=endpoint.pk).update(token_encrypted="x", token_expires_at="2099-01-01T00:00Z")
        client.force_login(cast.mia)
        form = endpoint_form(
            token_url=endpoint.token_url, record_url=endpoint.record_url, client_id="acct-2", secret=SECRET
        )
        assert client.post(ENDPOINT, form).status_code == 302
        endpoint.refresh_from_db()
        assert endpoint.token_encrypted == "" and endpoint.token_expires_at is None
