"""The forecast page in the navigation (assembled by config/navigation.py): in the operations drop-down that the
parts app declares for the operations apps, for those who read the store's figures (managers)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry
from aftersales.organisation.permissions import Capability
from aftersales.parts.menu import OPERATIONS

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry(
        "forecast:overview", _("Demand and staffing"), "calendar-week", (Capability.VIEW_KPIS,), group=OPERATIONS
    ),
)
