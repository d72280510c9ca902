"""The rescue pages in the navigation (assembled by config/navigation.py): the live board for whoever handles
rescue calls; the stores' rescue bases under the management menu."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C
from aftersales.parts.menu import OPERATIONS

ENTRIES = (
    MenuEntry("rescue:board", _("Roadside rescue"), "truck", (C.HANDLE_RESCUE,), group=OPERATIONS),
    MenuEntry("rescue:bases", _("Rescue bases"), "geo-alt", (C.EDIT_STORE_SETTINGS,), section=MANAGE),
)
