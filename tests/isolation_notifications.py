"""Store B's inbox item and store for the web isolation sweep (tests/test_web_isolation.py merges this module):
another person's inbox item answers 404 like a missing one, and so does another store's WeCom robot setting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.notifications.models import InboxItem
from aftersales.notifications.services import staff_notify
from aftersales.organisation.models import Store

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "notifications:inbox-open": lambda o: [o["inbox_item"].pk],
    "organisation:store-wecom": lambda o: [o["store"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {"wecom_webhook_url": "https://evil.example/hook", "remove": ""}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    staff_notify(
        store=cast.store_b,
        users=[cast.carol],
        template="staff_alert",
        context={"text": "杭州店的提醒"},
        dedupe_key="isolation:b",
        url="/",
    )
    item = InboxItem.objects.get(dedupe_key=f"isolation:b:{cast.carol.pk}")
    return {"inbox_item": item, "store": cast.store_b}


def snapshot() -> tuple[Any, ...]:
    return (
        list(InboxItem.objects.order_by("id").values_list("recipient_id", "read_at")),
        list(Store.objects.order_by("id").values_list("wecom_webhook_url", flat=True)),
    )
