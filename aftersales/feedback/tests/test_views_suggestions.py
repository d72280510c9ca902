"""The suggestion pages: awaiting a decision first with the working-day countdown, intake by staff, the
decision (adopt or not, with a note) and telling the customer."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer
from aftersales.feedback import services
from aftersales.feedback.choices import SuggestionStatus as G
from aftersales.feedback.models import Suggestion

from .conftest import frozen, minutes, shanghai

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00: due at the end of the third working day, Thursday 5 March 23:59:59.
RECEIVED = shanghai(2026, 3, 2, 9, 0)


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def log(shop, *, customer=None, received_at=RECEIVED, description="希望周末也能预约"):
    with time_machine.travel(received_at + minutes(5), tick=False):
        return services.suggestion_log(
            store=shop.store,
            customer=customer or shop.customer,
            channel="follow_up",
            description=description,
            received_at=received_at,
            by=shop.cast.alice,
        )


def _body(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


class SuggestionListTests:
    def test_awaiting_first_with_the_countdown_then_decided_then_closed(self, client, shop):
        waiting = log(shop, description="等待中的建议")
        decided = log(shop, description="已决定的建议")
        told = log(shop, description="已告知的建议")
        with frozen(2026, 3, 3, 9, 0):
            services.suggestion_decide(suggestion=decided, by=shop.cast.alice, decision="adopt")
            services.suggestion_decide(suggestion=told, by=shop.cast.alice, decision="not_adopt", note="成本太高")
            services.suggestion_tell_customer(suggestion=told, by=shop.cast.alice)
            client.force_login(shop.cast.alice)
            response = client.get(reverse("feedback:suggestion-list"))
        body = _body(response)
        assert response.status_code == 200
        assert [r["suggestion"].pk for r in response.context["awaiting"]] == [waiting.pk]
        assert [s.pk for s in response.context["decided"]] == [decided.pk]
        assert [s.pk for s in response.context["closed"]] == [told.pk]
        assert body.index("等待中的建议") < body.index("已决定的建议") < body.index("已告知的建议")
        assert "2 d 14 h left" in body and "2026-03-05 23:59" in body

    def test_an_overdue_decision_turns_red(self, client, shop):
        log(shop)
        client.force_login(shop.cast.alice)
        with frozen(2026, 3, 6, 1, 30):
            body = _body(client.get(reverse("feedback:suggestion-list")))
        assert "overdue 1 h 30 min" in body and "data-breached" in body

    def test_the_empty_list_says_what_to_do(self, client, shop):
        client.force_login(shop.cast.alice)
        body = _body(client.get(reverse("feedback:suggestion-list")))
        assert "No suggestion is waiting for a decision" in body
        assert reverse("feedback:suggestion-create") in body

    def test_a_technician_is_refused(self, client, shop):
        client.force_login(shop.cast.tom)
        assert client.get(reverse("feedback:suggestion-list")).status_code == 403
        assert client.get(reverse("feedback:suggestion-create")).status_code == 403

    def test_the_list_runs_the_same_number_of_queries_for_3_and_10_suggestions(self, client, shop):
        def add(n: int) -> None:
            for _ in range(n):
                customer = make_customer(shop.store, name=f"客户{Suggestion.objects.count()}")
                suggestion = log(shop, customer=customer)
                if Suggestion.objects.count() % 3 == 0:
                    services.suggestion_decide(suggestion=suggestion, by=shop.cast.alice, decision="adopt")

        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse("feedback:suggestion-list")).status_code == 200
            return len(ctx.captured_queries)

        client.force_login(shop.cast.alice)
        add(3)
        few = count()
        add(7)
        assert count() == few


class SuggestionCreateTests:
    def test_search_then_log_and_see_the_decision_due(self, client, shop):
        client.force_login(shop.cast.alice)
        response = client.get(reverse("feedback:suggestion-create"), {"q": "王五"})
        assert [c.pk for c in response.context["found"]] == [shop.customer.pk]
        assert client.get(reverse("feedback:suggestion-create"), {"customer": shop.customer.pk}).status_code == 200
        with frozen(2026, 3, 2, 10, 0):
            response = client.post(
                reverse("feedback:suggestion-create"),
                {
                    "customer": shop.customer.pk,
                    "channel": "on_site",
                    "description": "休息区加充电口",
                    "received_at": "2026-03-02T09:00",
                },
            )
        suggestion = Suggestion.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("feedback:suggestion-detail", args=[suggestion.pk])
        assert suggestion.received_at == RECEIVED and suggestion.logged_by == shop.cast.alice
        with frozen(2026, 3, 2, 10, 0):
            page = client.get(response["Location"])
        assert "decide by 2026-03-05 23:59" in " ".join(_messages(page))
        assert "休息区加充电口" in _body(page)

    @pytest.mark.parametrize(
        ("field", "changes"),
        [
            ("received_at", {"received_at": "2026-03-02T10:30"}),
            ("description", {"description": ""}),
            ("channel", {"channel": "fax"}),
        ],
    )
    def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(self, client, shop, field, changes):
        client.force_login(shop.cast.alice)
        data = {"customer": shop.customer.pk, "channel": "phone", "description": "x", **changes}
        with frozen(2026, 3, 2, 10, 0):
            response = client.post(reverse("feedback:suggestion-create"), data)
        assert response.status_code == 400
        assert response.context["form"].errors.keys() == {field}
        assert f'data-error-for="{field}"' in _body(response)
        assert not Suggestion.objects.exists()


class SuggestionDetailTests:
    def test_decide_then_tell_the_customer(self, client, shop):
        suggestion = log(shop)
        client.force_login(shop.cast.alice)
        url = reverse("feedback:suggestion-detail", args=[suggestion.pk])
        with frozen(2026, 3, 3, 9, 0):
            page = client.get(url)
            assert page.context["decide_form"] is not None and not page.context["can_tell"]
            assert "2 d 14 h left" in _body(page)
            response = client.post(
                reverse("feedback:suggestion-decide", args=[suggestion.pk]), {"decision": "adopt", "note": "下月开始"}
            )
        assert response.status_code == 302
        suggestion.refresh_from_db()
        assert (suggestion.status, suggestion.decision, suggestion.decision_note) == (G.DECIDED, "adopt", "下月开始")
        page = client.get(url)
        assert page.context["can_tell"] and 'data-action="tell"' in _body(page)
        assert client.post(reverse("feedback:suggestion-tell", args=[suggestion.pk])).status_code == 302
        suggestion.refresh_from_db()
        assert suggestion.status == G.CLOSED and suggestion.customer_told_at is not None
        assert "Closed: the customer knows the decision." in _body(client.get(url))

    def test_a_decision_must_be_chosen(self, client, shop):
        suggestion = log(shop)
        client.force_login(shop.cast.alice)
        response = client.post(reverse("feedback:suggestion-decide", args=[suggestion.pk]), {"decision": "maybe"})
        assert response.status_code == 400 and "decision" in response.context["decide_form"].errors
        assert 'data-error-for="decision"' in _body(response)
        assert Suggestion.objects.get().status == G.OPEN

    def test_telling_before_deciding_is_refused_with_a_message(self, client, shop):
        suggestion = log(shop)
        client.force_login(shop.cast.alice)
        response = client.post(reverse("feedback:suggestion-tell", args=[suggestion.pk]), follow=True)
        assert any("cannot go from" in m for m in _messages(response))
        assert Suggestion.objects.get().status == G.OPEN

    def test_roles(self, client, shop, cast):
        suggestion = log(shop)
        client.force_login(cast.tom)
        assert client.get(reverse("feedback:suggestion-detail", args=[suggestion.pk])).status_code == 403
        client.force_login(cast.grace)  # reads, does not decide
        response = client.get(reverse("feedback:suggestion-detail", args=[suggestion.pk]))
        assert response.status_code == 200 and response.context["decide_form"] is None
        assert (
            client.post(reverse("feedback:suggestion-decide", args=[suggestion.pk]), {"decision": "adopt"}).status_code
            == 403
        )
        assert Suggestion.objects.get().status == G.OPEN

    def test_another_stores_suggestion_is_not_found_even_with_a_valid_post(self, client, cast):
        customer = make_customer(cast.store_b, name="杭州客户")
        suggestion = services.suggestion_log(
            store=cast.store_b, customer=customer, channel="phone", description="杭州的建议", by=cast.carol
        )
        client.force_login(cast.alice)
        assert client.get(reverse("feedback:suggestion-detail", args=[suggestion.pk])).status_code == 404
        url = reverse("feedback:suggestion-decide", args=[suggestion.pk])
        assert client.post(url, {"decision": "adopt", "note": "篡改"}).status_code == 404
        assert Suggestion.objects.get().status == G.OPEN
