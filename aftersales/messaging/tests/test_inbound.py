"""Two-way replies, the messaging half: the gateway's signature, the reading of a reply, storing it once,
matching the sender and the message answered, and "stop" honoured before the next send."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from aftersales.config.testing import make_customer
from aftersales.core.models import AuditEntry
from aftersales.customers import crypto
from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Consent, ConsentEvent
from aftersales.customers.services import consent_set
from aftersales.messaging.choices import MessageStatus, Purpose, SuppressionReason
from aftersales.messaging.inbound import (
    gateway_secret,
    gateway_signature,
    inbound_claim,
    inbound_list_for_customer,
    inbound_receive,
    inbound_unsubscribe,
    intent_classify,
    reply_normalise,
    signature_problem,
)
from aftersales.messaging.models import InboundMessage, OutboxMessage, ReplyIntent, ReplyOutcome
from aftersales.messaging.services import message_enqueue, outbox_deliver
from aftersales.messaging.templates import TEMPLATES

from .conftest import MAINTENANCE, shanghai

pytestmark = pytest.mark.django_db

SECRET = b"gateway-test-secret"
NOW = shanghai(2026, 3, 2, 10, 0)


def _signed(body: bytes, at: dt.datetime, secret: bytes = SECRET) -> tuple[str, str]:
    timestamp = str(int(at.timestamp()))
    return timestamp, gateway_signature(secret=secret, timestamp=timestamp, body=body)


def _sent(message: OutboxMessage, at: dt.datetime) -> OutboxMessage:
    """What the outbox records once the backend took the message."""
    OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, sent_at=at)
    message.refresh_from_db()
    return message


def _reminder_to(customer, *, at: dt.datetime, channel: str = "sms") -> OutboxMessage:
    message = message_enqueue(
        store=customer.store,
        template="maintenance_reminder",
        context=MAINTENANCE,
        customer=customer,
        purpose=Purpose.SERVICE,
        channel=channel,
    )
    return _sent(message, at)


def _receive(text: str = "TD", *, sender: str = "13812345678", message_id: str = "m-1", **fields):
    fields.setdefault("gateway", "gw")
    fields.setdefault("channel", "sms")
    return inbound_receive(message_id=message_id, sender=sender, text=text, **fields)


# ---------------------------------------------------------------------------------------------- signature


class SignatureTests:
    BODY = b'{"gateway":"gw","message_id":"m-1","channel":"sms","from":"13812345678","text":"TD"}'

    def test_a_genuine_fresh_request_passes(self):
        timestamp, signature = _signed(self.BODY, NOW)
        assert signature.startswith("sha256=") and len(signature) == 7 + 64
        assert (
            signature_problem(secret=SECRET, body=self.BODY, timestamp=timestamp, signature=signature, now=NOW) is None
        )

    def test_upper_case_hex_is_the_same_signature(self):
        timestamp, signature = _signed(self.BODY, NOW)
        assert (
            signature_problem(secret=SECRET, body=self.BODY, timestamp=timestamp, signature=signature.upper(), now=NOW)
            is None
        )

    @pytest.mark.parametrize(
        "change",
        ["body", "timestamp", "secret"],
    )
    def test_a_changed_body_time_or_secret_breaks_it(self, change):
        timestamp, signature = _signed(self.BODY, NOW, secret=b"another" if change == "secret" else SECRET)
        body = self.BODY.replace(b"TD", b"1") if change == "body" else self.BODY
        if change == "timestamp":
            timestamp = str(int(timestamp) + 1)
        problem = signature_problem(secret=SECRET, body=body, timestamp=timestamp, signature=signature, now=NOW)
        assert problem is not None and "signature does not match" in problem

    def test_missing_headers_are_named(self):
        timestamp, signature = _signed(self.BODY, NOW)
        assert "X-Aftersales-Timestamp" in signature_problem(
            secret=SECRET, body=self.BODY, timestamp="", signature=signature, now=NOW
        )
        assert "X-Aftersales-Signature" in signature_problem(
            secret=SECRET, body=self.BODY, timestamp=timestamp, signature="", now=NOW
        )

    @pytest.mark.parametrize(("minutes", "ok"), [(-6, False), (-5, True), (0, True), (5, True), (6, False)])
    def test_the_time_stamp_must_be_within_five_minutes(self, minutes, ok):
        timestamp, signature = _signed(self.BODY, NOW + dt.timedelta(minutes=minutes))
        problem = signature_problem(secret=SECRET, body=self.BODY, timestamp=timestamp, signature=signature, now=NOW)
        assert (problem is None) is ok
        if not ok:
            assert "replay" in problem

    def test_a_signed_time_stamp_that_is_not_a_number_is_refused(self):
        signature = gateway_signature(secret=SECRET, timestamp="soon", body=self.BODY)
        problem = signature_problem(secret=SECRET, body=self.BODY, timestamp="soon", signature=signature, now=NOW)
        assert problem is not None and "Unix time" in problem

    def test_the_secret_comes_from_the_setting_else_the_environment(self, settings, monkeypatch):
        settings.AFTERSALES_GATEWAY_SECRET = " from-settings "
        assert gateway_secret() == b"from-settings"
        settings.AFTERSALES_GATEWAY_SECRET = ""
        assert gateway_secret() == b""  # configured empty: switched off
        del settings.AFTERSALES_GATEWAY_SECRET
        monkeypatch.setenv("AFTERSALES_GATEWAY_SECRET", "from-env")
        assert gateway_secret() == b"from-env"


# ------------------------------------------------------------------------------------------------- intent


class IntentTests:
    @pytest.mark.parametrize(
        "text",
        [
            "退订",
            "TD",
            "td",
            " T ",
            "Ｔ Ｄ",
            "ＴＤ",
            "取消",
            "STOP",
            "Stop.",
            "unsubscribe",
            "退订。",
            "【退订】",
            "请帮我退订，谢谢",
        ],
    )
    def test_stop(self, text):
        assert intent_classify(text) == ReplyIntent.STOP

    @pytest.mark.parametrize("text", ["预约", "1", "１", " 1 ", "BOOK", "book!", "YY", "ｙｙ", "预约。"])
    def test_book(self, text):
        assert intent_classify(text) == ReplyIntent.BOOK

    @pytest.mark.parametrize("text", ["稍后", "2", "２", "LATER", "later", "稍后！"])
    def test_later(self, text):
        assert intent_classify(text) == ReplyIntent.LATER

    @pytest.mark.parametrize("text", ["你好", "12", "明天上午可以吗？", "booked already", "3", "T1", "取消预约"])
    def test_anything_else_is_other(self, text):
        assert intent_classify(text) == ReplyIntent.OTHER

    def test_normalising_folds_width_and_case_and_drops_spaces_and_end_marks(self):
        assert reply_normalise("  Ｕｎｓｕｂ　ｓｃｒｉｂｅ！ ") == "unsubscribe"


# ------------------------------------------------------------------------------------------------ receive


class ReceiveTests:
    def test_it_stores_the_reply_encrypted_matched_and_classified(self, cast):
        customer = make_customer(cast.store_a, name="张三", phone="13812345678")
        with time_machine.travel(NOW, tick=False):
            message, created = _receive("退订", sender="+86 138 1234 5678")
        assert created
        stored = InboundMessage.objects.get()
        assert stored.customer == customer and stored.store == cast.store_a
        assert stored.intent == ReplyIntent.STOP and stored.outcome == "" and stored.handled_at is None
        assert stored.received_at == NOW
        assert "13812345678" not in stored.sender_encrypted and stored.sender == "13812345678"
        assert stored.sender_hash == crypto.search_hash("phone", "13812345678") == customer.phone_hash

    def test_a_repeat_of_the_same_gateway_message_stores_nothing_again(self, cast):
        make_customer(cast.store_a, phone="13812345678")
        first, created = _receive("1")
        again, created_again = _receive("1")
        assert created and not created_again
        assert again.pk == first.pk and InboundMessage.objects.count() == 1
        # The id is unique per gateway only.
        _other, created_other = _receive("1", gateway="another")
        assert created_other and InboundMessage.objects.count() == 2

    def test_the_database_refuses_a_second_row_for_one_gateway_message(self, cast):
        message, _created = _receive("1")
        with pytest.raises(Exception):  # noqa: B017, PT011 - IntegrityError, whichever database
            InboundMessage.objects.create(
                gateway=message.gateway,
                gateway_message_id=message.gateway_message_id,
                channel="sms",
                sender_encrypted="x",
                sender_hash="x",
                text="1",
                received_at=NOW,
                intent=ReplyIntent.BOOK,
            )

    def test_an_unknown_number_is_stored_unmatched(self, cast):
        message, created = _receive("你好", sender="13900000000")
        assert created and message.customer is None and message.store is None and message.in_reply_to is None

    def test_of_several_customers_with_the_number_the_one_we_last_sent_to_on_the_channel_is_matched(self, cast):
        """The number is unique in a dealer group, not across groups (one server may host several)."""
        ours = make_customer(cast.store_a, name="甲", phone="13812345678")
        theirs = make_customer(cast.store_c, name="丙", phone="13812345678")  # another group, newer record
        _reminder_to(ours, at=NOW - dt.timedelta(days=2))
        _reminder_to(theirs, at=NOW - dt.timedelta(days=1), channel="wechat")  # newer, but another channel
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2")
        assert message.customer == ours and message.store == cast.store_a and message.in_reply_to is not None
        # Their later SMS is the one answered now.
        latest = _reminder_to(theirs, at=NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2", message_id="m-2")
        assert message.customer == theirs and message.store == cast.store_c and message.in_reply_to == latest

    @pytest.mark.parametrize("status", [MessageStatus.SUPPRESSED, MessageStatus.PENDING, MessageStatus.FAILED])
    def test_a_message_not_actually_sent_does_not_count(self, cast, status):
        ours = make_customer(cast.store_a, name="甲", phone="13812345678")
        theirs = make_customer(cast.store_c, name="丙", phone="13812345678")
        _reminder_to(ours, at=NOW - dt.timedelta(days=2))
        # Group B's newer message never reached the phone (suppressed, still queued, failed).
        unsent = message_enqueue(
            store=cast.store_c,
            template="maintenance_reminder",
            context=MAINTENANCE,
            customer=theirs,
            purpose=Purpose.SERVICE,
        )
        OutboxMessage.objects.filter(pk=unsent.pk).update(status=status, sent_at=NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("你好")
        assert message.customer == ours and message.store == cast.store_a
        # Even when the gateway names it.
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("你好", message_id="m-2", in_reply_to=unsent.pk)
        assert message.customer == ours and message.store == cast.store_a

    def test_two_groups_files_and_only_group_a_sent_the_reply_is_group_as(self, cast):
        ours = make_customer(cast.store_a, name="甲", phone="13812345678")
        make_customer(cast.store_c, name="丙", phone="13812345678")  # newer record, never written to
        sent = _reminder_to(ours, at=NOW - dt.timedelta(days=3))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("你好")
        assert (message.customer, message.store, message.in_reply_to) == (ours, cast.store_a, sent)

    def test_a_named_message_wins_when_sent_to_a_file_with_the_number(self, cast):
        ours = make_customer(cast.store_a, name="甲", phone="13812345678")
        theirs = make_customer(cast.store_c, name="丙", phone="13812345678")
        named = _reminder_to(ours, at=NOW - dt.timedelta(days=3))
        _reminder_to(theirs, at=NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2", in_reply_to=named.pk)
        assert (message.customer, message.in_reply_to) == (ours, named)

    def test_several_files_and_nothing_sent_is_stored_unmatched(self, cast):
        make_customer(cast.store_a, name="甲", phone="13812345678")
        theirs = make_customer(cast.store_c, name="丙", phone="13812345678")
        # Only a message outside the window, and one naming a stranger's message: neither tells them apart.
        _reminder_to(theirs, at=NOW - dt.timedelta(days=8))
        stranger = _reminder_to(make_customer(cast.store_b, phone="13900000001"), at=NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("你好", in_reply_to=stranger.pk)
        assert message.customer is None and message.store is None and message.in_reply_to is None
        # One file only: it is that file's, even with nothing sent.
        only = make_customer(cast.store_c, phone="13700000007")
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("你好", sender="13700000007", message_id="m-2")
        assert (message.customer, message.store, message.in_reply_to) == (only, cast.store_c, None)

    def test_the_reply_belongs_to_the_store_that_wrote_the_message_answered(self, cast):
        customer = make_customer(cast.store_a, phone="13812345678")  # file opened at A, written to by B
        answered = message_enqueue(
            store=cast.store_b,
            template="maintenance_reminder",
            context=MAINTENANCE,
            customer=customer,
            purpose=Purpose.SERVICE,
        )
        _sent(answered, NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("TD")
        assert message.in_reply_to == answered and message.store == cast.store_b
        inbound_unsubscribe(message=message)
        assert OutboxMessage.objects.get(template="reply_unsubscribed").store == cast.store_b

    def test_it_answers_the_customers_latest_message_on_the_channel_within_seven_days(self, cast):
        customer = make_customer(cast.store_a, phone="13812345678")
        too_old = _reminder_to(customer, at=NOW - dt.timedelta(days=8))
        latest = _reminder_to(customer, at=NOW - dt.timedelta(days=2))
        _reminder_to(customer, at=NOW - dt.timedelta(days=1), channel="wechat")
        unsent = message_enqueue(
            store=cast.store_a,
            template="maintenance_reminder",
            context=MAINTENANCE,
            customer=customer,
            purpose=Purpose.SERVICE,
        )
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2")
        assert message.in_reply_to == latest
        assert {too_old.pk, unsent.pk}.isdisjoint({message.in_reply_to_id})
        OutboxMessage.objects.filter(pk=latest.pk).update(sent_at=NOW - dt.timedelta(days=8))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2", message_id="m-2")
        assert message.in_reply_to is None

    def test_the_gateway_may_name_the_message_answered(self, cast):
        customer = make_customer(cast.store_a, phone="13812345678")
        named = _reminder_to(customer, at=NOW - dt.timedelta(days=20))  # outside the window: the gateway knows
        _reminder_to(customer, at=NOW - dt.timedelta(days=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2", in_reply_to=named.pk)
        assert message.in_reply_to == named

    def test_a_named_message_of_another_customer_is_not_trusted(self, cast):
        customer = make_customer(cast.store_a, phone="13812345678")
        stranger = make_customer(cast.store_b, phone="13900000001")
        theirs = _reminder_to(stranger, at=NOW - dt.timedelta(days=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("2", in_reply_to=theirs.pk)
        assert message.customer == customer and message.in_reply_to is None and message.store == cast.store_a

    def test_an_unknown_number_answering_a_named_message_belongs_to_that_store(self, cast):
        customer = make_customer(cast.store_b, phone="13812345678")
        ours = _reminder_to(customer, at=NOW - dt.timedelta(days=1))
        message, _created = _receive("你好", sender="13900000000", in_reply_to=ours.pk)
        assert message.customer is None and message.in_reply_to == ours and message.store == cast.store_b

    @pytest.mark.parametrize(
        ("field", "fields"),
        [
            ("gateway", {"gateway": ""}),
            ("gateway", {"gateway": "g" * 33}),
            ("message_id", {"message_id": " "}),
            ("channel", {"channel": "email"}),
            ("from", {"sender": "12345"}),
            ("from", {"sender": None}),
            ("text", {"text": ""}),
            ("text", {"text": "x\x00y"}),
            ("text", {"text": "长" * 2001}),
            ("received_at", {"received_at": "yesterday"}),
            ("received_at", {"received_at": NOW + dt.timedelta(hours=1)}),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, cast, field, fields):
        base = {"gateway": "gw", "message_id": "m-1", "channel": "sms", "sender": "13812345678", "text": "TD"}
        with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as caught:
            inbound_receive(**{**base, **fields})
        assert set(caught.value.message_dict) == {field}
        assert not InboundMessage.objects.exists()

    def test_a_second_claim_does_nothing(self, cast):
        message, _created = _receive("你好")
        assert inbound_claim(message=message) is True
        assert inbound_claim(message=message) is False

    def test_the_customers_replies_newest_first(self, cast):
        customer = make_customer(cast.store_a, phone="13812345678")
        for minute, text in enumerate(["1", "2", "你好"]):
            with time_machine.travel(NOW + dt.timedelta(minutes=minute), tick=False):
                _receive(text, message_id=f"m-{minute}")
        _receive("x", sender="13900000000", message_id="someone-else")
        assert [m.text for m in inbound_list_for_customer(customer=customer)] == ["你好", "2", "1"]


# --------------------------------------------------------------------------------------------------- stop


class UnsubscribeTests:
    @pytest.fixture
    def fan(self, cast):
        customer = make_customer(cast.store_a, name="张三", phone="13812345678")
        consent_set(customer=customer, purpose="marketing", granted=True, channel="desk", by=cast.alice)
        consent_set(customer=customer, purpose="surveys", granted=True, channel="desk", by=cast.alice)
        return customer

    def _marketing(self, customer) -> OutboxMessage:
        return message_enqueue(
            store=customer.store,
            template="maintenance_reminder",
            context=MAINTENANCE,
            customer=customer,
            purpose=Purpose.MARKETING,
        )

    def test_stop_withdraws_marketing_consent_before_the_next_send(self, cast, fan):
        waiting = self._marketing(fan)
        assert waiting.status == MessageStatus.PENDING
        message, _created = _receive("退订")
        assert inbound_unsubscribe(message=message) == ReplyOutcome.UNSUBSCRIBED

        consent = Consent.objects.get(customer=fan, purpose="marketing")
        assert consent.granted is False and consent.channel == ConsentChannel.MESSAGE_REPLY
        assert ConsentEvent.objects.filter(customer=fan, purpose="marketing", granted=False).count() == 1
        assert AuditEntry.objects.filter(action="consent.withdraw", object_id=str(fan.pk)).exists()
        # Queued afterwards: suppressed at once.  Queued before: suppressed when the worker comes to it.
        after = self._marketing(fan)
        assert (after.status, after.suppressed_reason) == (
            MessageStatus.SUPPRESSED,
            SuppressionReason.NO_MARKETING_CONSENT,
        )
        OutboxMessage.objects.filter(pk=waiting.pk).update(next_attempt_at=NOW - dt.timedelta(days=3650))
        assert outbox_deliver(message_id=waiting.pk) is False
        waiting.refresh_from_db()
        assert waiting.status == MessageStatus.SUPPRESSED
        # Survey consent stays: the reply did not answer a survey.
        assert Consent.objects.get(customer=fan, purpose="surveys").granted is True

    def test_stop_withdraws_marketing_consent_on_every_file_with_the_number(self, cast, fan):
        """Matched to group A's file, the stop still reaches group B's file of the same number (a number is unique
        within a group only): the person asked to stop, whoever writes to them."""
        other_group = make_customer(cast.store_c, name="张三", phone="13812345678")
        stranger = make_customer(cast.store_c, name="李四", phone="13900000001")
        for customer in (other_group, stranger):
            consent_set(customer=customer, purpose="marketing", granted=True, channel="desk", by=None)
        answered = _reminder_to(fan, at=NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("TD")
        assert message.customer == fan and message.in_reply_to == answered
        inbound_unsubscribe(message=message)
        for customer in (fan, other_group):
            consent = Consent.objects.get(customer=customer, purpose="marketing")
            assert consent.granted is False and consent.channel == ConsentChannel.MESSAGE_REPLY
            assert ConsentEvent.objects.filter(customer=customer, purpose="marketing", granted=False).count() == 1
        assert Consent.objects.get(customer=stranger, purpose="marketing").granted is True
        # One confirmation, to the file matched.
        assert list(OutboxMessage.objects.filter(template="reply_unsubscribed").values_list("customer", flat=True)) == [
            fan.pk
        ]

    def test_it_confirms_with_a_service_notice_on_the_same_channel(self, cast, fan):
        message, _created = _receive("STOP", channel="wechat")
        inbound_unsubscribe(message=message)
        confirmation = OutboxMessage.objects.get(template="reply_unsubscribed")
        assert confirmation.customer == fan and confirmation.purpose == Purpose.SERVICE
        assert confirmation.channel == "wechat" and confirmation.status == MessageStatus.PENDING
        assert confirmation.body.startswith("张三您好！您已退订上海店的关怀与营销消息")
        assert confirmation.related_type == "messaging.inboundmessage" and confirmation.related_id == str(message.pk)

    def test_the_confirmation_is_in_the_language_of_the_message_answered(self, cast, fan):
        answered = message_enqueue(
            store=cast.store_a,
            template="maintenance_reminder",
            context=MAINTENANCE,
            customer=fan,
            purpose=Purpose.MARKETING,
            language="en",
        )
        _sent(answered, NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("STOP")
        assert message.in_reply_to == answered
        inbound_unsubscribe(message=message)
        confirmation = OutboxMessage.objects.get(template="reply_unsubscribed")
        assert confirmation.body.startswith("Dear 张三, you have been unsubscribed")

    def test_stop_answering_a_survey_withdraws_the_survey_consent_too(self, cast, fan):
        survey = message_enqueue(
            store=cast.store_a,
            template="survey_invitation",
            context={"name": "张三", "store": "上海店", "link": "https://x/s"},
            customer=fan,
            purpose=Purpose.SURVEY,
        )
        _sent(survey, NOW - dt.timedelta(hours=1))
        with time_machine.travel(NOW, tick=False):
            message, _created = _receive("TD")
        inbound_unsubscribe(message=message)
        assert set(Consent.objects.filter(customer=fan).values_list("purpose", "granted")) == {
            ("marketing", False),
            ("surveys", False),
        }


def test_the_reply_templates_join_the_outbox_registry_in_both_languages():
    for key in ("reply_unsubscribed", "reply_booking_link", "reply_snoozed", "reply_received", "reply_unmatched"):
        assert set(TEMPLATES[key]) == {"zh-hans", "en"}
