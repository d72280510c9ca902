"""The care campaigns' menu entry (assembled by config/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry
from aftersales.crm.menu import RETENTION
from aftersales.organisation.permissions import Capability as C

ENTRIES = (
    MenuEntry(
        "campaigns:campaign-list", _("Campaigns"), "megaphone", (C.VIEW_FEEDBACK, C.MANAGE_CAMPAIGNS), group=RETENTION
    ),
)
