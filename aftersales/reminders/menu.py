"""The reminders' pages in the navigation (assembled by config/navigation.py): the list for the people who book
visits and read feedback; the interval rules under the management menu."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.crm.menu import RETENTION
from aftersales.organisation.permissions import Capability as C

ENTRIES = (
    MenuEntry("reminders:list", _("Reminders"), "bell", (C.BOOK, C.VIEW_FEEDBACK), group=RETENTION),
    MenuEntry(
        "reminders:intervals",
        _("Service intervals"),
        "speedometer2",
        (C.EDIT_STORE_SETTINGS, C.EDIT_GROUP_SETTINGS),
        section=MANAGE,
    ),
)
