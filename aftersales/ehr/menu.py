"""The ehr pages in the navigation (assembled by config/navigation.py): the uploads page under the management
menu (its endpoint settings are reached from it)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("ehr:submissions", _("E-health record uploads"), "cloud-upload", (C.MANAGE_EHR,), section=MANAGE),
)
