"""The analytics pages in the navigation: one drop-down "Numbers" — the dashboards first, then one's own figures,
the scorecards, the early warnings and the reports."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability

NUMBERS = MenuGroup("numbers", _("Numbers"), "graph-up")
ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("analytics:dashboard", _("Store dashboard"), "speedometer", (Capability.VIEW_KPIS,), group=NUMBERS),
    # The comparison needs VIEW_KPIS in every store of a group (the page checks it): a group-wide role's, which is
    # what EDIT_GROUP_SETTINGS marks (group manager, administrator); a store manager is not offered a page that
    # would refuse them.
    MenuEntry(
        "analytics:group-dashboard",
        _("Group comparison"),
        "grid-3x3-gap",
        (Capability.EDIT_GROUP_SETTINGS,),
        group=NUMBERS,
    ),
    # Advisors (RECEIVE) and technicians (WORK) see their own figures; managers pick a person there.
    MenuEntry(
        "analytics:my-numbers", _("My numbers"), "person-badge", (Capability.RECEIVE, Capability.WORK), group=NUMBERS
    ),
    MenuEntry("analytics:my-scorecards", _("My scorecard"), "award", (Capability.RECEIVE,), group=NUMBERS),
    MenuEntry("analytics:scorecards", _("Advisor scorecards"), "award", (Capability.REVIEW_SCORECARDS,), group=NUMBERS),
    MenuEntry("analytics:warnings", _("Early warnings"), "exclamation-diamond", (Capability.VIEW_KPIS,), group=NUMBERS),
    MenuEntry("analytics:quality", _("Service quality"), "clipboard2-pulse", (Capability.VIEW_KPIS,), group=NUMBERS),
    MenuEntry("analytics:reports", _("KPI reports"), "file-earmark-bar-graph", (Capability.VIEW_KPIS,), group=NUMBERS),
    MenuEntry("analytics:issues", _("Issues in comments"), "chat-square-quote", (Capability.VIEW_KPIS,), group=NUMBERS),
)
