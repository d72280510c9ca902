"""Template helpers of the rescue pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from aftersales.customers.selectors import plate_for

register = template.Library()


@register.simple_tag(takes_context=True)
def rescue_plate(context: dict[str, Any], rescue: Any) -> str:
    """The request's plate as this user may see it (masked for roles that do not work with cars)."""
    request = context.get("request")
    if request is None or not rescue.plate:
        return ""
    return plate_for(request.user, rescue.plate, rescue.store_id)


@register.filter
def iso(value: Any) -> str:
    """An aware time as ISO 8601 for the clocks' script."""
    return timezone.localtime(value).isoformat() if value else ""


BADGES = {
    "requested": "text-bg-danger",
    "matched": "text-bg-warning",
    "dispatched": "text-bg-primary",
    "on_site": "text-bg-info",
    "completed": "text-bg-success",
    "cancelled": "text-bg-secondary",
    "handed_12122": "text-bg-dark",
}


@register.filter
def rescue_badge(status: str) -> str:
    """Bootstrap colour of a rescue request's state."""
    return BADGES.get(status, "text-bg-secondary")
