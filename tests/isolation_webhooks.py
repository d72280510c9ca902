"""Store B's webhook subscription for the web isolation sweep (tests/test_web_isolation.py merges this module): its
delivery log page answers 404 to anyone who does not manage store B's webhooks, like a missing subscription."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.customers import crypto
from aftersales.messaging.models import WebhookEndpoint
from aftersales.webhooks.models import WebhookSubscription

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "webhooks:subscription": lambda o: [o["webhook_subscription"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    endpoint = WebhookEndpoint.objects.create(
        url="https://hz.example.com/hooks", secret_encrypted=crypto.encrypt("s" * 20)
    )
    subscription = WebhookSubscription.objects.create(
        group=cast.store_b.group, store=cast.store_b, name="杭州CRM", endpoint=endpoint, event_types=["survey.answered"]
    )
    return {"webhook_subscription": subscription}


def snapshot() -> tuple[Any, ...]:
    return (list(WebhookSubscription.objects.order_by("id").values_list("name", "is_active", "event_types")),)
