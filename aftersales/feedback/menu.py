"""The voice of the customer's pages in one drop-down menu: the agent's calls first, then recovery and
complaints (assembled by config/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry, MenuGroup
from aftersales.organisation.permissions import Capability as C

FEEDBACK = MenuGroup("feedback", _("Feedback"), "chat-heart")

ENTRIES = (
    MenuEntry("feedback:follow-up-queue", _("Follow-up calls"), "telephone-outbound", (C.FOLLOW_UP,), group=FEEDBACK),
    MenuEntry("feedback:recovery-list", _("Service recovery"), "life-preserver", (C.VIEW_FEEDBACK,), group=FEEDBACK),
    MenuEntry("feedback:complaint-list", _("Complaints"), "exclamation-octagon", (C.VIEW_FEEDBACK,), group=FEEDBACK),
    MenuEntry("feedback:suggestion-list", _("Suggestions"), "lightbulb", (C.VIEW_FEEDBACK,), group=FEEDBACK),
    MenuEntry("feedback:survey-list", _("Survey answers"), "ui-checks", (C.VIEW_FEEDBACK,), group=FEEDBACK),
    MenuEntry("feedback:capa-list", _("CAPA"), "arrow-repeat", (C.VIEW_FEEDBACK,), group=FEEDBACK),
    MenuEntry("feedback:frequent-issues", _("Frequent issues"), "bar-chart-line", (C.VIEW_FEEDBACK,), group=FEEDBACK),
)
