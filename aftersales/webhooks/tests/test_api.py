"""/api/v1/webhooks: integrators with manage_webhooks subscribe, change, delete, test and read the delivery log;
errors are problems with a code and the bad fields; another store's subscription is 404 like a missing one."""

from __future__ import annotations

import json

import pytest

from aftersales.config.testing import make_user
from aftersales.core.models import AuditEntry
from aftersales.messaging.models import WebhookEndpoint
from aftersales.organisation.choices import Role
from aftersales.webhooks.models import WebhookSubscription
from aftersales.webhooks.tests.helpers import verify

pytestmark = pytest.mark.django_db
API = "/api/v1/webhooks"


@pytest.fixture
def api(client, api_token):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def call(method, path, user, body=None):
        kwargs = api_token(user)
        if body is not None:
            kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
        return getattr(client, method)(f"{API}{path}", **kwargs)

    return call


def body(url, **extra):
    return {"name": "CRM", "url": url, "event_types": ["order.status_changed", "complaint.opened"], **extra}


class SubscriptionApiTests:
    def test_a_group_manager_subscribes_the_group_and_reads_it_back_without_the_secret(self, api, cast):
        created = api("post", "", cast.grace, body("https://crm.example.com/hooks"))
        assert created.status_code == 201, created.content
        data = created.json()
        assert data["scope"] == "group" and data["group"] == cast.group.code and data["store"] is None
        assert data["secret"].startswith("whsec_") and len(data["secret"]) > 30
        assert data["event_types"] == ["order.status_changed", "complaint.opened"]
        subscription = WebhookSubscription.objects.get(pk=data["id"])
        assert data["secret"] not in subscription.endpoint.secret_encrypted  # stored encrypted
        assert subscription.endpoint.secret == data["secret"]

        listed = api("get", "", cast.grace)
        assert listed.status_code == 200
        assert [row["id"] for row in listed.json()["items"]] == [data["id"]]
        detail = api("get", f"/{data['id']}", cast.grace)
        assert detail.status_code == 200 and "secret" not in detail.json()
        entry = AuditEntry.objects.get(action="webhook_subscription.create")
        assert data["secret"] not in json.dumps(entry.changes)

    def test_a_store_subscription_by_an_administrator_of_the_store(self, api, cast):
        admin = make_user("ada", Role.ADMIN, store=cast.store_a)
        created = api("post", "", admin, body("http://127.0.0.1:9/hooks", store=cast.store_a.code, secret="x" * 20))
        assert created.status_code == 201, created.content
        assert (created.json()["scope"], created.json()["store"], created.json()["secret"]) == (
            "store",
            "SH01",
            "x" * 20,
        )
        # the group's subscriptions need the capability in every store of the group
        group_wide = api("post", "", admin, body("http://127.0.0.1:9/hooks"))
        assert group_wide.status_code == 422 and list(group_wide.json()["errors"]) == ["group"]

    def test_roles_without_manage_webhooks_are_refused(self, api, cast):
        for user in (cast.alice, cast.mia):
            response = api("post", "", user, body("https://crm.example.com/hooks", store=cast.store_a.code))
            assert response.status_code == 403 and response.json()["code"] == "forbidden"
            assert api("get", "", user).status_code == 403
        assert not WebhookSubscription.objects.exists()

    def test_bad_fields_are_named(self, api, cast):
        bad_url = api("post", "", cast.grace, body("ftp://crm.example.com/hooks", secret="short"))
        assert bad_url.status_code == 422 and bad_url.json()["code"] == "validation_error"
        assert sorted(bad_url.json()["errors"]) == ["secret", "url"]
        unknown = api("post", "", cast.grace, {**body("https://crm.example.com"), "event_types": ["order.eaten"]})
        assert unknown.status_code == 422 and "event_types" in str(unknown.json()["errors"])
        empty = api("post", "", cast.grace, {**body("https://crm.example.com"), "event_types": []})
        assert empty.status_code == 422 and list(empty.json()["errors"]) == ["event_types"]
        assert not WebhookSubscription.objects.exists()

    def test_change_pause_and_delete(self, api, cast):
        created = api("post", "", cast.grace, body("https://crm.example.com/hooks")).json()
        changed = api(
            "patch",
            f"/{created['id']}",
            cast.grace,
            {"name": "CRM 2", "is_active": False, "event_types": ["survey.answered"], "secret": "n" * 24},
        )
        assert changed.status_code == 200, changed.content
        assert (changed.json()["name"], changed.json()["is_active"], changed.json()["event_types"]) == (
            "CRM 2",
            False,
            ["survey.answered"],
        )
        assert WebhookSubscription.objects.get(pk=created["id"]).endpoint.secret == "n" * 24
        entry = AuditEntry.objects.get(action="webhook_subscription.update")
        assert "n" * 24 not in json.dumps(entry.changes) and "secret" in entry.changes

        deleted = api("delete", f"/{created['id']}", cast.grace)
        assert deleted.status_code == 204
        assert api("get", f"/{created['id']}", cast.grace).status_code == 404
        assert not WebhookEndpoint.objects.exists()
        assert AuditEntry.objects.filter(action="webhook_subscription.delete").count() == 1

    def test_another_stores_or_groups_subscription_is_not_found(self, api, cast):
        admin_b = make_user("bea", Role.ADMIN, store=cast.store_b)
        theirs = api("post", "", admin_b, body("https://b.example.com", store=cast.store_b.code)).json()
        other_group = api("post", "", cast.otto, body("https://g2.example.com")).json()
        admin_a = make_user("ada", Role.ADMIN, store=cast.store_a)
        for pk in (theirs["id"], other_group["id"], 999999):
            for method, path, payload in (
                ("get", f"/{pk}", None),
                ("patch", f"/{pk}", {"name": "x"}),
                ("get", f"/{pk}/deliveries", None),
                ("post", f"/{pk}/test", None),
                ("delete", f"/{pk}", None),
            ):
                response = api(method, path, admin_a, payload)
                assert response.status_code == 404 and response.json()["code"] == "not_found", (method, path)
        assert api("get", "", admin_a).json()["items"] == []
        assert WebhookSubscription.objects.count() == 2


class TestEventTests:
    def test_the_test_event_is_signed_delivered_and_logged(
        self, api, cast, subscriber, django_capture_on_commit_callbacks
    ):
        created = api("post", "", cast.grace, body(subscriber.url, secret="t" * 20)).json()
        with django_capture_on_commit_callbacks(execute=True):
            answer = api("post", f"/{created['id']}/test", cast.grace)
        assert answer.status_code == 202, answer.content
        assert answer.json()["event_type"] == "ping"
        [post] = subscriber.received
        assert verify(secret="t" * 20, headers=post.headers, body=post.body)
        assert post.json["type"] == "ping" and post.json["data"] == {"subscription_id": created["id"]}
        assert post.json["id"] == answer.json()["event_id"] == post.headers["X-Aftersales-Event-Id"]

        log = api("get", f"/{created['id']}/deliveries", cast.grace)
        assert log.status_code == 200
        [row] = log.json()["items"]
        assert (row["event_id"], row["status"], row["attempts"], row["last_status_code"], row["last_error"]) == (
            post.json["id"],
            "sent",
            1,
            200,
            "",
        )
