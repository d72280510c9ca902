"""The forecast pages in the navigation (assembled by config/navigation.py): the forecast page under "Numbers"
(the same drop-down as the analytics pages: the group is matched by its key)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability

NUMBERS = MenuGroup("numbers", _("Numbers"), "graph-up")
ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("forecast:overview", _("Demand and staffing"), "calendar-week", (Capability.VIEW_KPIS,), group=NUMBERS),
)
