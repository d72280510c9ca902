"""The analytics pages in the navigation: one drop-down "Numbers" for dashboards, scorecards, warnings, reports."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability  # noqa: F401

NUMBERS = MenuGroup("numbers", _("Numbers"), "graph-up")
ENTRIES: tuple[MenuEntry, ...] = (
    # dashboards, scorecards, early warnings and reports add their entries here (group=NUMBERS)
    MenuEntry("analytics:reports", _("KPI reports"), "file-earmark-bar-graph", (Capability.VIEW_KPIS,), group=NUMBERS),
)
