"""The complaint pages: the list with its running clocks, intake by staff, the complaint page and its actions.
Each page serves the roles that handle complaints and refuses the others; bad input is shown next to its field
and writes nothing; the list keeps a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.feedback import services
from aftersales.feedback.choices import ComplaintStatus as S
from aftersales.feedback.models import Complaint, ComplaintEscalation, ComplaintEvent, ComplaintTransfer
from aftersales.organisation.choices import Role
from aftersales.service import services as service_services

from .conftest import frozen, minutes, shanghai

pytestmark = pytest.mark.django_db

RECEIVED = shanghai(2026, 3, 2, 9, 0)


@pytest.fixture
def client():
    """Pages answer in English here (the store default is Chinese), so tests can read the messages."""
    return Client(headers={"accept-language": "en"})


def log(shop, *, by=None, received_at=RECEIVED, customer=None, **extra):
    with time_machine.travel(received_at + minutes(10), tick=False):
        return services.complaint_log(
            store=shop.store,
            customer=customer or shop.customer,
            channel=extra.pop("channel", "phone"),
            category=extra.pop("category", "waiting"),
            priority=extra.pop("priority", "important"),
            description=extra.pop("description", "等了三个小时"),
            received_at=received_at,
            by=by or shop.cast.alice,
            **extra,
        )


def _body(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _state(complaint: Complaint) -> tuple:
    complaint.refresh_from_db()
    return (complaint.status, complaint.owner_id, complaint.resolution, ComplaintEvent.objects.count())


# --------------------------------------------------------------------------------------------- the list


class ComplaintListTests:
    def test_it_lists_open_complaints_with_their_next_clock(self, client, shop):
        complaint = log(shop)
        with frozen(2026, 3, 2, 9, 48):
            client.force_login(shop.cast.alice)
            response = client.get(reverse("feedback:complaint-list"))
        assert response.status_code == 200
        body = _body(response)
        assert f'data-complaint="{complaint.pk}"' in body
        assert "王五" in body and "Waiting time" in body and "Important" in body
        assert 'data-countdown="acknowledge"' in body
        assert "1 h 12 min left" in body
        assert "data-breached" not in body

    def test_the_countdown_turns_overdue_in_red_and_moves_to_the_next_clock(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.alice)
        with frozen(2026, 3, 2, 14, 0):
            body = _body(client.get(reverse("feedback:complaint-list")))
        assert "overdue 3 h 00 min" in body
        assert "data-breached" in body and "text-bg-danger" in body
        with frozen(2026, 3, 2, 14, 5):
            services.complaint_acknowledge(complaint=complaint, by=shop.cast.alice)
            body = _body(client.get(reverse("feedback:complaint-list")))
        assert 'data-countdown="contact"' in body
        assert "18 h 55 min left" in body

    def test_an_escalated_complaint_shows_to_whom(self, client, shop):
        log(shop)
        with frozen(2026, 3, 2, 11, 30):
            services.complaint_escalation_sweep()
            client.force_login(shop.cast.alice)
            body = _body(client.get(reverse("feedback:complaint-list")))
        assert 'data-escalated="store"' in body
        assert "Escalated: Store manager" in body

    def test_filters_open_overdue_mine_closed_and_all(self, client, shop):
        late = log(shop, description="迟到的")
        fresh = log(shop, by=shop.cast.bob, received_at=shanghai(2026, 3, 2, 11, 0), description="新的")
        done = log(shop, received_at=shanghai(2026, 3, 1, 9, 0), description="已结案")
        with frozen(2026, 3, 2, 11, 30):
            for step in (services.complaint_acknowledge, services.complaint_contact):
                done = step(complaint=done, by=shop.cast.alice)
            done = services.complaint_resolve(complaint=done, by=shop.cast.alice, resolution="返修")
            services.complaint_close(complaint=done, by=shop.cast.alice, customer_confirmed=True, satisfaction=4)
            client.force_login(shop.cast.alice)

            def shown(show: str) -> set[int]:
                response = client.get(reverse("feedback:complaint-list"), {"show": show})
                return {row["complaint"].pk for row in response.context["rows"]}

            assert shown("open") == {late.pk, fresh.pk}
            assert shown("overdue") == {late.pk}  # acknowledge was due 11:00
            assert shown("mine") == {late.pk}
            assert shown("closed") == {done.pk}
            assert shown("all") == {late.pk, fresh.pk, done.pk}
            assert shown("nonsense") == {late.pk, fresh.pk}

    def test_the_escalation_filter_shows_those_escalated_to_the_store_or_the_group(self, client, shop):
        quiet = log(shop, description="未升级")
        to_store = log(shop, description="升级到服务经理")
        to_group = log(shop, description="升级到集团")
        with frozen(2026, 3, 2, 11, 30):
            # The first breached clock goes to the store manager, a later one to the group.
            for complaint, clock, level in (
                (to_store, "acknowledge", "store"),
                (to_group, "acknowledge", "store"),
                (to_group, "contact", "group"),
            ):
                ComplaintEscalation.objects.create(
                    complaint=complaint, clock=clock, level=level, due_at=timezone.now(), at=timezone.now()
                )
            client.force_login(shop.cast.mia)

            def shown(**params: str) -> set[int]:
                response = client.get(reverse("feedback:complaint-list"), params)
                return {row["complaint"].pk for row in response.context["rows"]}

            assert shown(escalated="group") == {to_group.pk}
            assert shown(escalated="store") == {to_store.pk, to_group.pk}
            assert shown() == shown(escalated="nonsense") == {quiet.pk, to_store.pk, to_group.pk}
            assert 'name="escalated"' in _body(client.get(reverse("feedback:complaint-list")))

    def test_the_empty_list_says_what_to_do(self, client, shop):
        client.force_login(shop.cast.alice)
        body = _body(client.get(reverse("feedback:complaint-list")))
        assert "No open complaints. Log one from a call" in body
        assert reverse("feedback:complaint-create") in body

    def test_a_technician_may_not_see_complaints(self, client, shop):
        client.force_login(shop.cast.tom)
        assert client.get(reverse("feedback:complaint-list")).status_code == 403

    def test_another_stores_complaints_are_not_listed(self, client, shop, cast):
        carols = make_customer(cast.store_b, name="杭州客户")
        services.complaint_log(
            store=cast.store_b,
            customer=carols,
            channel="phone",
            category="price",
            priority="general",
            description="贵",
            by=cast.carol,
        )
        client.force_login(shop.cast.alice)
        assert "杭州客户" not in _body(client.get(reverse("feedback:complaint-list"), {"show": "all"}))

    def test_the_list_runs_the_same_number_of_queries_for_3_and_10_complaints(self, client, shop):
        def add(n: int) -> None:
            for i in range(n):
                customer = make_customer(shop.store, name=f"客户{Complaint.objects.count()}")
                complaint = log(shop, customer=customer, by=shop.cast.alice if i % 2 else shop.cast.bob)
                if i % 3 == 0:
                    with frozen(2026, 3, 2, 9, 30):
                        services.complaint_acknowledge(complaint=complaint, by=shop.cast.alice)

        url = reverse("feedback:complaint-list")
        add(3)
        with frozen(2026, 3, 2, 12, 0):
            services.complaint_escalation_sweep()
            client.force_login(shop.cast.alice)
            few = _count_queries(client, url)
        add(7)
        with frozen(2026, 3, 2, 12, 0):
            services.complaint_escalation_sweep()
            many = _count_queries(client, url)
            assert len(client.get(url).context["rows"]) == 10
        assert few == many
        assert many <= 12


# --------------------------------------------------------------------------------------------- intake


class ComplaintCreateTests:
    def test_without_a_customer_it_asks_who_by_name_last_four_digits_or_plate(self, client, shop):
        client.force_login(shop.cast.alice)
        url = reverse("feedback:complaint-create")
        assert "Search for the customer" in _body(client.get(url))
        for query in ("王五", "8000", "沪A12345"):
            response = client.get(url, {"q": query, "channel": "online_review"})
            assert [c.pk for c in response.context["found"]] == [shop.customer.pk], query
            assert f"?customer={shop.customer.pk}&amp;channel=online_review" in _body(response)
        assert "Nobody found" in _body(client.get(url, {"q": "不存在"}))

    def test_the_form_is_prefilled_from_the_link(self, client, shop):
        order = service_services.walk_in_register(
            store=shop.store, by=shop.cast.alice, service_type="repair", plate=shop.vehicle.plate
        )
        client.force_login(shop.cast.alice)
        response = client.get(reverse("feedback:complaint-create"), {"order": order.pk, "channel": "follow_up"})
        assert response.status_code == 200
        form = response.context["form"]
        assert response.context["customer"] == shop.customer
        assert form["order"].value() == order.pk
        assert form["channel"].value() == "follow_up"
        assert 'type="datetime-local"' in _body(response)

    def test_logging_makes_the_logger_the_owner_and_shows_the_three_due_times(self, client, shop):
        order = service_services.walk_in_register(
            store=shop.store, by=shop.cast.alice, service_type="repair", plate=shop.vehicle.plate
        )
        client.force_login(shop.cast.bob)
        with frozen(2026, 3, 2, 10, 0):
            response = client.post(
                reverse("feedback:complaint-create") + f"?customer={shop.customer.pk}",
                {
                    "customer": shop.customer.pk,
                    "order": order.pk,
                    "channel": "phone",
                    "category": "quality",
                    "priority": "urgent",
                    "description": "刹车还是响",
                    "received_at": "2026-03-02T09:00",
                },
            )
        complaint = Complaint.objects.get()
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("feedback:complaint-detail", args=[complaint.pk]))
        assert complaint.owner == shop.cast.bob and complaint.logged_by == shop.cast.bob
        assert complaint.order == order and complaint.received_at == RECEIVED
        with frozen(2026, 3, 2, 10, 0):
            page = client.get(response["Location"])
        body = _body(page)
        for due in ("2026-03-02 11:00", "2026-03-03 09:00", "2026-03-05 09:00"):
            assert due in body
        assert "you own it" in " ".join(_messages(page))

    @pytest.mark.parametrize(
        ("field", "changes"),
        [
            ("received_at", {"received_at": "2026-03-02T11:00"}),
            ("category", {"category": "weather"}),
            ("description", {"description": "  "}),
            ("channel", {"channel": ""}),
        ],
    )
    def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(self, client, shop, field, changes):
        client.force_login(shop.cast.alice)
        data = {
            "customer": shop.customer.pk,
            "channel": "phone",
            "category": "quality",
            "priority": "general",
            "description": "刹车还是响",
            "received_at": "2026-03-02T09:00",
            **changes,
        }
        with frozen(2026, 3, 2, 10, 0):
            response = client.post(reverse("feedback:complaint-create"), data)
        assert response.status_code == 400
        assert response.context["form"].errors.keys() == {field}
        assert f'data-error-for="{field}"' in _body(response)
        assert not Complaint.objects.exists()

    def test_a_future_receipt_time_says_so(self, client, shop):
        client.force_login(shop.cast.alice)
        data = {
            "customer": shop.customer.pk,
            "channel": "phone",
            "category": "quality",
            "priority": "general",
            "description": "x",
            "received_at": "2026-03-02T10:01",
        }
        with frozen(2026, 3, 2, 10, 0):
            response = client.post(reverse("feedback:complaint-create"), data)
        assert response.context["form"].errors["received_at"] == ["The time received cannot be in the future."]

    def test_only_the_customers_own_orders_can_be_chosen(self, client, shop):
        other = make_customer(shop.store, name="李四")
        make_vehicle(other, plate="沪C99999")
        foreign = service_services.walk_in_register(
            store=shop.store, by=shop.cast.alice, service_type="repair", plate="沪C99999"
        )
        client.force_login(shop.cast.alice)
        response = client.post(
            reverse("feedback:complaint-create"),
            {
                "customer": shop.customer.pk,
                "order": foreign.pk,
                "channel": "phone",
                "category": "quality",
                "priority": "general",
                "description": "x",
            },
        )
        assert response.status_code == 400 and "order" in response.context["form"].errors
        assert not Complaint.objects.exists()

    def test_a_technician_is_refused_and_another_stores_customer_is_not_found(self, client, shop, cast):
        client.force_login(cast.tom)
        assert client.get(reverse("feedback:complaint-create")).status_code == 403
        client.force_login(cast.alice)
        hangzhou = make_customer(cast.store_b, name="杭州客户")
        response = client.post(
            reverse("feedback:complaint-create"),
            {
                "customer": hangzhou.pk,
                "channel": "phone",
                "category": "price",
                "priority": "general",
                "description": "x",
            },
        )
        assert response.status_code == 404
        assert not Complaint.objects.exists()

    def test_an_agent_logs_complaints_too(self, client, shop, agent):
        client.force_login(agent)
        response = client.get(reverse("feedback:complaint-create"), {"customer": shop.customer.pk})
        assert response.status_code == 200


# --------------------------------------------------------------------------------------------- the complaint


class ComplaintDetailTests:
    def test_the_page_shows_header_clocks_and_the_first_action(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.alice)
        with frozen(2026, 3, 2, 9, 30):
            response = client.get(reverse("feedback:complaint-detail", args=[complaint.pk]))
        body = _body(response)
        assert response.status_code == 200
        assert "王五" in body and "Waiting time" in body and "Alice" in body
        for clock in ("acknowledge", "contact", "resolve"):
            assert f'data-clock="{clock}"' in body
        assert "1 h 30 min left" in body
        assert set(response.context["forms"]) == {"acknowledge", "transfer"}
        assert 'id="open-capa"' not in body  # an advisor does not run CAPAs

    def test_a_manager_sees_the_capa_button(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.mia)
        body = _body(client.get(reverse("feedback:complaint-detail", args=[complaint.pk])))
        assert f"/feedback/capa/new/?complaint={complaint.pk}" in body

    def test_a_group_manager_reads_but_has_no_actions(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.grace)
        response = client.get(reverse("feedback:complaint-detail", args=[complaint.pk]))
        assert response.status_code == 200 and response.context["forms"] == {}
        assert client.post(reverse("feedback:complaint-acknowledge", args=[complaint.pk])).status_code == 403
        assert Complaint.objects.get().status == S.NEW

    def test_a_technician_is_refused(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.tom)
        assert client.get(reverse("feedback:complaint-detail", args=[complaint.pk])).status_code == 403
        assert client.post(reverse("feedback:complaint-acknowledge", args=[complaint.pk])).status_code == 403

    def test_the_actions_take_posts_only(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.alice)
        for verb in ("acknowledge", "contact", "resolve", "close", "reopen", "transfer"):
            assert client.get(reverse(f"feedback:complaint-{verb}", args=[complaint.pk])).status_code == 405

    def test_the_full_walk_log_acknowledge_contact_resolve_close_and_reopen(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.alice)

        def post(verb: str, data: dict | None = None):
            return client.post(reverse(f"feedback:complaint-{verb}", args=[complaint.pk]), data or {})

        with frozen(2026, 3, 2, 9, 40):
            assert post("acknowledge", {"note": "已告知客户"}).status_code == 302
        with frozen(2026, 3, 2, 15, 0):
            assert post("contact").status_code == 302
        with frozen(2026, 3, 3, 10, 0):
            assert post("resolve", {"resolution": "免费返修并道歉"}).status_code == 302
            page = client.get(reverse("feedback:complaint-detail", args=[complaint.pk]))
            assert set(page.context["forms"]) == {"close", "reopen", "transfer"}
            assert 'id="complaint-close-step"' in _body(page)
            response = post("close", {"customer_confirmed": "on", "satisfaction": "4", "note": "客户满意"})
        assert response.status_code == 302
        complaint.refresh_from_db()
        assert complaint.status == S.CLOSED and complaint.satisfaction_with_handling == 4
        assert complaint.acknowledged_at == shanghai(2026, 3, 2, 9, 40)
        with frozen(2026, 3, 4, 9, 0):
            body = _body(client.get(reverse("feedback:complaint-detail", args=[complaint.pk])))
            assert "satisfaction with the handling 4/5" in body and "已告知客户" in body
            assert post("reopen", {"reason": "又响了"}).status_code == 302
            body = _body(client.get(reverse("feedback:complaint-detail", args=[complaint.pk])))
        complaint.refresh_from_db()
        assert complaint.status == S.ACKNOWLEDGED and complaint.reopened_count == 1
        assert "又响了" in body and 'data-countdown="resolve"' in body
        assert list(ComplaintEvent.objects.values_list("to_status", flat=True).order_by("id")) == [
            S.NEW,
            S.ACKNOWLEDGED,
            S.CONTACTED,
            S.RESOLVED,
            S.CLOSED,
            S.ACKNOWLEDGED,
        ]

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"satisfaction": "4"}, "customer_confirmed"),
            ({"customer_confirmed": "on"}, "satisfaction"),
            ({"customer_confirmed": "on", "satisfaction": "9"}, "satisfaction"),
        ],
    )
    def test_closing_needs_the_confirmation_and_the_satisfaction(self, client, shop, data, field):
        complaint = log(shop)
        with frozen(2026, 3, 2, 10, 0):
            for step in (services.complaint_acknowledge, services.complaint_contact):
                complaint = step(complaint=complaint, by=shop.cast.alice)
            services.complaint_resolve(complaint=complaint, by=shop.cast.alice, resolution="返修")
        before = _state(complaint)
        client.force_login(shop.cast.alice)
        response = client.post(reverse("feedback:complaint-close", args=[complaint.pk]), data)
        assert response.status_code == 400
        assert field in response.context["forms"]["close"].errors
        body = _body(response)
        assert f'data-error-for="{field}"' in body
        assert '<details id="complaint-close-step" open>' in body
        assert _state(complaint) == before

    def test_resolving_without_a_resolution_writes_nothing(self, client, shop):
        complaint = log(shop)
        with frozen(2026, 3, 2, 10, 0):
            for step in (services.complaint_acknowledge, services.complaint_contact):
                complaint = step(complaint=complaint, by=shop.cast.alice)
        before = _state(complaint)
        client.force_login(shop.cast.alice)
        response = client.post(reverse("feedback:complaint-resolve", args=[complaint.pk]), {"resolution": " "})
        assert response.status_code == 400 and "resolution" in response.context["forms"]["resolve"].errors
        assert _state(complaint) == before

    def test_a_move_the_state_does_not_allow_comes_back_as_a_message(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.alice)
        response = client.post(
            reverse("feedback:complaint-resolve", args=[complaint.pk]), {"resolution": "x"}, follow=True
        )
        assert any("cannot go from" in m for m in _messages(response))
        assert Complaint.objects.get().status == S.NEW

    def test_a_transfer_changes_the_owner_and_records_the_reason(self, client, shop, agent):
        complaint = log(shop)
        client.force_login(shop.cast.alice)
        page = client.get(reverse("feedback:complaint-detail", args=[complaint.pk]))
        choices = dict(page.context["forms"]["transfer"].fields["to"].choices)
        assert agent.pk in choices and shop.cast.bob.pk in choices
        assert shop.cast.alice.pk not in choices and shop.cast.tom.pk not in choices  # the owner; no role
        response = client.post(
            reverse("feedback:complaint-transfer", args=[complaint.pk]), {"to": agent.pk, "reason": "客服跟进更合适"}
        )
        assert response.status_code == 302
        complaint.refresh_from_db()
        assert complaint.owner == agent
        transfer = ComplaintTransfer.objects.get()
        assert (transfer.from_owner, transfer.to_owner, transfer.reason) == (shop.cast.alice, agent, "客服跟进更合适")
        body = _body(client.get(reverse("feedback:complaint-detail", args=[complaint.pk])))
        assert "Handed over from Alice to Ann" in body and "客服跟进更合适" in body

    @pytest.mark.parametrize("to", ["tom", "carol", "nobody"])
    def test_a_transfer_to_someone_who_may_not_handle_it_is_refused(self, client, shop, to):
        complaint = log(shop)
        target = {"tom": shop.cast.tom.pk, "carol": shop.cast.carol.pk, "nobody": 99999}[to]
        client.force_login(shop.cast.alice)
        response = client.post(
            reverse("feedback:complaint-transfer", args=[complaint.pk]), {"to": target, "reason": "换人"}
        )
        assert response.status_code == 400 and "to" in response.context["forms"]["transfer"].errors
        assert '<details id="complaint-transfer-step" open>' in _body(response)
        assert Complaint.objects.get().owner == shop.cast.alice and not ComplaintTransfer.objects.exists()

    def test_a_transfer_needs_a_reason(self, client, shop):
        complaint = log(shop)
        client.force_login(shop.cast.alice)
        response = client.post(reverse("feedback:complaint-transfer", args=[complaint.pk]), {"to": shop.cast.bob.pk})
        assert response.status_code == 400 and "reason" in response.context["forms"]["transfer"].errors
        assert not ComplaintTransfer.objects.exists()

    def test_the_timeline_shows_an_escalation(self, client, shop):
        complaint = log(shop)
        with frozen(2026, 3, 2, 11, 30):
            services.complaint_escalation_sweep()
            client.force_login(shop.cast.alice)
            body = _body(client.get(reverse("feedback:complaint-detail", args=[complaint.pk])))
        assert 'data-entry="escalation"' in body
        assert "was due 2026-03-02 11:00; escalated to: Store manager" in body

    def test_another_stores_complaint_is_not_found_even_with_a_valid_post(self, client, cast):
        customer = make_customer(cast.store_b, name="杭州客户")
        complaint = services.complaint_log(
            store=cast.store_b,
            customer=customer,
            channel="phone",
            category="price",
            priority="general",
            description="贵",
            by=cast.carol,
        )
        other = make_user("hank", Role.ADVISOR, store=cast.store_b)
        client.force_login(cast.alice)
        before = _state(complaint)
        posts = {
            "acknowledge": {"note": "x"},
            "transfer": {"to": other.pk, "reason": "篡改"},
        }
        for verb, data in posts.items():
            assert client.post(reverse(f"feedback:complaint-{verb}", args=[complaint.pk]), data).status_code == 404
        assert _state(complaint) == before
        assert not ComplaintTransfer.objects.exists()


def test_the_received_at_default_is_now_to_the_minute(client, shop):
    client.force_login(shop.cast.alice)
    with frozen(2026, 3, 2, 10, 17):
        response = client.get(reverse("feedback:complaint-create"), {"customer": shop.customer.pk})
    assert 'value="2026-03-02T10:17"' in _body(response)
    assert response.context["form"]["received_at"].value().astimezone(dt.UTC) == shanghai(2026, 3, 2, 10, 17)
