"""The web shell's navigation, assembled from the entries each app declares in its `menu.py`.  The order of
the apps here is the order of the menus; an entry is shown only to a user who holds one of its capabilities."""

from __future__ import annotations

from itertools import chain
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftersales.analytics import menu as analytics_menu
from aftersales.audits import menu as audits_menu
from aftersales.campaigns import menu as campaigns_menu
from aftersales.care import menu as care_menu
from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.crm import menu as crm_menu
from aftersales.customers import menu as customers_menu
from aftersales.ehr import menu as ehr_menu
from aftersales.feedback import menu as feedback_menu
from aftersales.forecast import menu as forecast_menu
from aftersales.organisation import menu as organisation_menu
from aftersales.organisation.permissions import user_can
from aftersales.parts import menu as parts_menu
from aftersales.privacy import menu as privacy_menu
from aftersales.reminders import menu as reminders_menu
from aftersales.rescue import menu as rescue_menu
from aftersales.service import menu as service_menu
from aftersales.staff import menu as staff_menu
from aftersales.standards import menu as standards_menu
from aftersales.telematics import menu as telematics_menu
from aftersales.webhooks import menu as webhooks_menu

HOME = MenuEntry("home", _("Today"), "house")
ADMIN = MenuEntry("admin:index", _("Administration"), "gear", section=MANAGE, staff_only=True)
ENTRIES: tuple[MenuEntry, ...] = tuple(
    chain(
        (HOME,),
        customers_menu.ENTRIES,
        crm_menu.ENTRIES,
        service_menu.ENTRIES,
        parts_menu.ENTRIES,
        rescue_menu.ENTRIES,
        telematics_menu.ENTRIES,
        feedback_menu.ENTRIES,
        audits_menu.ENTRIES,  # the audits that check the standards, after the feedback (their findings open CAPAs)
        campaigns_menu.ENTRIES,
        organisation_menu.ENTRIES,
        reminders_menu.ENTRIES,  # after the management entries of the organisation
        care_menu.ENTRIES,
        staff_menu.ENTRIES,
        ehr_menu.ENTRIES,
        webhooks_menu.ENTRIES,
        privacy_menu.ENTRIES,  # rights requests and the retention purge, under Manage
        forecast_menu.ENTRIES,
        standards_menu.ENTRIES,  # the SOP library, last under Operations
        analytics_menu.ENTRIES,
        (ADMIN,),
    )
)


def _shown(entry: MenuEntry, user: Any) -> bool:
    if entry.staff_only:
        return bool(user.is_staff)
    return not entry.capabilities or any(user_can(user, capability) for capability in entry.capabilities)


def navigation_for(user: Any) -> list[dict[str, Any]]:
    """The top bar's items in order (a group becomes one item with `children`); management entries carry
    `manage` and are shown in the user menu."""
    items: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for entry in ENTRIES:
        if not _shown(entry, user):
            continue
        item: dict[str, Any] = {"label": entry.label, "url": reverse(entry.url_name), "icon": entry.icon}
        if entry.section == MANAGE:
            item["manage"] = True
        if entry.group is None:
            items.append(item)
            continue
        if entry.group.key not in groups:
            groups[entry.group.key] = {
                "key": entry.group.key,
                "label": entry.group.label,
                "icon": entry.group.icon,
                "children": [],
            }
            items.append(groups[entry.group.key])
        groups[entry.group.key]["children"].append(item)
    return items
