"""The crm app's pages in the navigation (assembled by config/navigation.py): the tiers page sits beside the
customers, for the roles that hold MANAGE_TIERS (managers, group managers, administrators)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry
from aftersales.organisation.permissions import Capability

ENTRIES = (MenuEntry("crm:tiers", _("Customer tiers"), "layers", (Capability.MANAGE_TIERS,)),)
