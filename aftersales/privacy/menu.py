"""The privacy pages in the navigation (assembled by config/navigation.py), under Manage: customers' rights
requests and the retention purge."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("privacy:request-list", _("Rights requests"), "shield-check", (C.LOG_RIGHTS_REQUESTS,), section=MANAGE),
    MenuEntry("privacy:retention", _("Data retention"), "hourglass-split", (C.MANAGE_RETENTION,), section=MANAGE),
)
