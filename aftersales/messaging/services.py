"""Writes for the outbox: queue a message (or an integration event: `webhook_enqueue`), deliver one, deliver every
due one.

Every message to a customer or a member of staff goes through `message_enqueue`; it renders the
text, checks consent and quiet hours, and hands delivery to `transaction.on_commit`, so a caller whose
transaction rolls back sends nothing.  Delivery claims a row with a conditional UPDATE (pending →
sending), so two workers never send the same message, and a rerun sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.customers import crypto
from aftersales.customers.choices import ConsentPurpose
from aftersales.customers.models import Consent, Customer
from aftersales.messaging import templates
from aftersales.messaging.backends import SendResult, get_backend
from aftersales.messaging.choices import Channel, Language, MessageStatus, Purpose, SuppressionReason
from aftersales.messaging.models import DeliveryAttempt, OutboxMessage, WebhookEndpoint
from aftersales.messaging.selectors import due_condition
from aftersales.messaging.transitions import can_move
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store

logger = logging.getLogger("aftersales.messaging")

# Minutes to wait after the 1st, 2nd, 3rd, 4th failed attempt; the 5th failure is final.
RETRY_BACKOFF_MINUTES: tuple[int, ...] = (1, 5, 30, 120)
MAX_ATTEMPTS = len(RETRY_BACKOFF_MINUTES) + 1
# How long a worker may hold a message in `sending` before another may take it over (a crashed worker);
# the setting AFTERSALES_OUTBOX_CLAIM_LEASE overrides it.
CLAIM_LEASE = dt.timedelta(minutes=10)

# Purposes that need the customer's consent, and the consent purpose that grants it.
CONSENT_FOR: dict[str, tuple[str, SuppressionReason]] = {
    Purpose.MARKETING: (ConsentPurpose.MARKETING, SuppressionReason.NO_MARKETING_CONSENT),
    Purpose.SURVEY: (ConsentPurpose.SURVEYS, SuppressionReason.NO_SURVEY_CONSENT),
}
# Purposes held back during the store's quiet hours (service notices and staff alerts go at any hour).
QUIET_HOURS_PURPOSES = frozenset({Purpose.MARKETING, Purpose.SURVEY})

UNKNOWN_PURPOSE = _("Unknown message purpose {purpose!r}.")
UNKNOWN_CHANNEL = _("Unknown message channel {channel!r}.")
UNKNOWN_LANGUAGE = _("Unknown message language {language!r}.")
STAFF_NEEDS_USER = _("A staff notification needs a staff recipient and no customer.")
CUSTOMER_NEEDS_CUSTOMER = _("A message of purpose {purpose!r} needs a customer and no staff recipient.")
CUSTOMER_OTHER_STORE = _("The customer belongs to another dealer group.")
DEDUPE_TOO_LONG = _("A de-duplication key has at most 128 characters.")
INTEGRATION_NEEDS_ENDPOINT = _("An integration event goes to a webhook endpoint (webhook_enqueue).")


# ---------------------------------------------------------------------------------------------- rules


def consent_missing(*, customer: Customer | None, purpose: str) -> SuppressionReason | None:
    """Why a message of `purpose` may not go to `customer` (None when it may)."""
    if purpose not in CONSENT_FOR or customer is None:
        return None
    consent_purpose, reason = CONSENT_FOR[purpose]
    granted = Consent.objects.filter(customer=customer, purpose=consent_purpose, granted=True).exists()
    return None if granted else reason


def quiet_hours_end(*, at: dt.datetime, start: int, end: int) -> dt.datetime | None:
    """When the quiet hours that include `at` end (store-local, China time), or None if `at` is outside them.

    Hours are whole o'clock values; start > end spans midnight (21 → 8), start == end means none.
    """
    local = timezone.localtime(at, timezone.get_default_timezone())
    hour = local.hour
    if start == end:
        return None
    inside = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return None
    candidate = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += dt.timedelta(days=1)
    return candidate


def _not_before(*, store: Store, purpose: str, at: dt.datetime) -> dt.datetime:
    """The earliest time a message of `purpose` may be sent at `store`, starting from `at`."""
    if purpose not in QUIET_HOURS_PURPOSES:
        return at
    values = setting_values_for_store(store)
    end = quiet_hours_end(at=at, start=int(values["quiet_hours_start"]), end=int(values["quiet_hours_end"]))
    return at if end is None else end


def _recipient_address(*, store: Store, customer: Customer | None, user: Any, channel: str) -> str:
    if channel == Channel.WECOM:
        # A store's group robot is addressed by its webhook URL (a secret: stored encrypted like any address).
        return "" if customer is not None else (store.wecom_webhook_url or "").strip()
    if customer is not None:
        # Customers have a mobile number only; SMS and WeChat gateways both address them by it.
        return customer.phone if channel in (Channel.SMS, Channel.WECHAT) else ""
    if channel == Channel.EMAIL:
        return (getattr(user, "email", "") or "").strip()
    return ""


# -------------------------------------------------------------------------------------------- enqueue


def message_enqueue(
    *,
    store: Store,
    template: str,
    context: Mapping[str, Any],
    customer: Customer | None = None,
    recipient_user: Any = None,
    purpose: str,
    channel: str | None = None,
    language: str = Language.ZH_HANS,
    dedupe_key: str = "",
    related: models.Model | None = None,
) -> OutboxMessage:
    """Queue one message and schedule its delivery after the caller's transaction commits.

    Returns the existing message when `dedupe_key` was used before.  A message that must not go
    (consent missing, no address) is stored with status `suppressed` and the reason, and never sent.
    Its one write, the insert, has its own atomic block (a savepoint inside the caller's transaction), so the
    function needs no block of its own around it: that cost two statements per message.
    """
    if purpose not in Purpose.values:
        raise ApplicationError(str(UNKNOWN_PURPOSE).format(purpose=purpose))
    if purpose == Purpose.INTEGRATION or channel == Channel.WEBHOOK:
        raise ApplicationError(str(INTEGRATION_NEEDS_ENDPOINT))
    if language not in Language.values:
        raise ApplicationError(str(UNKNOWN_LANGUAGE).format(language=language))
    if purpose == Purpose.STAFF:
        # A post to the store's WeCom group robot goes to the store's chat, not to one person.
        if customer is not None or (recipient_user is None and channel != Channel.WECOM):
            raise ApplicationError(str(STAFF_NEEDS_USER))
    else:
        if customer is None or recipient_user is not None:
            raise ApplicationError(str(CUSTOMER_NEEDS_CUSTOMER).format(purpose=purpose))
        if customer.group_id != store.group_id:  # the group is the handler: any of its stores may write
            raise ApplicationError(str(CUSTOMER_OTHER_STORE))
    if channel is None:
        channel = Channel.EMAIL if purpose == Purpose.STAFF else Channel.SMS
    if channel not in Channel.values:
        raise ApplicationError(str(UNKNOWN_CHANNEL).format(channel=channel))
    if len(dedupe_key) > 128:
        raise ApplicationError(str(DEDUPE_TOO_LONG))

    # A lazy value (a choice's label, gettext_lazy) reads in the message's language, not in the language of the
    # page whose action sent it; an error about the call stays in the page's language.
    with translation.override(language):
        context = {key: str(value) if isinstance(value, Promise) else value for key, value in context.items()}
    # Rendered before the de-duplication check, so a caller's missing value is an error every time.
    rendered = templates.render(
        template=template, language=language, context=context, marketing=purpose == Purpose.MARKETING
    )
    if dedupe_key:
        existing = _queued_under(dedupe_key)
        if existing is not None:
            return existing

    now = clock.now()
    address = _recipient_address(store=store, customer=customer, user=recipient_user, channel=channel)
    reason: SuppressionReason | None
    if recipient_user is not None and not recipient_user.is_active:
        reason = SuppressionReason.RECIPIENT_INACTIVE
    elif not address:
        reason = SuppressionReason.NO_ADDRESS
    else:
        reason = consent_missing(customer=customer, purpose=purpose)

    message = OutboxMessage(
        store=store,
        customer=customer,
        recipient_user=recipient_user,
        channel=channel,
        purpose=purpose,
        template=template,
        language=language,
        subject=rendered.subject[:200],
        body=rendered.body,
        recipient_encrypted=crypto.encrypt(address),
        status=MessageStatus.SUPPRESSED if reason else MessageStatus.PENDING,
        suppressed_reason=reason or "",
        next_attempt_at=None if reason else _not_before(store=store, purpose=purpose, at=now),
        dedupe_key=dedupe_key,
        related_type=related._meta.label_lower if related is not None else "",
        related_id=str(related.pk) if related is not None else "",
        created_at=now,
    )
    # The fields' own rules (lengths, choices) only: the referenced rows are in hand, the recipient rule and the
    # status were checked above, and the database keeps the constraints (the dedupe race is caught below).
    # Validating those in Python cost eleven statements per message, a third of a booking (docs/performance.md).
    message.full_clean(exclude=["store", "customer", "recipient_user"], validate_constraints=False)
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # A concurrent caller queued the same dedupe_key between our check and our insert.
        existing = _queued_under(dedupe_key) if dedupe_key else None
        if existing is None:
            raise
        return existing

    if message.status == MessageStatus.PENDING:
        message_id = message.pk
        transaction.on_commit(lambda: _deliver_after_commit(message_id))
    return message


def webhook_enqueue(
    *,
    store: Store,
    endpoint: WebhookEndpoint,
    event_id: str,
    event_type: str,
    body: str,
    dedupe_key: str,
    related: models.Model | None = None,
) -> OutboxMessage:
    """Queue one integration event for one endpoint (channel webhook, purpose integration): `body` is the JSON
    posted as it is and signed at each attempt.  No customer, no consent, no quiet hours; retries, the claim and
    the delivery log are the outbox's own.  Returns the existing message when `dedupe_key` was used before, so an
    event goes to an endpoint once.  Delivery is scheduled after the caller's transaction commits."""
    if not dedupe_key or len(dedupe_key) > 128:
        raise ApplicationError(str(DEDUPE_TOO_LONG))
    existing = _queued_under(dedupe_key)
    if existing is not None:
        return existing
    now = clock.now()
    message = OutboxMessage(
        store=store,
        endpoint=endpoint,
        channel=Channel.WEBHOOK,
        purpose=Purpose.INTEGRATION,
        template=event_type[:64],
        language=Language.EN,
        subject=event_id[:200],
        body=body,
        status=MessageStatus.PENDING,
        next_attempt_at=now,
        dedupe_key=dedupe_key,
        related_type=related._meta.label_lower if related is not None else "",
        related_id=str(related.pk) if related is not None else "",
        created_at=now,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        existing = _queued_under(dedupe_key)
        if existing is None:
            raise
        return existing
    message_id = message.pk
    transaction.on_commit(lambda: _deliver_after_commit(message_id))
    return message


def webhook_withdraw(*, endpoint: WebhookEndpoint) -> int:
    """Withdraw the endpoint's events still waiting (its subscription was paused): they are never sent.  A message
    being sent right now finishes its attempt; returns how many were withdrawn."""
    return OutboxMessage.objects.filter(endpoint=endpoint, status=MessageStatus.PENDING).update(
        status=MessageStatus.SUPPRESSED,
        suppressed_reason=SuppressionReason.WITHDRAWN,
        next_attempt_at=None,
        updated_at=clock.now(),
    )


def _queued_under(dedupe_key: str) -> OutboxMessage | None:
    """The message queued under a (non-empty) key.  Its unique index is partial (non-empty keys only), and SQLite
    uses a partial index only when the query repeats the index's condition: without the exclude, every message
    queued read the whole outbox (docs/performance.md)."""
    return OutboxMessage.objects.filter(dedupe_key=dedupe_key).exclude(dedupe_key="").first()


def _deliver_after_commit(message_id: int) -> None:
    """Hand the message to the job worker (a Huey task); without a queue configured, try at once in this
    process.  Whatever happens here, the `outbox_deliver_due` sweep picks up what is left, so a queue
    that is down or a worker that dies loses nothing: the row in the outbox is the state, not the task."""
    try:
        if getattr(settings, "HUEY", None):
            from aftersales.messaging.tasks import outbox_deliver_message  # tasks import services, not the reverse

            outbox_deliver_message(message_id)  # immediate mode (tests) delivers right here
        else:
            outbox_deliver(message_id=message_id)
    except Exception:
        logger.exception("outbox #%s: hand-off to the worker failed; the sweep will deliver it", message_id)


# -------------------------------------------------------------------------------------------- deliver


def _move(
    message_id: int, *, old: list[MessageStatus], new: MessageStatus, extra: Q | None = None, **fields: Any
) -> int:
    """Compare-and-set status change: rows still in one of `old` (and matching `extra`); 0 = lost the race."""
    if not all(can_move(status, new) for status in old):
        raise ValueError(f"outbox: no move from {old} to {new}")
    rows = OutboxMessage.objects.filter(pk=message_id, status__in=old)
    if extra is not None:
        rows = rows.filter(extra)
    return rows.update(status=new, updated_at=clock.now(), **fields)


def _retry_at(*, message: OutboxMessage, attempts: int, now: dt.datetime) -> dt.datetime:
    wait = dt.timedelta(minutes=RETRY_BACKOFF_MINUTES[min(attempts, len(RETRY_BACKOFF_MINUTES)) - 1])
    return _not_before(store=message.store, purpose=message.purpose, at=now + wait)


def outbox_deliver(*, message_id: int) -> bool:
    """Send one message if it is due and nobody else is sending it; True when this call sent it.

    Not one transaction on purpose: the claim commits before the backend is called (an HTTP call may
    take seconds and must not hold a database lock), and the outcome is written afterwards.
    """
    message = OutboxMessage.objects.select_related("store", "endpoint").filter(pk=message_id).first()
    if message is None or message.status not in (MessageStatus.PENDING, MessageStatus.SENDING):
        return False
    now = clock.now()
    due = due_condition(now)

    # Consent is checked again at the last moment: a withdrawal works at once, even for queued messages.
    reason = consent_missing(customer=message.customer, purpose=message.purpose)
    if reason is not None:
        _move(
            message_id,
            old=[MessageStatus.PENDING, MessageStatus.SENDING],
            new=MessageStatus.SUPPRESSED,
            extra=due,
            suppressed_reason=reason,
            next_attempt_at=None,
        )
        return False
    # Quiet hours are checked again too (a retry or a late worker may fall into them).
    not_before = _not_before(store=message.store, purpose=message.purpose, at=now)
    if not_before > now:
        OutboxMessage.objects.filter(due, pk=message_id).update(next_attempt_at=not_before, updated_at=now)
        return False

    claimed = _move(
        message_id,
        old=[MessageStatus.PENDING, MessageStatus.SENDING],
        new=MessageStatus.SENDING,
        extra=due,
        attempts=F("attempts") + 1,
        next_attempt_at=now + getattr(settings, "AFTERSALES_OUTBOX_CLAIM_LEASE", CLAIM_LEASE),
    )
    if not claimed:
        return False
    message.refresh_from_db()

    backend = get_backend(channel=message.channel)
    try:
        result = backend.send(message, recipient=message.recipient)
    except Exception as exc:  # a broken backend is a failed attempt, not a crashed sweep
        logger.exception("outbox #%s: backend %s raised", message_id, backend.name)
        result = SendResult(ok=False, detail=f"{type(exc).__name__}: {exc}")
    _record_outcome(message=message, backend_name=backend.name, result=result)
    return result.ok


@transaction.atomic
def _record_outcome(*, message: OutboxMessage, backend_name: str, result: SendResult) -> None:
    now = clock.now()
    detail = result.detail[:500]
    DeliveryAttempt.objects.create(
        message=message,
        at=now,
        backend=backend_name,
        ok=result.ok,
        detail=detail,
        status_code=getattr(result, "status_code", None),
    )
    if result.ok:
        _move(
            message.pk,
            old=[MessageStatus.SENDING],
            new=MessageStatus.SENT,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
        )
    elif result.permanent or message.attempts >= MAX_ATTEMPTS:
        _move(
            message.pk, old=[MessageStatus.SENDING], new=MessageStatus.FAILED, next_attempt_at=None, last_error=detail
        )
        logger.warning("outbox #%s failed after %s attempts: %s", message.pk, message.attempts, detail)
    else:
        _move(
            message.pk,
            old=[MessageStatus.SENDING],
            new=MessageStatus.PENDING,
            next_attempt_at=_retry_at(message=message, attempts=message.attempts, now=now),
            last_error=detail,
        )


def outbox_deliver_due(*, limit: int = 100) -> int:
    """Deliver up to `limit` due messages, oldest due first; returns how many were sent.  Safe to rerun."""
    now = clock.now()
    ids = list(
        OutboxMessage.objects.filter(due_condition(now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[: max(limit, 0)]
    )
    return sum(1 for message_id in ids if outbox_deliver(message_id=message_id))
