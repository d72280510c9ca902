"""The SOP library in the navigation (assembled by config/navigation.py): under Operations, for every member of staff
who works in or looks after a store (the driver's phone and the external auditor stay without it)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry
from aftersales.organisation.permissions import Capability as C
from aftersales.parts.menu import OPERATIONS

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry(
        "standards:library",
        _("SOP library"),
        "journal-text",
        (C.VIEW_SERVICE, C.VIEW_FEEDBACK, C.MANAGE_SOPS),
        group=OPERATIONS,
    ),
)
