"""Two-way replies end to end: `POST /api/v1/inbound/messages` signed by the gateway, stored once, and what each
intent starts (unsubscribe at once, a booking link, a reminder postponed, the advisor's inbox, unknown senders)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
import time_machine

from aftersales.campaigns.replies import SNOOZE_DAYS, booking_link, replies_for_customer, reply_recipients
from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent
from aftersales.customers.services import consent_set
from aftersales.messaging.choices import MessageStatus, Purpose, SuppressionReason
from aftersales.messaging.inbound import gateway_signature
from aftersales.messaging.models import InboundMessage, OutboxMessage, ReplyIntent, ReplyOutcome
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership
from aftersales.service import services as service_services
from aftersales.service.models import RepairOrder

pytestmark = pytest.mark.django_db

URL = "/api/v1/inbound/messages"
SECRET = "gateway-test-secret"
PHONE = "13812345678"
REMINDER_TEXT = {"name": "张三", "plate": "沪A12345", "due": "4月1日", "store": "上海店", "phone": "021-1"}


@pytest.fixture(autouse=True)
def gateway_secret(settings):
    settings.AFTERSALES_GATEWAY_SECRET = SECRET
    settings.PUBLIC_BASE_URL = "https://svc.example"


@pytest.fixture
def replier(cast):
    """A customer of store A with marketing consent, and a vehicle."""
    person = make_customer(cast.store_a, by=cast.alice, name="张三", phone=PHONE)
    make_vehicle(person, by=cast.alice, plate="沪A12345")
    consent_set(customer=person, purpose="marketing", granted=True, channel="desk", by=cast.alice)
    return person


def _headers(body: bytes, *, at: float | None = None, secret: str = SECRET, **overrides: str) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    headers = {
        "HTTP_X_AFTERSALES_TIMESTAMP": timestamp,
        "HTTP_X_AFTERSALES_SIGNATURE": gateway_signature(secret=secret.encode(), timestamp=timestamp, body=body),
    }
    headers.update(overrides)
    return headers


def post(client, payload: dict[str, Any] | None = None, *, raw: bytes | None = None, **header_args: Any):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = header_args.pop("headers", None) or _headers(body, **header_args)
    return client.post(URL, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **headers)


def reply(text: str = "TD", *, message_id: str = "m-1", sender: str = PHONE, **extra: Any) -> dict[str, Any]:
    return {"gateway": "aliyun-sms", "message_id": message_id, "channel": "sms", "from": sender, "text": text, **extra}


def sent_to(customer, *, template: str = "maintenance_reminder", purpose: str = Purpose.SERVICE, **kw: Any):
    """A message the outbox delivered to the customer an hour ago (what the reply answers)."""
    message = message_enqueue(
        store=customer.store,
        template=template,
        context=kw.pop("context", REMINDER_TEXT),
        customer=customer,
        purpose=purpose,
        **kw,
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=message.created_at - dt.timedelta(hours=1)
    )
    message.refresh_from_db()
    return message


def marketing(customer) -> OutboxMessage:
    return message_enqueue(
        store=customer.store,
        template="maintenance_reminder",
        context=REMINDER_TEXT,
        customer=customer,
        purpose=Purpose.MARKETING,
    )


# ---------------------------------------------------------------------------------------------- signature


class SignatureTests:
    def test_a_signed_reply_is_accepted(self, client, replier):
        response = post(client, reply("你好"))
        assert response.status_code == 201, response.content
        assert response.json()["intent"] == "other" and response.json()["duplicate"] is False

    def test_a_wrong_signature_is_401_and_writes_nothing(self, client, replier):
        response = post(client, reply(), secret="not-the-secret")
        assert response.status_code == 401
        assert "signature does not match" in response.json()["detail"]
        assert not InboundMessage.objects.exists()
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True

    def test_a_body_changed_after_signing_is_401(self, client, replier):
        body = json.dumps(reply("1")).encode()
        headers = _headers(body)
        response = post(client, raw=body.replace(b'"1"', b'"TD"'), headers=headers)
        assert response.status_code == 401 and not InboundMessage.objects.exists()

    @pytest.mark.parametrize(
        ("missing", "named"),
        [
            ("HTTP_X_AFTERSALES_SIGNATURE", "X-Aftersales-Signature"),
            ("HTTP_X_AFTERSALES_TIMESTAMP", "X-Aftersales-Timestamp"),
        ],
    )
    def test_a_missing_header_is_401_naming_it(self, client, replier, missing, named):
        body = json.dumps(reply()).encode()
        headers = _headers(body)
        del headers[missing]
        response = post(client, raw=body, headers=headers)
        assert response.status_code == 401 and named in response.json()["detail"]
        assert not InboundMessage.objects.exists()

    def test_a_replayed_request_is_401(self, client, replier):
        """The same genuine request, captured and sent again ten minutes later."""
        body = json.dumps(reply()).encode()
        headers = _headers(body, at=time.time() - 600)
        response = post(client, raw=body, headers=headers)
        assert response.status_code == 401 and "replay" in response.json()["detail"]
        assert not InboundMessage.objects.exists()
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True

    def test_the_clock_is_ours_not_the_machines(self, client, replier):
        """Checked against `core.clock`: a request signed "now" is stale once our clock has moved on."""
        body = json.dumps(reply()).encode()
        headers = _headers(body)
        with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6)):
            assert post(client, raw=body, headers=headers).status_code == 401

    @pytest.mark.parametrize("configured", ["", "   "])
    def test_without_a_secret_the_endpoint_is_switched_off(self, client, replier, settings, configured):
        settings.AFTERSALES_GATEWAY_SECRET = configured
        response = post(client, reply(), secret="")
        assert response.status_code == 503
        assert "AFTERSALES_GATEWAY_SECRET" in response.json()["detail"]
        assert not InboundMessage.objects.exists()

    def test_a_bearer_token_is_no_substitute(self, client, replier, api_token, cast):
        body = json.dumps(reply()).encode()
        response = client.post(URL, body, content_type="application/json", **api_token(cast.mia))
        assert response.status_code == 401 and not InboundMessage.objects.exists()

    def test_it_stays_out_of_the_staff_apis_openapi_document(self):
        """That document's sweeps (401 without a bearer token, fuzzing, bad input) assume bearer operations."""
        from aftersales.campaigns.inbound_api import router

        operations = [op for view in router.path_operations.values() for op in view.operations]
        assert operations and not any(op.include_in_schema for op in operations)


