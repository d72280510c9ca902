"""The customers app's pages in the navigation (assembled by config/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry
from aftersales.organisation.permissions import Capability

ENTRIES = (MenuEntry("customers:customer-list", _("Customers"), "people", (Capability.VIEW_CUSTOMERS,)),)
