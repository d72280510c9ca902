"""Reads of the webhooks app for the API and the pages: the subscriptions a user may manage and a subscription's
delivery log (status, attempts and the last answer come from its outbox message)."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from aftersales.core.scoping import store_ids_where
from aftersales.messaging.models import DeliveryAttempt
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability
from aftersales.webhooks.models import WebhookDelivery, WebhookSubscription


def manageable_group_ids(user: Any) -> set[int]:
    """Groups in every store of which the user holds MANAGE_WEBHOOKS (the group-wide subscriptions they manage)."""
    store_ids = store_ids_where(user, Capability.MANAGE_WEBHOOKS)
    if not store_ids:
        return set()
    candidates = set(Store.objects.filter(pk__in=store_ids).values_list("group_id", flat=True))
    missing = set(
        Store.objects.filter(group_id__in=candidates).exclude(pk__in=store_ids).values_list("group_id", flat=True)
    )
    return candidates - missing


def subscription_list(*, user: Any) -> QuerySet[WebhookSubscription]:
    store_ids = store_ids_where(user, Capability.MANAGE_WEBHOOKS)
    return (
        WebhookSubscription.objects.filter(
            Q(store_id__in=store_ids) | Q(store__isnull=True, group_id__in=manageable_group_ids(user))
        )
        .select_related("group", "store", "endpoint")
        .order_by("-created_at", "-id")
    )


def subscription_get_for_user_or_404(*, user: Any, pk: Any) -> WebhookSubscription:
    """Another store's or group's subscription is 404, exactly like a missing one."""
    try:
        return subscription_list(user=user).get(pk=pk)
    except (WebhookSubscription.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No webhook subscription matches the given query.") from exc


def delivery_list(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """Newest first; `last_status_code` is the HTTP status of the latest attempt (null before any, or without one)."""
    last = DeliveryAttempt.objects.filter(message_id=OuterRef("message_id")).order_by("-at", "-id")
    return (
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event", "message")
        .annotate(last_status_code=Subquery(last.values("status_code")[:1]))
        .order_by("-created_at", "-id")
    )


def group_for_user(*, user: Any, code: str | None) -> DealerGroup | None:
    """The group named by `code` among those whose subscriptions the user manages, or their only one when omitted."""
    groups = DealerGroup.objects.filter(pk__in=manageable_group_ids(user)).order_by("pk")
    if code:
        return groups.filter(code=code).first()
    found = list(groups[:2])
    return found[0] if len(found) == 1 else None
