"""The webhooks pages: an administrator lists the subscriptions and reads one's delivery log; roles without
manage_webhooks are refused; the pages read in Chinese too."""

from __future__ import annotations

import pytest

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.webhooks import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(cast, subscriber):
    sub, _secret = services.subscription_create(
        by=cast.grace,
        group=cast.group,
        store=None,
        name="呼叫中心",
        url=subscriber.url,
        event_types=["complaint.opened", "survey.answered"],
    )
    return sub


class PageTests:
    def test_the_list_and_the_delivery_log(self, client, cast, subscription, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            delivery = services.subscription_test(subscription=subscription, by=cast.grace)
        client.force_login(cast.grace)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        listing = client.get("/webhooks/")
        assert listing.status_code == 200
        text = listing.content.decode()
        assert "呼叫中心" in text and subscription.endpoint.url in text and "Complaint opened" in text
        detail = client.get(f"/webhooks/{subscription.pk}/")
        assert detail.status_code == 200
        text = detail.content.decode()
        assert str(delivery.event.event_id) in text and "HTTP 200" in text and "Sent" in text
        assert subscription.endpoint.secret not in text

    def test_without_subscriptions_the_page_says_how_to_subscribe(self, client, cast):
        client.force_login(cast.grace)
        english = client.get("/webhooks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "No webhook subscription yet." in english and "POST /api/v1/webhooks" in english
        chinese = client.get("/webhooks/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "集成方用其令牌订阅" in chinese

    def test_chinese(self, client, cast, subscription):
        client.force_login(cast.grace)
        text = client.get("/webhooks/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "Webhook 推送" in text and "投诉已登记" in text and "推送记录" not in text

    def test_roles_without_the_capability_are_refused(self, client, cast, subscription):
        for user in (cast.alice, cast.mia, make_user("ted", Role.TECHNICIAN, store=cast.store_a)):
            client.force_login(user)
            assert client.get("/webhooks/").status_code == 403
            assert client.get(f"/webhooks/{subscription.pk}/").status_code == 404
        client.force_login(cast.otto)  # the other group's manager
        assert client.get(f"/webhooks/{subscription.pk}/").status_code == 404
        assert "呼叫中心" not in client.get("/webhooks/").content.decode()


class AdminTests:
    def test_the_admin_shows_subscriptions_events_and_deliveries_without_the_secret(
        self, client, cast, subscription, django_capture_on_commit_callbacks
    ):
        from django.contrib.auth import get_user_model

        with django_capture_on_commit_callbacks(execute=True):
            delivery = services.subscription_test(subscription=subscription, by=cast.grace)
        admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
        client.force_login(admin)
        for url in (
            "/admin/webhooks/webhooksubscription/",
            f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/",
            "/admin/webhooks/webhookevent/",
            f"/admin/webhooks/webhookevent/{delivery.event.pk}/change/",
            "/admin/webhooks/webhookdelivery/",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            assert subscription.endpoint.secret not in response.content.decode()
