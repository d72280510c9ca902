"""API of the outbox: the messages sent (or queued, or held back) to customers of the caller's stores.

Read as the customer profile's "Messages sent" section is: by whoever reads feedback (VIEW_FEEDBACK) in the
message's store.  The text of a message and the recipient's address are never answered; the address only masked
(138****5678, a***@example.com).  Staff notifications and integration events are not customer messages and are
left out."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import AfterValidator

from aftersales.core.api import ObjectId
from aftersales.core.api_schema import choices_of
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.messaging import selectors
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.access import store_ids_for
from aftersales.organisation.permissions import Capability

router = Router(tags=["messaging"])

READ = Capability.VIEW_FEEDBACK

MessageStatusName = Literal["pending", "sending", "sent", "failed", "suppressed"]
CustomerChannelName = Literal["sms", "wechat", "email"]
CustomerPurposeName = Literal["service", "marketing", "survey"]
assert set(MessageStatusName.__args__) == set(MessageStatus.values)  # noqa: S101 - the contract follows the model


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(_local)]


class MessageOut(Schema):
    """A message to a customer from the outbox (queued, sent or held back), without its text; the address masked."""

    id: int
    store: str = Field(..., alias="store.code")
    customer: int = Field(..., alias="customer_id")
    channel: choices_of(OutboxMessage, "channel") = Field(  # type: ignore[valid-type]
        ..., description="sms, wechat or email (customer messages only are listed)"
    )
    purpose: choices_of(OutboxMessage, "purpose") = Field(  # type: ignore[valid-type]
        ..., description="service (no consent needed), marketing or survey (consent needed)"
    )
    template: str = Field(..., description="The template the text was rendered from, e.g. booking_confirmation")
    language: choices_of(OutboxMessage, "language")  # type: ignore[valid-type]
    subject: str = Field(..., description="E-mail subject; empty for other channels")
    status: choices_of(OutboxMessage, "status") = Field(  # type: ignore[valid-type]
        ..., description="pending, sending, sent, failed or suppressed (held back)"
    )
    suppressed_reason: choices_of(OutboxMessage, "suppressed_reason") = Field(  # type: ignore[valid-type]
        ..., description="Why it was held back (e.g. no_marketing_consent); else empty"
    )
    attempts: int
    recipient_masked: str = Field(..., description="The address, masked: 138****5678, a***@example.com")
    related_type: str = Field(..., description="The record the message is about, e.g. service.repairorder")
    related_id: str
    created_at: LocalDateTime
    updated_at: LocalDateTime
    sent_at: LocalDateTime | None

    @staticmethod
    def resolve_recipient_masked(obj: OutboxMessage) -> str:
        return selectors.message_recipient_masked(obj)


class MessageFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; every store where you read feedback if omitted")
    customer: ObjectId | None = Field(None, description="Only messages to this customer (a customer id)")
    status: MessageStatusName | None = None
    channel: CustomerChannelName | None = None
    purpose: CustomerPurposeName | None = None


@router.get(
    "/messages",
    response=list[MessageOut],
    summary="Messages to customers of the caller's stores",
    description="Newest first unless `sort` says otherwise. Never the text nor the address in clear. Stores where "
    "the caller reads feedback (the customer profile's message section follows the same rule).",
)
@paginate(BoundedPagination)
def message_list(request: HttpRequest, filters: Query[MessageFilter]) -> Any:
    messages = selectors.message_list(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store, capability=READ),
        status=filters.status,
        customer_id=filters.customer,
        channel=filters.channel,
        purpose=filters.purpose,
        customers_only=True,
    )
    return sync_apply(messages, filters, default=("-created_at", "-id"))
