"""The parts pages in the navigation (assembled by config/navigation.py).  `OPERATIONS` is the one drop-down of the
operations around the service (parts, rescue, connected cars, the e-health record, the forecast), declared here in
the lowest of those apps so the higher ones can put their entries in it."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability as C

OPERATIONS = MenuGroup("operations", _("Operations"), "tools")
ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("parts:stock", _("Parts stock"), "box-seam", (C.VIEW_PARTS,), group=OPERATIONS),
    MenuEntry("parts:receive", _("Goods receipt"), "box-arrow-in-down", (C.MANAGE_PARTS,), group=OPERATIONS),
    MenuEntry(
        "service:parts-issue", _("Issue parts to an order"), "box-arrow-up-right", (C.MANAGE_PARTS,), group=OPERATIONS
    ),
)
