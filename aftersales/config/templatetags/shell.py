"""The web shell's template tags."""

from typing import Any

from django import template

from aftersales.config.navigation import navigation_for
from aftersales.notifications.selectors import inbox_unread_count

register = template.Library()


@register.simple_tag
def navigation(user: Any) -> list[dict[str, Any]]:
    """`{% navigation user as nav_items %}`: the menus the user's roles lead to."""
    return navigation_for(user)


@register.simple_tag
def inbox_unread(user: Any) -> int:
    """`{% inbox_unread user as n %}`: the bell's number of unread alerts (one COUNT query)."""
    return inbox_unread_count(user=user)
