"""The store switcher and the user's roles for every page (the menus are assembled by config/navigation.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from aftersales.organisation.choices import Role
from aftersales.organisation.current import current_store
from aftersales.organisation.permissions import user_roles
from aftersales.organisation.selectors import store_list_for_user


def shell(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {}
    stores = list(store_list_for_user(user=user))
    labels = dict(Role.choices)
    return {
        "shell_stores": stores,
        "shell_current_store": current_store(request),
        "shell_roles": [labels[r] for r in sorted(user_roles(user)) if r in labels],
    }
