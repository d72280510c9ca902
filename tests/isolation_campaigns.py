"""Store B's campaign for the web isolation sweep (tests/test_web_isolation.py merges this module): another
store's campaign answers 404 like a missing one on its detail, edit and move pages; the customer's tracked link
takes a random token, not an id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.campaigns import services
from aftersales.campaigns.models import Campaign
from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "campaigns:campaign-detail": lambda o: [o["campaign"].pk],
    "campaigns:campaign-edit": lambda o: [o["campaign"].pk],
    "campaigns:campaign-move": lambda o: [o["campaign"].pk, "cancel"],
}
PUBLIC_LINK_PAGES: set[str] = {"campaigns:link"}
POST_FIELDS: dict[str, Any] = {"text_zh": "篡改 {link}", "text_en": "x {link}", "scheduled_at": ""}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    manager = make_user("campaign-manager-b", Role.MANAGER, store=cast.store_b)
    data = services.CampaignInput(
        name="杭州店活动", purpose="marketing", audience={}, text_zh="关爱 {link}", text_en="Care {link}"
    )
    return {"campaign": services.campaign_create(store=cast.store_b, data=data, by=manager)}


def snapshot() -> tuple[Any, ...]:
    return (list(Campaign.objects.order_by("id").values_list("name", "status", "text_zh")),)


def api_objects(store: Any) -> dict[str, Any]:
    """For tests/test_api_isolation.py: path parameter name → a campaign of `store`."""
    manager = make_user(f"campaign-manager-{store.code}", Role.MANAGER, store=store)
    data = services.CampaignInput(
        name=f"{store.name}活动", purpose="marketing", audience={}, text_zh="关爱 {link}", text_en="Care {link}"
    )
    return {"campaign_id": services.campaign_create(store=store, data=data, by=manager)}
