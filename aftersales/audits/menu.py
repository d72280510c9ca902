"""The audit pages in the navigation (assembled by config/navigation.py): one drop-down "Audits" — the list
(for an external auditor their own audits to do), the findings of the stores, the quarter's plan and the
checklists for the quality department."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability as C

AUDITS = MenuGroup("audits", _("Audits"), "clipboard2-check")

ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry(
        "audits:list",
        _("Audit list"),
        "list-check",
        (C.MANAGE_AUDITS, C.PERFORM_AUDITS, C.VIEW_AUDITS),
        group=AUDITS,
    ),
    MenuEntry("audits:findings", _("Audit findings"), "flag", (C.MANAGE_AUDITS, C.VIEW_AUDITS), group=AUDITS),
    MenuEntry("audits:plan-current", _("Audit plan"), "calendar3", (C.MANAGE_AUDITS,), group=AUDITS),
    MenuEntry(
        "audits:checklists", _("Audit checklists"), "card-checklist", (C.MANAGE_AUDITS, C.VIEW_AUDITS), group=AUDITS
    ),
)