# --------------------------------------------------------------------------------------------- bad input


class BadInputTests:
    @pytest.mark.parametrize(
        ("field", "change"),
        [
            ("gateway", {"gateway": None}),
            ("message_id", {"message_id": "a\nb"}),
            ("channel", {"channel": "email"}),
            ("from", {"from": "12345"}),
            ("from", {"from": None}),
            ("text", {"text": "x\x00y"}),
            ("text", {"text": "   "}),
            ("text", {"text": "长" * 2001}),
            ("received_at", {"received_at": "tomorrow"}),
            ("received_at", {"received_at": "2099-01-01T00:00:00+08:00"}),
            ("in_reply_to", {"in_reply_to": 0}),
        ],
    )
    def test_bad_input_is_422_naming_the_field_and_writes_nothing(self, client, replier, field, change):
        payload = {key: value for key, value in {**reply(), **change}.items() if value is not None}  # None: left out
        response = post(client, payload)
        assert response.status_code == 422, response.content
        assert set(response.json()["errors"]) == {field}
        assert not InboundMessage.objects.exists()
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True

    def test_a_body_that_is_not_an_object_is_refused(self, client, replier):
        response = post(client, raw=b"[1, 2]")
        assert response.status_code in (400, 422) and not InboundMessage.objects.exists()


# ------------------------------------------------------------------------------------------- idempotency


class IdempotencyTests:
    def test_a_repeat_returns_the_first_result_and_does_nothing_again(self, client, replier):
        first = post(client, reply("退订"))
        assert first.status_code == 201
        consent_set(customer=replier, purpose="marketing", granted=True, channel="desk", by=None)  # given again
        repeat = post(client, reply("退订"))
        assert repeat.status_code == 200
        assert {**first.json(), "duplicate": True} == repeat.json()
        assert InboundMessage.objects.count() == 1
        assert OutboxMessage.objects.filter(template="reply_unsubscribed").count() == 1
        # The repeat did not withdraw the consent given again meanwhile.
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True
        assert AuditEntry.objects.filter(action="inbound_message.handle").count() == 1

    def test_a_repeat_with_other_text_is_still_the_first_message(self, client, replier):
        post(client, reply("1"))
        repeat = post(client, reply("退订"))
        assert repeat.status_code == 200 and repeat.json()["intent"] == "book"
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True


