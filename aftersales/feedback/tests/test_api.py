"""The public contract: POST /complaints and /suggestions (201 with due times, 422 naming the field), and
the other feedback endpoints' permissions and isolation."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aftersales.config.testing import make_customer
from aftersales.feedback.tests.conftest import GOOD, deliver, grant_survey_consent

from .conftest import frozen

pytestmark = pytest.mark.django_db


def post(client, url, body, headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def complaint_body(shop, **overrides):
    body = {
        "store": "SH01",
        "customer": shop.customer.pk,
        "channel": "online_review",
        "category": "attitude",
        "priority": "urgent",
        "description": "前台态度差",
        "received_at": "2026-03-01T20:15:00+08:00",
    }
    return {**body, **overrides}


class ComplaintApiTests:
    def test_it_answers_201_with_the_id_and_the_due_times_with_offset(self, client, shop, api_token):
        with frozen(2026, 3, 2, 9, 0):
            response = post(client, "/api/v1/complaints", complaint_body(shop), api_token(shop.cast.alice))
        assert response.status_code == 201, response.content
        data = response.json()
        assert isinstance(data["id"], int)
        assert data["acknowledge_due"] == "2026-03-01T22:15:00+08:00"
        assert data["contact_due"] == "2026-03-02T20:15:00+08:00"
        assert data["resolve_due"] == "2026-03-03T20:15:00+08:00"  # online review: 48 h
        assert data["received_at"] == "2026-03-01T20:15:00+08:00"

    def test_received_at_is_optional(self, client, shop, api_token):
        body = complaint_body(shop, channel="phone")
        del body["received_at"]
        with frozen(2026, 3, 2, 9, 0):
            data = post(client, "/api/v1/complaints", body, api_token(shop.cast.alice)).json()
        assert data["acknowledge_due"] == "2026-03-02T11:00:00+08:00"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("channel", "fax"),
            ("category", "mood"),
            ("priority", "high"),
            ("received_at", "2026-03-02T09:01:00+08:00"),
            ("received_at", "yesterday"),
            ("customer", 999999),
            ("store", "NOPE"),
            ("description", ""),
        ],
    )
    def test_a_bad_field_is_422_naming_it(self, client, shop, api_token, field, value):
        with frozen(2026, 3, 2, 9, 0):
            response = post(
                client, "/api/v1/complaints", complaint_body(shop, **{field: value}), api_token(shop.cast.alice)
            )
        assert response.status_code == 422, response.content
        assert field in response.json()["errors"]

    def test_a_missing_field_is_422_naming_it(self, client, shop, api_token):
        body = complaint_body(shop)
        del body["category"]
        response = post(client, "/api/v1/complaints", body, api_token(shop.cast.alice))
        assert response.status_code == 422 and "category" in response.json()["errors"]

    def test_another_store_s_customer_is_refused(self, client, shop, api_token):
        other = make_customer(shop.cast.store_b, name="杭州")
        response = post(
            client, "/api/v1/complaints", complaint_body(shop, customer=other.pk), api_token(shop.cast.alice)
        )
        assert response.status_code == 422 and "customer" in response.json()["errors"]

    def test_a_technician_may_not_log_complaints(self, client, shop, api_token):
        response = post(client, "/api/v1/complaints", complaint_body(shop), api_token(shop.cast.tom))
        assert response.status_code == 403

    def test_the_actions_walk_the_complaint_and_another_store_sees_404(self, client, shop, api_token):
        headers = api_token(shop.cast.alice)
        complaint_id = post(client, "/api/v1/complaints", complaint_body(shop), headers).json()["id"]
        base = f"/api/v1/complaints/{complaint_id}"
        assert post(client, f"{base}/acknowledge", {}, headers).json()["status"] == "acknowledged"
        assert post(client, f"{base}/contact", {"note": "已致电"}, headers).json()["status"] == "contacted"
        transfer = post(client, f"{base}/transfer", {"to": shop.cast.bob.pk, "reason": "换班"}, headers)
        assert transfer.json()["owner"] == shop.cast.bob.pk
        assert post(client, f"{base}/resolve", {"resolution": "道歉"}, headers).json()["status"] == "resolved"
        bad = post(client, f"{base}/close", {"customer_confirmed": True, "satisfaction": 7}, headers)
        assert bad.status_code == 422 and "satisfaction" in bad.json()["errors"]
        closed = post(client, f"{base}/close", {"customer_confirmed": True, "satisfaction": 5}, headers).json()
        assert closed["status"] == "closed" and [c["clock"] for c in closed["clocks"]] == [
            "acknowledge",
            "contact",
            "resolve",
        ]
        assert post(client, f"{base}/reopen", {"reason": "复发"}, headers).json()["reopened_count"] == 1
        assert client.get(base, **api_token(shop.cast.carol)).status_code == 404
        assert client.get(base, **api_token(shop.cast.grace)).status_code == 200
        listed = client.get("/api/v1/complaints?store=SH01", **headers).json()
        assert [c["id"] for c in listed["items"]] == [complaint_id]
        assert client.get("/api/v1/complaints", **api_token(shop.cast.carol)).json()["items"] == []


class SuggestionApiTests:
    def test_it_answers_201_with_the_decision_due(self, client, shop, api_token):
        body = {
            "store": "SH01",
            "customer": shop.customer.pk,
            "channel": "customer_page",
            "description": "希望提供代步车",
            "received_at": "2026-03-05T16:00:00+08:00",
        }
        with frozen(2026, 3, 6, 9, 0):
            response = post(client, "/api/v1/suggestions", body, api_token(shop.cast.alice))
        assert response.status_code == 201, response.content
        assert response.json()["decision_due"] == "2026-03-10T23:59:59+08:00"
        assert isinstance(response.json()["id"], int)

    @pytest.mark.parametrize(("field", "value"), [("channel", "fax"), ("received_at", "2099-01-01T00:00:00+08:00")])
    def test_a_bad_field_is_422_naming_it(self, client, shop, api_token, field, value):
        body = {"store": "SH01", "customer": shop.customer.pk, "channel": "phone", "description": "x", field: value}
        response = post(client, "/api/v1/suggestions", body, api_token(shop.cast.alice))
        assert response.status_code == 422 and field in response.json()["errors"]


class FollowUpApiTests:
    def test_an_agent_records_a_reached_call_with_the_survey(self, client, shop, api_token, agent):
        from aftersales.feedback import services

        with frozen(2026, 3, 2, 10, 0):
            order = deliver(shop)
            services.follow_up_sweep()
        headers = api_token(agent)
        queue = client.get("/api/v1/follow-ups?store=SH01", **headers).json()["items"]
        assert [f["order"] for f in queue] == [order.pk]
        url = f"/api/v1/follow-ups/{queue[0]['id']}/attempts"
        response = post(
            client, url, {"outcome": "reached", "answers": {**GOOD, "overall": 6}, "consent_given": True}, headers
        )
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "done"
        tasks = client.get("/api/v1/recovery-tasks?store=SH01", **api_token(shop.advisor)).json()["items"]
        assert len(tasks) == 1 and tasks[0]["overall"] == 6
        assert post(client, url, {"outcome": "no_answer"}, api_token(shop.advisor)).status_code == 403

    def test_staff_record_a_delivery_survey(self, client, shop, api_token):
        order = deliver(shop)
        grant_survey_consent(shop.customer, shop.advisor)
        body = {"order": order.pk, "channel": "delivery", "answers": GOOD, "expectations": {"attitude": 5}}
        response = post(client, "/api/v1/survey-responses", body, api_token(shop.advisor))
        assert response.status_code == 201, response.content
        assert response.json()["channel"] == "delivery"
        assert (
            client.get(f"/api/v1/survey-responses/{response.json()['id']}", **api_token(shop.cast.carol)).status_code
            == 404
        )


class FrequentIssuesApiTests:
    def test_it_ranks_the_month(self, client, shop, api_token):
        headers = api_token(shop.cast.mia)
        with frozen(2026, 3, 10, 9, 0):
            for category in ("waiting", "waiting", "price"):
                post(client, "/api/v1/complaints", complaint_body(shop, category=category, received_at=None), headers)
        response = client.get("/api/v1/frequent-issues?store=SH01&month=2026-03", **headers)
        assert response.status_code == 200
        rows = response.json()["complaint_categories"]
        assert [(r["rank"], r["key"], r["count"], r["change"]) for r in rows] == [
            (1, "waiting", 2, 2),
            (2, "price", 1, 1),
        ]
        assert client.get("/api/v1/frequent-issues?store=SH01&month=2026-13", **headers).status_code == 422


def test_the_openapi_document_lists_the_public_paths(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/complaints", "/api/v1/suggestions"} <= set(paths)
    assert dt  # keep the import for clarity of time values above
