"""The organisation's management pages, in the user menu to keep the top bar short (assembled by
config/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C

ENTRIES = (
    MenuEntry("organisation:store-list", _("Stores"), "shop", (C.EDIT_STORE_SETTINGS,), section=MANAGE),
    MenuEntry("organisation:settings", _("Settings"), "sliders", (C.EDIT_STORE_SETTINGS,), section=MANAGE),
    MenuEntry("organisation:audit", _("Audit trail"), "journal", (C.VIEW_AUDIT,), section=MANAGE),
    MenuEntry(
        "organisation:calendar",
        _("Official calendar"),
        "calendar3",
        (C.MANAGE_CALENDAR, C.EDIT_GROUP_SETTINGS),
        section=MANAGE,
    ),
)