# --------------------------------------------------------------------------------------------------- stop


class StopTests:
    @pytest.mark.parametrize("text", ["退订", "TD", "t", "ＴＤ", "取消", "STOP", "Unsubscribe", " 退订。"])
    def test_stop_withdraws_marketing_consent_before_the_next_send(self, client, replier, text):
        waiting = marketing(replier)
        assert waiting.status == MessageStatus.PENDING
        response = post(client, reply(text))
        assert response.status_code == 201
        assert response.json()["intent"] == "stop" and response.json()["outcome"] == ReplyOutcome.UNSUBSCRIBED
        consent = Consent.objects.get(customer=replier, purpose="marketing")
        assert consent.granted is False and consent.channel == "message_reply"
        after = marketing(replier)
        assert after.status == MessageStatus.SUPPRESSED
        assert after.suppressed_reason == SuppressionReason.NO_MARKETING_CONSENT

    def test_it_confirms_in_the_message_answered_language(self, client, replier):
        sent_to(replier, purpose=Purpose.MARKETING, language="en")
        post(client, reply("STOP"))
        confirmation = OutboxMessage.objects.get(template="reply_unsubscribed")
        assert confirmation.purpose == Purpose.SERVICE and confirmation.status == MessageStatus.PENDING
        assert confirmation.body.startswith("Dear 张三, you have been unsubscribed")

    def test_the_confirmation_in_chinese(self, client, replier):
        post(client, reply("退订"))
        assert "已退订" in OutboxMessage.objects.get(template="reply_unsubscribed").body

    def test_it_is_recorded_in_the_audit_trail(self, client, replier):
        post(client, reply("TD"))
        entry = AuditEntry.objects.get(action="inbound_message.handle")
        assert entry.actor is None and entry.store_id == replier.store_id
        assert entry.changes["intent"] == "stop" and entry.changes["outcome"] == "unsubscribed"
        assert AuditEntry.objects.filter(action="consent.withdraw", object_id=str(replier.pk)).exists()


# --------------------------------------------------------------------------------------------------- book


class BookTests:
    @pytest.mark.parametrize("text", ["预约", "1", "１", "BOOK", "yy"])
    def test_book_enqueues_the_link_to_the_stores_booking_page(self, client, replier, text):
        response = post(client, reply(text))
        assert response.json()["intent"] == "book" and response.json()["outcome"] == ReplyOutcome.LINK_SENT
        link = OutboxMessage.objects.get(template="reply_booking_link")
        assert link.customer == replier and link.purpose == Purpose.SERVICE and link.channel == "sms"
        assert link.status == MessageStatus.PENDING
        assert "https://svc.example/book/SH01/?lang=zh-hans&plate=%E6%B2%AAA12345" in link.body
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True

    def test_the_link_opens_the_booking_page_with_the_plate_filled_in(self, client, replier):
        url = booking_link(store=replier.store, language="en", plate="沪A12345")
        response = client.get(url.removeprefix("https://svc.example"))
        assert response.status_code == 200
        assert 'value="沪A12345"' in response.content.decode()

    def test_with_several_cars_the_plate_of_the_latest_order(self, client, cast, replier):
        make_vehicle(replier, by=cast.alice, plate="沪B99999")
        service_services.walk_in_register(store=cast.store_a, by=cast.bob, service_type="repair", plate="沪B99999")
        post(client, reply("预约"))
        assert "plate=%E6%B2%AAB99999" in OutboxMessage.objects.get(template="reply_booking_link").body

    def test_with_several_cars_and_no_order_no_plate(self, client, cast, replier):
        make_vehicle(replier, by=cast.alice, plate="沪B99999")
        post(client, reply("预约"))
        assert "plate=" not in OutboxMessage.objects.get(template="reply_booking_link").body

    def test_the_link_is_sent_even_without_marketing_consent(self, client, replier):
        consent_set(customer=replier, purpose="marketing", granted=False, channel="desk", by=None)
        post(client, reply("预约"))
        assert OutboxMessage.objects.get(template="reply_booking_link").status == MessageStatus.PENDING


# -------------------------------------------------------------------------------------------------- later


