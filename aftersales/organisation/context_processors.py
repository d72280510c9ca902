"""Navigation, the store switcher and the user's roles for every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftersales.organisation.choices import Role
from aftersales.organisation.current import current_store
from aftersales.organisation.permissions import Capability, user_can, user_roles
from aftersales.organisation.selectors import store_list_for_user


def navigation_for(user: Any) -> list[dict[str, Any]]:
    """Menu entries the user's roles lead to; each entry is only shown when the user may use it.
    Entries marked `manage` (stores, settings, audit, admin) sit in the user menu to keep the bar short."""
    items: list[dict[str, Any]] = [{"label": _("Today"), "url": reverse("home"), "icon": "house"}]
    if user_can(user, Capability.VIEW_CUSTOMERS):
        items.append({"label": _("Customers"), "url": reverse("customers:customer-list"), "icon": "people"})
    if user_can(user, Capability.RECEIVE) or user_can(user, Capability.BOOK):
        items.append({"label": _("Workbench"), "url": reverse("service:workbench"), "icon": "clipboard-check"})
    if any(user_can(user, c) for c in (Capability.DISPATCH, Capability.QUALITY_CHECK, Capability.VIEW_SERVICE)):
        items.append({"label": _("Workshop"), "url": reverse("service:board"), "icon": "kanban"})
    if user_can(user, Capability.WORK):
        items.append({"label": _("My jobs"), "url": reverse("service:my-jobs"), "icon": "wrench-adjustable"})
    if user_can(user, Capability.RECEIVE):
        items.append({"label": _("Deferred"), "url": reverse("service:deferred-list"), "icon": "hourglass-split"})
    feedback = _feedback_menu(user)
    if feedback:
        items.append({"label": _("Feedback"), "icon": "chat-heart", "children": feedback})
    if user_can(user, Capability.EDIT_STORE_SETTINGS):
        items.append({"label": _("Stores"), "url": reverse("organisation:store-list"), "icon": "shop", "manage": True})
        items.append(
            {"label": _("Settings"), "url": reverse("organisation:settings"), "icon": "sliders", "manage": True}
        )
    if user_can(user, Capability.VIEW_AUDIT):
        items.append(
            {"label": _("Audit trail"), "url": reverse("organisation:audit"), "icon": "journal", "manage": True}
        )
    if user.is_staff:
        items.append({"label": _("Administration"), "url": reverse("admin:index"), "icon": "gear", "manage": True})
    return items


def _feedback_menu(user: Any) -> list[dict[str, Any]]:
    """The voice-of-the-customer pages in one menu: the agent's calls first, then recovery and complaints."""
    entries = [
        (Capability.FOLLOW_UP, _("Follow-up calls"), "feedback:follow-up-queue", "telephone-outbound"),
        (Capability.HANDLE_COMPLAINTS, _("Service recovery"), "feedback:recovery-list", "life-preserver"),
        (Capability.VIEW_FEEDBACK, _("Complaints"), "feedback:complaint-list", "exclamation-octagon"),
        (Capability.VIEW_FEEDBACK, _("Suggestions"), "feedback:suggestion-list", "lightbulb"),
        (Capability.VIEW_FEEDBACK, _("Survey answers"), "feedback:survey-list", "ui-checks"),
        (Capability.VIEW_FEEDBACK, _("CAPA"), "feedback:capa-list", "arrow-repeat"),
        (Capability.VIEW_FEEDBACK, _("Frequent issues"), "feedback:frequent-issues", "bar-chart-line"),
    ]
    return [
        {"label": label, "url": reverse(name), "icon": icon}
        for capability, label, name, icon in entries
        if user_can(user, capability)
    ]


def shell(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {}
    stores = list(store_list_for_user(user=user))
    labels = dict(Role.choices)
    return {
        "nav_items": navigation_for(user),
        "shell_stores": stores,
        "shell_current_store": current_store(request),
        "shell_roles": [labels[r] for r in sorted(user_roles(user)) if r in labels],
    }
