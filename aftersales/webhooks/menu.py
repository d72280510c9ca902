"""The webhooks page in the navigation (assembled by config/navigation.py): under the management menu."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("webhooks:subscriptions", _("Webhooks"), "broadcast", (C.MANAGE_WEBHOOKS,), section=MANAGE),
)
