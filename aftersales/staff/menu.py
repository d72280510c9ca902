"""The staff pages in the navigation (assembled by config/navigation.py): the qualifications roster under the
management menu, for those who read staff records (foremen, managers, group managers)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("staff:roster", _("Staff qualifications"), "person-vcard", (C.VIEW_STAFF_RECORDS,), section=MANAGE),
)
