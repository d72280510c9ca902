"""The care pages in the navigation (assembled by config/navigation.py): the care page for the managers, the
playbook under the management menu."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.crm.menu import RETENTION
from aftersales.organisation.permissions import Capability as C

ENTRIES = (
    MenuEntry("care:overview", _("Care"), "heart", (C.VIEW_CARE,), group=RETENTION),
    MenuEntry("care:playbook", _("Care playbooks"), "journal-check", (C.VIEW_CARE, C.MANAGE_CARE), section=MANAGE),
)
