"""The store manager sets the store's WeCom robot on the store settings page; the URL is a secret."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from aftersales.core.models import AuditEntry
from aftersales.organisation import services
from aftersales.organisation.models import Store

pytestmark = pytest.mark.django_db

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def settings_page(client, store):
    return client.get(f"{reverse('organisation:settings')}?scope=store-{store.pk}", HTTP_ACCEPT_LANGUAGE="en")


class StoreRobotPageTests:
    def test_the_manager_saves_it_and_sees_it_masked(self, client, cast):
        client.force_login(cast.mia)
        assert 'id="wecom-none"' in settings_page(client, cast.store_a).content.decode()
        response = client.post(reverse("organisation:store-wecom", args=[cast.store_a.pk]), {"wecom_webhook_url": URL})
        assert response.status_code == 302
        assert Store.objects.get(pk=cast.store_a.pk).wecom_webhook_url == URL
        html = settings_page(client, cast.store_a).content.decode()
        assert '<code id="wecom-masked">https://qyapi.weixin.qq.com/…5aaa</code>' in html
        assert "693a91f6" not in html  # the key is never shown again
        entry = AuditEntry.objects.get(action="store.wecom_robot")
        assert entry.changes == {"wecom_webhook_url": "set"} and "693a91f6" not in str(entry.changes)

    def test_a_bad_address_names_the_field_and_changes_nothing(self, client, cast):
        client.force_login(cast.mia)
        for bad in ("ftp://robot.example/x", "not a url", "javascript:alert(1)"):
            response = client.post(
                reverse("organisation:store-wecom", args=[cast.store_a.pk]),
                {"wecom_webhook_url": bad},
                HTTP_ACCEPT_LANGUAGE="en",
                follow=True,
            )
            assert "WeCom group robot webhook: Enter the robot&#x27;s webhook address" in response.content.decode()
        assert Store.objects.get(pk=cast.store_a.pk).wecom_webhook_url == ""

    def test_it_can_be_removed(self, client, cast):
        Store.objects.filter(pk=cast.store_a.pk).update(wecom_webhook_url=URL)
        client.force_login(cast.mia)
        client.post(reverse("organisation:store-wecom", args=[cast.store_a.pk]), {"remove": "on"})
        assert Store.objects.get(pk=cast.store_a.pk).wecom_webhook_url == ""

    def test_an_advisor_may_not_and_another_store_is_not_found(self, client, cast):
        client.force_login(cast.alice)
        url = reverse("organisation:store-wecom", args=[cast.store_a.pk])
        assert client.post(url, {"wecom_webhook_url": URL}).status_code == 403
        client.force_login(cast.mia)
        other = reverse("organisation:store-wecom", args=[cast.store_b.pk])
        assert client.post(other, {"wecom_webhook_url": URL}).status_code == 404
        assert set(Store.objects.values_list("wecom_webhook_url", flat=True)) == {""}


class StoreRobotServiceTests:
    def test_the_service_asks_who_may(self, cast):
        with pytest.raises(PermissionDenied):
            services.store_wecom_robot_set(store=cast.store_a, url=URL, by=cast.alice)
        services.store_wecom_robot_set(store=cast.store_a, url=f"  {URL}  ", by=cast.grace)  # the group's stores
        assert Store.objects.get(pk=cast.store_a.pk).wecom_webhook_url == URL

    def test_control_characters_and_overlong_addresses_are_refused(self, cast):
        for bad in (URL + "\x00", "https://robot.example/" + "a" * 500):
            with pytest.raises(ValidationError) as caught:
                services.store_wecom_robot_set(store=cast.store_a, url=bad, by=cast.mia)
            assert list(caught.value.message_dict) == ["wecom_webhook_url"]