class LaterTests:
    def test_later_postpones_the_reminder_answered(self, client, replier):
        reminders = pytest.importorskip("aftersales.reminders.models")
        pytest.importorskip("aftersales.reminders.services").reminder_snooze  # noqa: B018 - the hook must exist
        answered = sent_to(replier)
        today = answered.created_at.date()
        reminder = reminders.Reminder.objects.create(
            store=replier.store,
            customer=replier,
            vehicle=replier.vehicles.get(),
            kind="maintenance",
            due_key="2026-04",
            due_on=today + dt.timedelta(days=20),
            remind_on=today,
            state="sent",
            send_count=1,
            message=answered,
        )
        response = post(client, reply("稍后", in_reply_to=answered.pk))
        assert response.json()["intent"] == "later" and response.json()["outcome"] == ReplyOutcome.SNOOZED
        reminder.refresh_from_db()
        assert reminder.state == "snoozed" and reminder.snoozed_until is not None
        confirmation = OutboxMessage.objects.get(template="reply_snoozed")
        assert f"{SNOOZE_DAYS}天后" in confirmation.body

    @pytest.mark.parametrize("text", ["稍后", "2", "ＬＡＴＥＲ"])
    def test_without_a_reminder_the_advisor_is_told(self, client, cast, replier, text):
        sent_to(replier)  # a message that is no reminder
        response = post(client, reply(text))
        assert response.json()["intent"] == "later" and response.json()["outcome"] == ReplyOutcome.NOTED
        item = InboxItem.objects.get(kind="reply_later_noted")
        assert item.recipient == cast.mia  # no repair order: the store's manager
        assert not OutboxMessage.objects.filter(template="reply_snoozed").exists()


# -------------------------------------------------------------------------------------------------- other


class OtherTests:
    def test_other_lands_in_the_inbox_of_the_advisor_of_the_latest_order(self, client, cast, replier):
        make_vehicle(replier, by=cast.alice, plate="沪A54321")
        older = service_services.walk_in_register(
            store=cast.store_a, by=cast.bob, service_type="repair", plate="沪A54321"
        )
        RepairOrder.objects.filter(pk=older.pk).update(arrived_at=older.arrived_at - dt.timedelta(days=30))
        service_services.walk_in_register(store=cast.store_a, by=cast.alice, service_type="repair", plate="沪A12345")
        response = post(client, reply("明天上午可以来取车吗？"))
        assert response.json()["intent"] == "other" and response.json()["outcome"] == ReplyOutcome.FORWARDED
        item = InboxItem.objects.get(kind="reply_received")
        assert item.recipient == cast.alice and item.store == cast.store_a
        assert "明天上午可以来取车吗？" in item.text_zh_hans and "明天上午可以来取车吗？" in item.text_en
        assert "138****5678" in item.text_en and PHONE not in item.text_en
        assert item.url == f"/customers/{replier.pk}/"
        assert item.related_type == "messaging.inboundmessage"

    def test_an_advisor_who_left_the_store_is_passed_over_for_the_managers(self, client, cast, replier):
        service_services.walk_in_register(store=cast.store_a, by=cast.bob, service_type="repair", plate="沪A12345")
        Membership.objects.filter(user=cast.bob).delete()
        post(client, reply("你好"))
        assert list(InboxItem.objects.values_list("recipient__username", flat=True)) == ["mia"]

    def test_without_a_manager_the_stores_advisors_then_the_group_managers(self, client, cast, replier):
        post(client, reply("你好"))
        message = InboundMessage.objects.get()
        Membership.objects.filter(user=cast.mia).delete()
        store, people = reply_recipients(message, replier)
        assert store == cast.store_a and {u.username for u in people} == {"alice", "bob"}
        Membership.objects.filter(role=Role.ADVISOR).delete()
        assert [u.username for u in reply_recipients(message, replier)[1]] == ["grace"]

    def test_the_advisor_of_the_latest_order_at_another_store_of_the_group(self, client, cast, replier):
        """One file per customer in the group: the latest visit was at store B, so carol reads it there."""
        service_services.walk_in_register(store=cast.store_b, by=cast.carol, service_type="repair", plate="沪A12345")
        post(client, reply("你好"))
        item = InboxItem.objects.get()
        assert item.recipient == cast.carol and item.store == cast.store_b

    def test_a_customer_of_store_b_goes_to_store_bs_people(self, client, cast):
        person = make_customer(cast.store_b, by=cast.carol, phone="13900000002")
        make_user("hank", Role.MANAGER, store=cast.store_b)
        post(client, reply("请回电", sender="13900000002"))
        item = InboxItem.objects.get()
        assert item.recipient.username == "hank" and item.store == cast.store_b
        assert item.url == f"/customers/{person.pk}/"


