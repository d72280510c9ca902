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


def build_for(store: Any) -> WebhookSubscription:
    """A subscription to `store`'s events (also the API isolation sweep's `webhook_id`)."""
    endpoint = WebhookEndpoint.objects.create(
        url="https://hz.example.com/hooks", secret_encrypted=crypto.encrypt("s" * 20)
    )
    return WebhookSubscription.objects.create(
        group=store.group, store=store, name="杭州CRM", endpoint=endpoint, event_types=["survey.answered"]
    )


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    return {"webhook_subscription": build_for(cast.store_b)}


def snapshot() -> tuple[Any, ...]:
    return (list(WebhookSubscription.objects.order_by("id").values_list("name", "is_active", "event_types")),)
