"""Reads for the outbox: a customer's messages, a store's message list, messages about one record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from aftersales.customers.models import Customer
from aftersales.messaging.backends import mask_address
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.models import OutboxMessage


def due_condition(now: dt.datetime) -> Q:
    """Rows a worker may take at `now`: pending and due, or stuck in `sending` after their claim expired."""
    return Q(status__in=[MessageStatus.PENDING, MessageStatus.SENDING], next_attempt_at__lte=now)


def message_list_for_customer(*, customer: Customer, limit: int = 20) -> list[OutboxMessage]:
    """The customer's latest messages (for the profile); the caller has already scoped the customer."""
    return list(
        OutboxMessage.objects.filter(customer=customer)
        .select_related("store")
        .prefetch_related("delivery_attempts")
        .order_by("-created_at", "-id")[:limit]
    )


def message_list(
    *,
    user: Any,
    store_ids: Iterable[int],
    status: str | None = None,
    customer_id: int | None = None,
    channel: str | None = None,
    purpose: str | None = None,
    customers_only: bool = False,
) -> QuerySet[OutboxMessage]:
    """Messages of the given stores that the user may see, newest first, optionally of one status, customer,
    channel or purpose; `customers_only` leaves out staff notifications and integration events."""
    messages = OutboxMessage.objects.for_user(user, store_ids=store_ids)
    if customers_only:
        messages = messages.filter(customer__isnull=False)
    if status:
        messages = messages.filter(status=status)
    if customer_id is not None:
        messages = messages.filter(customer_id=customer_id)
    if channel:
        messages = messages.filter(channel=channel)
    if purpose:
        messages = messages.filter(purpose=purpose)
    return messages.select_related("store", "customer", "recipient_user").order_by("-created_at", "-id")


def message_list_for_related(*, related: models.Model) -> QuerySet[OutboxMessage]:
    """Messages queued about one record (e.g. a repair order), oldest first; scope the record first."""
    return OutboxMessage.objects.filter(related_type=related._meta.label_lower, related_id=str(related.pk)).order_by(
        "created_at", "id"
    )


def message_recipient_masked(message: OutboxMessage) -> str:
    """The recipient as staff may see it in a list: 138****5678, a***@example.com."""
    return mask_address(message.channel, message.recipient)


def message_due_count(*, now: dt.datetime) -> int:
    """How many messages a delivery sweep at `now` would take."""
    return OutboxMessage.objects.filter(due_condition(now)).count()
