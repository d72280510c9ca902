"""Store B's rescue request and rescue base for the web isolation sweep (tests/test_web_isolation.py merges this
module): another store's request or base answers 404 like a missing one, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aftersales.rescue import services
from aftersales.rescue.models import RescueBase, RescueRequest

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "rescue:detail": lambda o: [o["rescue_request"].pk],
    "rescue:base-edit": lambda o: [o["rescue_base"].store_id],
}
# The customer's help page is public per group by design; the status page opens only with its signed token
# (aftersales/rescue/tests/test_web.py: a forged or revoked link opens nothing).
PUBLIC_LINK_PAGES: set[str] = {"rescue:customer-new", "rescue:customer-request"}
POST_FIELDS: dict[str, Any] = {}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    base = RescueBase.objects.create(
        store=cast.store_b, latitude=Decimal("30.274100"), longitude=Decimal("120.155100"), crews=1
    )
    rescue = services.rescue_request_create(
        by=cast.carol, lat="30.2408", lon="120.1019", road_type="city", fault="爆胎", vehicle=objects["vehicle"]
    )
    assert rescue.store_id == cast.store_b.pk
    return {"rescue_request": rescue, "rescue_base": base}


def snapshot() -> tuple[Any, ...]:
    return (
        list(RescueRequest.objects.order_by("id").values_list("status", "store_id", "crew", "reason")),
        list(RescueBase.objects.order_by("id").values_list("crews", "is_active", "latitude")),
    )
