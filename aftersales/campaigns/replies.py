"""Two-way replies, the routing half: what a customer's answer to one of our messages starts.

`messaging.inbound` stores the reply (once per gateway message), matches the sender and reads the intent; it
sits on layer 3.  What the intent asks for needs the apps above it, so it is decided here (layer 6), in the
same transaction as the storing (`reply_receive`), synchronously, so "stop" is honoured before the next send:

* stop  — marketing consent withdrawn at once, a confirmation sent (`messaging.inbound.inbound_unsubscribe`);
* book  — a link to the online booking page of the customer's store;
* later — the reminder the reply answers is postponed by SNOOZE_DAYS (`reminders.services.reminder_snooze`);
  without one, the advisor is told;
* other — the text lands in the inbox of the customer's advisor (of the latest repair order), else the store's
  managers, else its advisors, else the group's managers;
* an unknown number — the store managers' inbox, when we know which store's message it answers; else stored only;
* a number on several files with no message sent to tell them apart — stored only (a "stop" still withdraws
  marketing consent on every one of them).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.http import urlencode

from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.customers.models import Customer
from aftersales.messaging.backends import mask_address
from aftersales.messaging.choices import Channel, Purpose
from aftersales.messaging.inbound import (
    customer_language,
    inbound_claim,
    inbound_list_for_customer,
    inbound_outcome_set,
    inbound_receive,
    inbound_unsubscribe,
    inbound_withdraw,
)
from aftersales.messaging.models import InboundMessage, OutboxMessage, ReplyIntent, ReplyOutcome
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.rules import Party
from aftersales.service.models import RepairOrder

logger = logging.getLogger("aftersales.campaigns")

# "Later" postpones the reminder by this many days.
SNOOZE_DAYS = 7
# Customer text quoted in a staff alert is cut here (the whole text stays on the stored reply).
QUOTE_MAX = 300


@transaction.atomic
def reply_receive(
    *,
    gateway: Any,
    message_id: Any,
    channel: Any,
    sender: Any,
    text: Any,
    received_at: Any = None,
    in_reply_to: int | None = None,
) -> tuple[InboundMessage, bool]:
    """Store a reply from the gateway and act on it, all or nothing.  A repeat of the same (gateway, message id)
    returns the first reply as it was handled and does nothing again: `(reply, False)`."""
    message, created = inbound_receive(
        gateway=gateway,
        message_id=message_id,
        channel=channel,
        sender=sender,
        text=text,
        received_at=received_at,
        in_reply_to=in_reply_to,
    )
    if created:
        reply_handle(message=message)
    return message, created


def reply_handle(*, message: InboundMessage) -> InboundMessage:
    """Do what the reply asks, once (a second call finds it claimed and does nothing)."""
    if not inbound_claim(message=message):
        return message
    if message.customer is None:
        if message.intent == ReplyIntent.STOP:
            # Several files with the number and nothing sent to tell them apart: the stop still counts on all.
            inbound_withdraw(message=message)
        outcome = _unmatched(message)
    elif message.intent == ReplyIntent.STOP:
        outcome = inbound_unsubscribe(message=message)
    elif message.intent == ReplyIntent.BOOK:
        outcome = _send_booking_link(message, message.customer)
    elif message.intent == ReplyIntent.LATER:
        outcome = _snooze(message, message.customer)
    else:
        outcome = _forward(message, message.customer, template="reply_received")
    inbound_outcome_set(message=message, outcome=outcome)
    audit_record(
        actor=None,
        action="inbound_message.handle",
        obj=message,
        changes={"intent": message.intent, "outcome": outcome, "customer": message.customer_id},
    )
    return message


# ------------------------------------------------------------------------------------------------- book


def booking_link(*, store: Store, language: str, plate: str = "") -> str:
    """The store's online booking page (service:customer-book), absolute, in the customer's language, with the
    car's plate prefilled when we know which car (the page reads `?plate=`)."""
    path = reverse("service:customer-book", args=[store.code])
    query = urlencode({"lang": language, **({"plate": plate} if plate else {})})
    return f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}?{query}"


def plate_for_booking(message: InboundMessage, customer: Customer) -> str:
    """Which car the customer means: the one of the reminder answered; else their only car with a plate; else the
    car of their latest repair order; else none (the customer types it)."""
    found = _reminders()
    reminder = _reminder_answered(found[0], message.in_reply_to) if found is not None else None
    if reminder is not None and reminder.vehicle_id is not None and reminder.vehicle.plate:
        return str(reminder.vehicle.plate)
    plates = list(customer.vehicles.exclude(plate="").values_list("plate", flat=True)[:2])
    if len(plates) == 1:
        return plates[0]
    latest = (
        RepairOrder.objects.filter(customer=customer, vehicle__customer=customer)
        .exclude(vehicle__plate="")
        .order_by("-arrived_at", "-id")
        .values_list("vehicle__plate", flat=True)
        .first()
    )
    return latest or ""


def _send_booking_link(message: InboundMessage, customer: Customer) -> ReplyOutcome:
    language = customer_language(message)
    store = reply_store(message, customer)
    message_enqueue(
        store=store,
        template="reply_booking_link",
        context={
            "name": customer.name,
            "store": store.name,
            "link": booking_link(store=store, language=language, plate=plate_for_booking(message, customer)),
        },
        customer=customer,
        # An answer the customer asked for, not an offer: no marketing consent needed, sent at any hour.
        purpose=Purpose.SERVICE,
        channel=message.channel,
        language=language,
        dedupe_key=f"inbound:{message.pk}:booking-link",
        related=message,
    )
    return ReplyOutcome.LINK_SENT