# ---------------------------------------------------------------------------------------------- unmatched


class UnmatchedTests:
    def test_an_unknown_number_answering_our_message_goes_to_that_stores_managers(self, client, cast, replier):
        ours = sent_to(replier)
        response = post(client, reply("退订", sender="13900000099", in_reply_to=ours.pk))
        body = response.json()
        assert body["customer"] is None and body["in_reply_to"] == ours.pk
        assert body["outcome"] == ReplyOutcome.UNMATCHED_FORWARDED
        item = InboxItem.objects.get(kind="reply_unmatched")
        assert item.recipient == cast.mia and "139****0099" in item.text_en
        # Nobody's consent changed: the number is no customer's.
        assert Consent.objects.get(customer=replier, purpose="marketing").granted is True

    def test_an_unknown_number_without_a_message_is_only_stored(self, client, cast, replier):
        response = post(client, reply("你好", sender="13900000099"))
        assert response.status_code == 201
        assert response.json()["outcome"] == ReplyOutcome.UNMATCHED and response.json()["customer"] is None
        assert not InboxItem.objects.exists()
        stored = InboundMessage.objects.get()
        assert stored.store is None and stored.handled_at is not None and stored.intent == ReplyIntent.OTHER

    def test_a_number_on_several_files_with_nothing_sent_reaches_nobody(self, client, cast, replier):
        """Group A's and another group's files share the number and neither sent anything: the text must not land
        in either group's inbox (the other group is another handler of the person's data)."""
        other = make_customer(cast.store_c, by=cast.otto, name="张三", phone=PHONE)
        response = post(client, reply("你好"))
        assert response.status_code == 201
        body = response.json()
        assert body["customer"] is None and body["in_reply_to"] is None and body["outcome"] == ReplyOutcome.UNMATCHED
        assert not InboxItem.objects.exists() and InboundMessage.objects.get().store is None
        # A "stop" is unmatched too, yet withdraws marketing consent on both files (no confirmation: whose?).
        consent_set(customer=other, purpose="marketing", granted=True, channel="desk", by=cast.otto)
        response = post(client, reply("TD", message_id="m-2"))
        assert response.json()["outcome"] == ReplyOutcome.UNMATCHED and not InboxItem.objects.exists()
        assert set(Consent.objects.filter(purpose="marketing").values_list("customer_id", "granted")) == {
            (replier.pk, False),
            (other.pk, False),
        }
        assert not OutboxMessage.objects.filter(template="reply_unsubscribed").exists()

    def test_a_reply_to_group_a_stays_with_group_a(self, client, cast, replier):
        """Only group A sent: the reply is A's, the other group's newer file and staff see nothing of it."""
        other = make_customer(cast.store_c, by=cast.otto, name="张三", phone=PHONE)
        consent_set(customer=other, purpose="marketing", granted=True, channel="desk", by=cast.otto)
        ours = sent_to(replier)
        message_enqueue(  # queued for the other group, never sent: it does not count
            store=cast.store_c,
            template="maintenance_reminder",
            context=REMINDER_TEXT,
            customer=other,
            purpose=Purpose.SERVICE,
        )
        body = post(client, reply("你好")).json()
        assert body["customer"] == replier.pk and body["in_reply_to"] == ours.pk
        assert {item.recipient.pk for item in InboxItem.objects.all()} <= {
            m.user_id for m in Membership.objects.filter(store__group=cast.store_a.group)
        }
        assert InboxItem.objects.exists()


# -------------------------------------------------------------------------------------------------- reads


def test_replies_for_customer_lists_theirs_newest_first(client, cast, replier):
    post(client, reply("1", message_id="a"))
    post(client, reply("你好", message_id="b"))
    post(client, reply("x", message_id="c", sender="13900000099"))
    assert [m.gateway_message_id for m in replies_for_customer(replier)] == ["b", "a"]
