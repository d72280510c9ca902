"""The crm app's pages in the navigation (assembled by config/navigation.py): the tiers page sits beside the
customers, for the roles that hold MANAGE_TIERS (managers, group managers, administrators)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability

# One drop-down for the retention pages of layer 6 (tiers, campaigns, reminders, care), so the top bar stays short.
RETENTION = MenuGroup("retention", _("Retention"), "arrow-through-heart")
ENTRIES = (MenuEntry("crm:tiers", _("Customer tiers"), "layers", (Capability.MANAGE_TIERS,), group=RETENTION),)