# ------------------------------------------------------------------------------------------------ later


def _reminders() -> tuple[Any, Callable[..., Any]] | None:
    """The reminders app's model and its `reminder_snooze`, or None while that app does not provide them (it is
    built in parallel; without it "later" is noted for the advisor instead)."""
    try:
        models = importlib.import_module("aftersales.reminders.models")
        services = importlib.import_module("aftersales.reminders.services")
        return models.Reminder, services.reminder_snooze
    except (ImportError, AttributeError):
        return None


def _reminder_answered(model: Any, answered: OutboxMessage | None) -> Any:
    """The reminder whose message the reply answers, or None."""
    if answered is None:
        return None
    reminder = model.objects.filter(message_id=answered.pk).first()
    if reminder is None and answered.related_type == "reminders.reminder" and answered.related_id.isdigit():
        reminder = model.objects.filter(pk=int(answered.related_id)).first()
    return reminder


def _snooze(message: InboundMessage, customer: Customer) -> ReplyOutcome:
    found = _reminders()
    reminder = _reminder_answered(found[0], message.in_reply_to) if found is not None else None
    if found is None or reminder is None:
        return _forward(message, customer, template="reply_later_noted", outcome=ReplyOutcome.NOTED)
    try:
        with transaction.atomic():
            found[1](reminder=reminder, days=SNOOZE_DAYS, by=Party.CUSTOMER)
    except (ValidationError, ApplicationError, PermissionDenied) as exc:  # e.g. the reminder was closed meanwhile
        logger.info("reply #%s: reminder #%s not postponed: %s", message.pk, reminder.pk, exc)
        return _forward(message, customer, template="reply_later_noted", outcome=ReplyOutcome.NOTED)
    store = reply_store(message, customer)
    message_enqueue(
        store=store,
        template="reply_snoozed",
        context={"name": customer.name, "store": store.name, "days": SNOOZE_DAYS},
        customer=customer,
        purpose=Purpose.SERVICE,
        channel=message.channel,
        language=customer_language(message),
        dedupe_key=f"inbound:{message.pk}:snoozed",
        related=message,
    )
    return ReplyOutcome.SNOOZED


# ------------------------------------------------------------------------------------------ staff inbox


def _members(store: Store, role: str) -> list[Any]:
    memberships = Membership.objects.filter(store=store, role=role, user__is_active=True).select_related("user")
    return [m.user for m in memberships.order_by("user_id")]


def _group_managers(store: Store) -> list[Any]:
    memberships = Membership.objects.filter(
        group_id=store.group_id, store__isnull=True, role=Role.GROUP_MANAGER, user__is_active=True
    ).select_related("user")
    return [m.user for m in memberships.order_by("user_id")]


def reply_store(message: InboundMessage, customer: Customer) -> Store:
    """The store the reply concerns: the one that wrote the message answered, else where the file was opened."""
    return message.store or customer.store


def reply_recipients(message: InboundMessage, customer: Customer) -> tuple[Store, list[Any]]:
    """Who reads a customer's reply, and at which store: the advisor of the customer's latest repair order (at any
    store of the group: the person the customer knows) while still an active member of that store; else the
    managers of the store the reply concerns; else its advisors; else the group's managers."""
    latest = (
        RepairOrder.objects.filter(customer=customer, advisor__isnull=False)
        .select_related("store")
        .order_by("-arrived_at", "-id")
        .first()
    )
    if latest is not None and latest.advisor_id is not None:
        membership = (
            Membership.objects.filter(user_id=latest.advisor_id, store_id=latest.store_id, user__is_active=True)
            .select_related("user")
            .first()
        )
        if membership is not None:
            return latest.store, [membership.user]
    store = reply_store(message, customer)
    return store, (_members(store, Role.MANAGER) or _members(store, Role.ADVISOR) or _group_managers(store))


def _quote(message: InboundMessage) -> dict[str, Any]:
    text = message.text if len(message.text) <= QUOTE_MAX else message.text[: QUOTE_MAX - 1] + "…"
    return {
        "text": text,
        "phone": mask_address(Channel.SMS, message.sender),
        "channel": Channel(message.channel).label,
    }


def _forward(
    message: InboundMessage, customer: Customer, *, template: str, outcome: ReplyOutcome = ReplyOutcome.FORWARDED
) -> ReplyOutcome:
    store, people = reply_recipients(message, customer)
    reached = staff_notify(
        store=store,
        users=people,
        template=template,
        context={"customer": customer.name, "store": store.name, **_quote(message)},
        related=message,
        dedupe_key=f"inbound:{message.pk}",
        url=reverse("customers:customer-detail", args=[customer.pk]),
    )
    if not reached:
        logger.warning("reply #%s: nobody at store #%s to read it", message.pk, store.pk)
    return outcome


def _unmatched(message: InboundMessage) -> ReplyOutcome:
    """A number no customer has: the managers of the store whose message it answers read it; without such a
    message we cannot tell which store it concerns, so it is only stored."""
    store = message.store
    if store is None:
        return ReplyOutcome.UNMATCHED
    staff_notify(
        store=store,
        users=_members(store, Role.MANAGER) or _group_managers(store),
        template="reply_unmatched",
        context={"store": store.name, **_quote(message)},
        related=message,
        dedupe_key=f"inbound:{message.pk}",
    )
    return ReplyOutcome.UNMATCHED_FORWARDED


# ------------------------------------------------------------------------------------------------ reads


def replies_for_customer(customer: Customer, *, limit: int = 20) -> list[InboundMessage]:
    """The customer's replies, newest first, for the profile; the caller has already scoped the customer."""
    return inbound_list_for_customer(customer=customer, limit=limit)
