"""The webhook endpoints of /api/v1/: integrators subscribe to events, read the delivery log and send a test event.
Every call needs MANAGE_WEBHOOKS (administrators, group managers); another store's or group's subscription is 404."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from aftersales.core.api import OneLine
from aftersales.core.api_schema import choices_of
from aftersales.core.pagination import BoundedPagination
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.access import require, store_by_code
from aftersales.organisation.permissions import Capability
from aftersales.webhooks import selectors, services
from aftersales.webhooks.choices import PING, EventType, Scope
from aftersales.webhooks.models import WebhookDelivery, WebhookSubscription

router = Router(tags=["webhooks"])


class SubscriptionIn(Schema):
    """A webhook subscription: the URL, the event types, and the group or one store."""

    name: OneLine = Field(..., description="What the integration is, for the people who manage it", examples=["CRM"])
    url: OneLine = Field(
        ..., description="The http(s) URL every event is POSTed to", examples=["https://crm.example.com/hooks"]
    )
    event_types: list[EventType] = Field(..., description="The event types to receive (at least one)")
    store: OneLine | None = Field(None, description="A store code: only that store's events; omitted: the group's")
    group: OneLine | None = Field(
        None, description="A dealer group code for a group-wide subscription; omitted: the caller's only group"
    )
    secret: OneLine | None = Field(
        None,
        description="The signing secret (16–200 characters, no spaces); omitted: one is generated and answered once",
    )
    is_active: bool = True


class SubscriptionPatch(Schema):
    """A change to a webhook subscription: only the fields sent change."""

    name: OneLine | None = None
    url: OneLine | None = None
    event_types: list[EventType] | None = None
    secret: OneLine | None = Field(None, description="A new signing secret; it signs every post from now on")
    is_active: bool | None = Field(None, description="false pauses: events still waiting are withdrawn")


class SubscriptionOut(Schema):
    """A webhook subscription (without its secret)."""

    id: int
    name: str
    url: str
    scope: Scope
    group: str = Field(..., description="The dealer group's code")
    store: str | None = Field(None, description="The store's code; null for a group-wide subscription")
    event_types: list[EventType]
    is_active: bool
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionCreatedOut(SubscriptionOut):
    """A new webhook subscription with its signing secret, shown only once."""

    secret: str = Field(..., description="The signing secret; answered only here, keep it")


class DeliveryOut(Schema):
    """One delivery of a webhook event to a subscription: its state and latest attempt."""

    id: int
    event_id: str
    event_type: Literal[(*EventType.values, PING)] = Field(  # type: ignore[valid-type]
        ..., description="One of the subscribable event types, or `ping` for a test delivery"
    )
    status: choices_of(OutboxMessage, "status") = Field(  # type: ignore[valid-type]
        ..., description="pending, sending, sent, failed or suppressed (withdrawn)"
    )
    attempts: int
    last_status_code: int | None = Field(None, description="The HTTP status of the latest attempt")
    last_error: str
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None

    @staticmethod
    def resolve_event_id(obj: WebhookDelivery) -> str:
        return str(obj.event.event_id)

    @staticmethod
    def resolve_event_type(obj: WebhookDelivery) -> str:
        return obj.event.type

    @staticmethod
    def resolve_status(obj: WebhookDelivery) -> str:
        return obj.message.status

    @staticmethod
    def resolve_attempts(obj: WebhookDelivery) -> int:
        return obj.message.attempts

    @staticmethod
    def resolve_last_status_code(obj: WebhookDelivery) -> int | None:
        if hasattr(obj, "last_status_code"):
            return obj.last_status_code
        last = obj.message.delivery_attempts.order_by("-at", "-id").first()
        return last.status_code if last else None

    @staticmethod
    def resolve_last_error(obj: WebhookDelivery) -> str:
        return obj.message.last_error

    @staticmethod
    def resolve_next_attempt_at(obj: WebhookDelivery) -> dt.datetime | None:
        return obj.message.next_attempt_at

    @staticmethod
    def resolve_sent_at(obj: WebhookDelivery) -> dt.datetime | None:
        return obj.message.sent_at


def _out(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "name": subscription.name,
        "url": subscription.endpoint.url,
        "scope": Scope.STORE if subscription.store_id else Scope.GROUP,
        "group": subscription.group.code,
        "store": subscription.store.code if subscription.store_id else None,
        "event_types": subscription.event_types,
        "is_active": subscription.is_active,
        "created_by": subscription.created_by_id,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


def _may_any(request: HttpRequest) -> None:
    require(request.auth, Capability.MANAGE_WEBHOOKS)


@router.get(
    "/webhooks",
    response=list[SubscriptionOut],
    summary="Webhook subscriptions the caller manages",
    description="Newest first: the subscriptions of the stores where the caller holds manage_webhooks, and the "
    "group-wide ones of the groups where they hold it in every store.",
)
@paginate(BoundedPagination)
def webhook_list(request: HttpRequest) -> Any:
    _may_any(request)
    return [_out(s) for s in selectors.subscription_list(user=request.auth)]


@router.post(
    "/webhooks",
    response={201: SubscriptionCreatedOut},
    summary="Subscribe to events",
    description="Events that happen from now on are POSTed to `url`, signed with the secret (see docs/webhooks.md). "
    "`store` limits the subscription to one store; without it the subscription covers the group.",
)
def webhook_create(request: HttpRequest, payload: SubscriptionIn) -> Any:
    _may_any(request)
    if payload.store:
        store = store_by_code(request.auth, payload.store, capability=Capability.MANAGE_WEBHOOKS)
        group = store.group
    else:
        store = None
        group = selectors.group_for_user(user=request.auth, code=payload.group)
        if group is None:
            message = (
                _("No dealer group with this code whose subscriptions you manage.")
                if payload.group
                else _("Name the dealer group (its code) or a store.")
            )
            raise ValidationError({"group": [message]})
    subscription, secret = services.subscription_create(
        by=request.auth,
        group=group,
        store=store,
        name=payload.name,
        url=payload.url,
        event_types=[str(t) for t in payload.event_types],
        secret=payload.secret,
        is_active=payload.is_active,
    )
    return 201, {**_out(subscription), "secret": secret}


@router.get("/webhooks/{webhook_id}", response=SubscriptionOut, summary="One webhook subscription")
def webhook_detail(request: HttpRequest, webhook_id: int) -> Any:
    return _out(selectors.subscription_get_for_user_or_404(user=request.auth, pk=webhook_id))


@router.patch(
    "/webhooks/{webhook_id}",
    response=SubscriptionOut,
    summary="Change a webhook subscription",
    description="Fields sent are changed. A new `secret` signs every post from now on (retries included); "
    "`is_active: false` pauses the subscription and withdraws what is still waiting.",
)
def webhook_update(request: HttpRequest, webhook_id: int, payload: SubscriptionPatch) -> Any:
    subscription = selectors.subscription_get_for_user_or_404(user=request.auth, pk=webhook_id)
    data = payload.dict(exclude_unset=True)
    if "event_types" in data and data["event_types"] is not None:
        data["event_types"] = [str(t) for t in data["event_types"]]
    services.subscription_update(subscription=subscription, by=request.auth, **data)
    return _out(selectors.subscription_get_for_user_or_404(user=request.auth, pk=webhook_id))


@router.delete(
    "/webhooks/{webhook_id}",
    response={204: None},
    summary="Delete a webhook subscription",
    description="With its delivery log; events still waiting are never sent.",
)
def webhook_delete(request: HttpRequest, webhook_id: int) -> Any:
    subscription = selectors.subscription_get_for_user_or_404(user=request.auth, pk=webhook_id)
    services.subscription_delete(subscription=subscription, by=request.auth)
    return 204, None


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response=list[DeliveryOut],
    summary="A subscription's delivery log",
    description="Newest first: each event sent (or to be sent) to the subscription, its status, attempts, the HTTP "
    "status and error of the latest attempt, and when it is tried next.",
)
@paginate(BoundedPagination)
def webhook_deliveries(request: HttpRequest, webhook_id: int) -> Any:
    subscription = selectors.subscription_get_for_user_or_404(user=request.auth, pk=webhook_id)
    return selectors.delivery_list(subscription=subscription)


@router.post(
    "/webhooks/{webhook_id}/test",
    response={202: DeliveryOut},
    summary="Send a test event",
    description="A `ping` event goes to this subscription at once (even while paused); its delivery is answered and "
    "appears in the delivery log.",
)
def webhook_test(request: HttpRequest, webhook_id: int) -> Any:
    subscription = selectors.subscription_get_for_user_or_404(user=request.auth, pk=webhook_id)
    delivery = services.subscription_test(subscription=subscription, by=request.auth)
    delivery.message.refresh_from_db()
    return 202, delivery
