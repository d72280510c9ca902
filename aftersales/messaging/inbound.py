"""Two-way replies, the messaging half: what the SMS / WeChat gateway posts back to us.

Pure pieces (no database): the gateway's signature check (`signature_problem`, the scheme the outbound webhook
uses: `sha256=` + HMAC-SHA256 of `"<timestamp>.<raw body>"`) and the reading of a reply (`intent_classify`).
Writes: `inbound_receive` stores a reply once per (gateway, gateway's message id), matched to a customer by the
keyed hash of the sender's number and to the message it answers; `inbound_unsubscribe` honours "stop" at once.

What a reply then starts in the higher apps (a booking link, a reminder postponed, an advisor told) is
`campaigns.replies`: messaging sits on layer 3 and may not reach up to reminders, service or notifications.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.text import text_problem
from aftersales.customers import crypto
from aftersales.customers.choices import ConsentChannel, ConsentPurpose
from aftersales.customers.models import Customer
from aftersales.customers.services import consent_set
from aftersales.customers.validators import normalize_mobile
from aftersales.messaging import templates
from aftersales.messaging.backends import SIGNATURE_HEADER, TIMESTAMP_HEADER
from aftersales.messaging.choices import Channel, Language, MessageStatus, Purpose
from aftersales.messaging.models import InboundMessage, OutboxMessage, ReplyIntent, ReplyOutcome
from aftersales.messaging.services import message_enqueue

# A reply answers the customer's latest message sent on the same channel within this window.
REPLY_WINDOW = dt.timedelta(days=7)
# How far the gateway's timestamp header may be from our clock: a captured request replayed later is refused.
SIGNATURE_TOLERANCE = dt.timedelta(minutes=5)
# A gateway's clock may run a little ahead of ours; a reply "received" later than this is refused.
RECEIVED_AHEAD = dt.timedelta(minutes=5)
GATEWAY_MAX = 32
MESSAGE_ID_MAX = 128
TEXT_MAX = 2000
# The channels a customer can answer on (e-mail and the staff's WeCom robot are one-way).
REPLY_CHANNELS = (Channel.SMS, Channel.WECHAT)

# ------------------------------------------------------------------------------------------- signature


def gateway_secret() -> bytes:
    """AFTERSALES_GATEWAY_SECRET (the setting, else the environment variable); empty when not configured.

    Unlike the outbound webhook there is no fallback derived from SECRET_KEY: the gateway must be given the
    secret, so without one the endpoint refuses every request instead of trusting an unknown sender."""
    configured = getattr(settings, "AFTERSALES_GATEWAY_SECRET", None)
    if configured is None:
        configured = os.environ.get("AFTERSALES_GATEWAY_SECRET", "")
    return str(configured or "").strip().encode()


def gateway_signature(*, secret: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, the gateway's header value."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_problem(*, secret: bytes, body: bytes, timestamp: str, signature: str, now: dt.datetime) -> str | None:
    """Why the request must be refused (in words for the gateway's operator), or None when it is genuine and fresh.

    The timestamp is signed with the body, so changing it breaks the signature; checking it against our clock
    (±SIGNATURE_TOLERANCE) makes a captured request useless later.  Repeats inside the window are harmless:
    the gateway's message id makes them a no-op."""
    if not timestamp:
        return _("The {header} header is missing.").format(header=TIMESTAMP_HEADER)
    if not signature:
        return _("The {header} header is missing.").format(header=SIGNATURE_HEADER)
    expected = gateway_signature(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        return _("The signature does not match the body: check the shared secret (AFTERSALES_GATEWAY_SECRET).")
    if not timestamp.isdigit() or len(timestamp) > 12:
        return _("The {header} header must be a Unix time in seconds.").format(header=TIMESTAMP_HEADER)
    sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    if abs(now - sent) > SIGNATURE_TOLERANCE:
        return _(
            "The request's time stamp is more than {minutes} minutes from ours (a replay, or a wrong clock)."
        ).format(minutes=int(SIGNATURE_TOLERANCE.total_seconds() // 60))
    return None


# ------------------------------------------------------------------------------------------------ intent

# The words a reply is compared with, after `reply_normalise` (lower case, half width, no spaces or end marks).
# Chinese commercial SMS must honour "TD"/"T"/"退订"; the marketing footer asks for "TD" and "STOP".
STOP_WORDS = frozenset(
    {"退订", "td", "t", "取消", "退", "退订短信", "取消订阅", "stop", "unsubscribe", "unsub", "n", "qx", "0000"}
)
BOOK_WORDS = frozenset({"预约", "1", "book", "yy", "预约保养", "我要预约", "booking"})
LATER_WORDS = frozenset({"稍后", "2", "later", "sh", "晚点", "以后", "稍后提醒", "晚些", "remindmelater"})
# Opt-out words that count anywhere in a longer text ("请帮我退订，谢谢"): an opt-out must never be missed.
STOP_ANYWHERE = ("退订", "unsubscribe")

_SPACE = re.compile(r"\s+")
# Marks a reply may end or start with: "TD。", "【预约】", "'1'".
_EDGE_MARKS = ".,!?;:'\"`~-_()[]<>{}。，、！？；：“”‘’（）【】《》「」…·"


def reply_normalise(text: str) -> str:
    """The reply as the word lists are written: full-width forms folded (ＴＤ → td, １ → 1), lower case, no
    spaces inside, punctuation at either end dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub("", folded).strip(_EDGE_MARKS)


def intent_classify(text: str) -> ReplyIntent:
    """What the customer asks for: stop, book, later, or anything else (other)."""
    word = reply_normalise(text)
    if word in STOP_WORDS or any(marker in word for marker in STOP_ANYWHERE):
        return ReplyIntent.STOP
    if word in BOOK_WORDS:
        return ReplyIntent.BOOK
    if word in LATER_WORDS:
        return ReplyIntent.LATER
    return ReplyIntent.OTHER


# --------------------------------------------------------------------------------------------- templates

# The texts of the replies and of the staff alerts they raise.  They join the outbox's registry here, beside the
# feature, so that the registry's own file stays untouched while several apps grow at once.
REPLY_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "reply_unsubscribed": {
        "zh-hans": (
            "退订成功｜{store}",
            "{name}您好！您已退订{store}的关怀与营销消息，今后不再收到此类消息；预约、维修等服务通知不受影响。"
            "如需恢复，请联系门店。",
        ),
        "en": (
            "Unsubscribed – {store}",
            "Dear {name}, you have been unsubscribed from {store}'s care and marketing messages. Notices about "
            "your bookings and repairs still reach you. To subscribe again, tell the store.",
        ),
    },
    "reply_booking_link": {
        "zh-hans": ("在线预约｜{store}", "{name}您好！点击链接即可在线预约{store}的保养维修：{link}"),
        "en": ("Book online – {store}", "Dear {name}, book your visit to {store} here: {link}"),
    },
    "reply_snoozed": {
        "zh-hans": ("提醒已延后｜{store}", "{name}您好！好的，{store}将在{days}天后再提醒您。"),
        "en": ("Reminder postponed – {store}", "Dear {name}, fine: {store} will remind you again in {days} days."),
    },
    "reply_received": {
        "zh-hans": ("客户回复｜{customer}", "{store}：客户{customer}（{phone}）通过{channel}回复：“{text}”"),
        "en": (
            "Customer reply – {customer}",
            "{store}: the customer {customer} ({phone}) replied by {channel}: “{text}”",
        ),
    },
    "reply_later_noted": {
        "zh-hans": (
            "客户希望稍后联系｜{customer}",
            "{store}：客户{customer}（{phone}）回复“{text}”，希望稍后再联系；没有可自动延后的提醒，请安排跟进时间。",
        ),
        "en": (
            "Customer asks for later – {customer}",
            "{store}: the customer {customer} ({phone}) replied “{text}” and asks to be contacted later; there is "
            "no reminder to postpone automatically, so plan the next contact.",
        ),
    },
    "reply_unmatched": {
        "zh-hans": (
            "未知号码回复｜{store}",
            "{store}：号码{phone}（系统中没有此号码的客户）通过{channel}回复了门店发出的消息：“{text}”",
        ),
        "en": (
            "Reply from an unknown number – {store}",
            "{store}: the number {phone} (no customer has it) replied by {channel} to a message of the store: “{text}”",
        ),
    },
}
for _key, _texts in REPLY_TEMPLATES.items():
    templates.TEMPLATES.setdefault(_key, _texts)


def customer_language(message: InboundMessage) -> str:
    """The language to answer in: that of the message the customer answers, else Chinese."""
    answered = message.in_reply_to
    return answered.language if answered is not None else Language.ZH_HANS


# ---------------------------------------------------------------------------------------------- receive


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def text(self, field: str, value: Any, *, max_length: int, multiline: bool = False) -> str:
        if not isinstance(value, str):
            self.add(field, _("Enter text."))
            return ""
        problem = text_problem(value, multiline=multiline)
        if problem is not None:
            self.add(field, problem.messages[0])
            return ""
        value = unicodedata.normalize("NFC", value.strip())
        if not value:
            self.add(field, _("This field is required."))
        elif len(value) > max_length:
            self.add(field, _("At most {n} characters.").format(n=max_length))
        return value


def _clean(
    *, gateway: Any, message_id: Any, channel: Any, sender: Any, text: Any, received_at: Any, now: dt.datetime
) -> dict[str, Any]:
    """Every field checked, every problem named by the field the gateway sent (`from` for the sender)."""
    errors = _Errors()
    clean: dict[str, Any] = {
        "gateway": errors.text("gateway", gateway, max_length=GATEWAY_MAX),
        "gateway_message_id": errors.text("message_id", message_id, max_length=MESSAGE_ID_MAX),
        "text": errors.text("text", text, max_length=TEXT_MAX, multiline=True),
    }
    if channel not in REPLY_CHANNELS:
        errors.add("channel", _("Choose one of: {options}.").format(options=", ".join(REPLY_CHANNELS)))
    clean["channel"] = channel
    sender_text = errors.text("from", sender, max_length=32)
    if sender_text:
        try:
            clean["sender"] = normalize_mobile(sender_text)
        except ValidationError as exc:
            errors.add("from", exc.messages[0])
    if received_at is None:
        clean["received_at"] = now
    elif not isinstance(received_at, dt.datetime):
        errors.add("received_at", _("Enter a date and time (ISO 8601)."))
    else:
        if timezone.is_naive(received_at):
            received_at = timezone.make_aware(received_at)
        if received_at > now + RECEIVED_AHEAD:
            errors.add("received_at", _("The time received cannot be in the future."))
        clean["received_at"] = received_at
    if errors.by_field:
        raise ValidationError(errors.by_field)
    return clean


def _sent_within_window(*, channel: str, at: dt.datetime) -> Any:
    """Our messages actually sent on `channel` within REPLY_WINDOW before `at`: the only ones a reply can answer
    (a message still queued, suppressed or failed never reached the phone)."""
    return (
        OutboxMessage.objects.filter(
            channel=channel,
            status=MessageStatus.SENT,
            sent_at__gte=at - REPLY_WINDOW,
            sent_at__lte=at,
        )
        .exclude(purpose=Purpose.STAFF)
        .select_related("store", "customer")
        .order_by("-sent_at", "-id")
    )


def reply_match(
    *, sender_hash: str, channel: str, at: dt.datetime, named: OutboxMessage | None
) -> tuple[Customer | None, OutboxMessage | None]:
    """The customer file a reply belongs to and the message it answers.

    One number may be on several files: stores of one group, or other dealer groups on the same server (other
    PIPL handlers).  A reply must never reach a file the person was not written from, so:
    1. the message the gateway names, when it was sent to a file with this number;
    2. else the latest message actually sent on this channel within REPLY_WINDOW to any file with this number;
    3. else, only when exactly one file has the number, that file (nothing answered);
    4. else nobody: several files and nothing sent, the reply is stored unmatched.
    An unknown number keeps the named message, if any (only the gateway can say which store it answers)."""
    if named is not None and named.customer is not None and named.customer.phone_hash == sender_hash:
        return named.customer, named
    latest = _sent_within_window(channel=channel, at=at).filter(customer__phone_hash=sender_hash).first()
    if latest is not None:
        return latest.customer, latest
    files = list(Customer.objects.filter(phone_hash=sender_hash).select_related("store")[:2])
    if len(files) == 1:
        return files[0], None
    if files:
        return None, None  # ambiguous: routed nowhere, not even to the store of a named message
    return None, named


def inbound_receive(
    *,
    gateway: Any,
    message_id: Any,
    channel: Any,
    sender: Any,
    text: Any,
    received_at: Any = None,
    in_reply_to: int | None = None,
) -> tuple[InboundMessage, bool]:
    """Store one reply and classify it; `(message, True)` the first time, `(the first message, False)` for a
    repeat of the same (gateway, message id), which changes nothing.  Bad input raises ValidationError keyed by
    the gateway's field names and writes nothing.

    `in_reply_to` is the id of our outbox message when the gateway knows it (the outbound webhook sends it as
    X-Aftersales-Message-Id); otherwise the customer's latest message on the channel within REPLY_WINDOW."""
    now = clock.now()
    clean = _clean(
        gateway=gateway,
        message_id=message_id,
        channel=channel,
        sender=sender,
        text=text,
        received_at=received_at,
        now=now,
    )
    existing = _stored(clean["gateway"], clean["gateway_message_id"])
    if existing is not None:
        return existing, False

    sender_hash = crypto.search_hash("phone", clean["sender"])
    named = None
    if in_reply_to is not None:
        named = (
            OutboxMessage.objects.select_related("store", "customer")
            .exclude(purpose=Purpose.STAFF)
            .filter(pk=in_reply_to, status=MessageStatus.SENT)
            .first()
        )
    customer, answered = reply_match(
        sender_hash=sender_hash, channel=clean["channel"], at=clean["received_at"], named=named
    )
    # The store that wrote the message answered (a customer of the group may deal with several stores), else the
    # store where the customer's file was opened; for an unknown number, only a message answered names a store.
    store = answered.store if answered is not None else (customer.store if customer is not None else None)
    message = InboundMessage(
        store=store,
        gateway=clean["gateway"],
        gateway_message_id=clean["gateway_message_id"],
        channel=clean["channel"],
        sender_encrypted=crypto.encrypt(clean["sender"]),
        sender_hash=sender_hash,
        text=clean["text"],
        received_at=clean["received_at"],
        customer=customer,
        in_reply_to=answered,
        intent=intent_classify(clean["text"]),
        created_at=now,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # The same message arrived twice at once (a gateway's retry racing the first attempt).
        existing = _stored(message.gateway, message.gateway_message_id)
        if existing is None:
            raise
        return existing, False
    return message, True


def _stored(gateway: str, gateway_message_id: str) -> InboundMessage | None:
    return InboundMessage.objects.filter(gateway=gateway, gateway_message_id=gateway_message_id).first()


def inbound_claim(*, message: InboundMessage) -> bool:
    """Mark the reply as being handled; False when it already was (a second handler does nothing)."""
    now = clock.now()
    claimed = InboundMessage.objects.filter(pk=message.pk, handled_at__isnull=True).update(
        handled_at=now, updated_at=now
    )
    if claimed:
        message.handled_at = now
    return bool(claimed)


def inbound_outcome_set(*, message: InboundMessage, outcome: ReplyOutcome) -> InboundMessage:
    InboundMessage.objects.filter(pk=message.pk).update(outcome=outcome, updated_at=clock.now())
    message.outcome = outcome
    return message


# ------------------------------------------------------------------------------------------------- stop


def inbound_withdraw(*, message: InboundMessage) -> int:
    """Withdraw marketing consent on EVERY customer file with the reply's number, matched or not: the person
    asked to stop, and the file we matched may not be the only one that writes to them (another store or another
    dealer group).  Over-protective on purpose.  Each withdrawal is recorded through `consent_set` (consent event
    and audit) with the channel "message reply"; the number of files is returned."""
    files = list(Customer.objects.filter(phone_hash=message.sender_hash).order_by("pk"))
    for customer in files:
        consent_set(
            customer=customer,
            purpose=ConsentPurpose.MARKETING,
            granted=False,
            channel=ConsentChannel.MESSAGE_REPLY,
            by=None,
        )
    return len(files)


def inbound_unsubscribe(*, message: InboundMessage) -> ReplyOutcome:
    """ "Stop": marketing consent is withdrawn at once on every file with the sender's number (`inbound_withdraw`),
    so the outbox suppresses every marketing message queued from now on and every one still waiting (it checks
    consent again before sending); a "stop" answering a survey invitation withdraws the matched customer's survey
    consent too.  A service notice confirms it to the matched customer."""
    customer = message.customer
    if customer is None:
        raise ValueError("inbound_unsubscribe needs a matched customer")
    inbound_withdraw(message=message)
    answered = message.in_reply_to
    if answered is not None and answered.purpose == Purpose.SURVEY:
        consent_set(
            customer=customer,
            purpose=ConsentPurpose.SURVEYS,
            granted=False,
            channel=ConsentChannel.MESSAGE_REPLY,
            by=None,
        )
    store = message.store or customer.store
    message_enqueue(
        store=store,
        template="reply_unsubscribed",
        context={"name": customer.name, "store": store.name},
        customer=customer,
        purpose=Purpose.SERVICE,
        channel=message.channel,
        language=customer_language(message),
        dedupe_key=f"inbound:{message.pk}:unsubscribed",
        related=message,
    )
    return ReplyOutcome.UNSUBSCRIBED


# -------------------------------------------------------------------------------------------------- reads


def inbound_list_for_customer(*, customer: Customer, limit: int = 20) -> list[InboundMessage]:
    """The customer's latest replies, newest first (for the profile); the caller has already scoped the customer."""
    return list(
        InboundMessage.objects.filter(customer=customer)
        .select_related("in_reply_to")
        .order_by("-received_at", "-id")[:limit]
    )
