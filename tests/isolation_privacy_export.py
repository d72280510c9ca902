"""Store B's customer and rights request for the web isolation sweep (tests/test_web_isolation.py merges this
module): another store's customer's export (JSON, PDF, by customer or by request) and erasure page answer 404 like
a missing one and write nothing (no export audited, nobody erased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from aftersales.customers.models import Customer
from aftersales.privacy.models import RightsRequest

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "privacy:customer-export-json": lambda o: [o["customer"].pk],
    "privacy:customer-export-pdf": lambda o: [o["customer"].pk],
    "privacy:customer-erase": lambda o: [o["customer"].pk],
    "privacy:export-json": lambda o: [o["export_rights_request"].pk],
    "privacy:export-pdf": lambda o: [o["export_rights_request"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {"confirm_name": "杭州客户", "scope": "all"}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    request = RightsRequest.objects.create(
        store=cast.store_b,
        customer=objects["customer"],
        number="PR-ISO-EXPORT",
        kind="copy",
        channel="desk",
        received_at=now,
        due_at=now,
    )
    return {"export_rights_request": request}


def snapshot() -> tuple[Any, ...]:
    return (list(Customer.objects.order_by("id").values_list("name", "phone_hash")),)
