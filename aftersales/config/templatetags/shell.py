"""The web shell's template tags."""

from typing import Any

from django import template

from aftersales.config.navigation import navigation_for

register = template.Library()


@register.simple_tag
def navigation(user: Any) -> list[dict[str, Any]]:
    """`{% navigation user as nav_items %}`: the menus the user's roles lead to."""
    return navigation_for(user)
