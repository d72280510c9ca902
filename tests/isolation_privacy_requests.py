"""Store B's rights request for the isolation sweeps (tests/test_web_isolation.py merges this module; the API sweep
takes `build_for` as `rights_request_id`): another store's request, its page and every move posted to it answer
404 like a missing one and write nothing.  The customer's own page takes a signed token, not an id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.privacy import services
from aftersales.privacy.models import RightsRequest

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "privacy:request-detail": lambda o: [o["rights_request"].pk],
}
PUBLIC_LINK_PAGES: set[str] = {"privacy:customer-request"}
POST_FIELDS: dict[str, Any] = {}


def build_for(store: Any, by: Any, customer: Any) -> RightsRequest:
    return services.rights_request_log(
        store=store, customer=customer, kind="copy", channel="desk", details="请给我一份数据", by=by
    )


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    return {"rights_request": build_for(cast.store_b, cast.carol, objects["customer"])}


def snapshot() -> tuple[Any, ...]:
    return (
        list(
            RightsRequest.objects.order_by("id").values_list(
                "status", "owner_id", "identity_method", "answer", "refusal_reason"
            )
        ),
    )
