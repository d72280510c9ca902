"""The service process's pages in the navigation (assembled by config/navigation.py)."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MenuEntry
from aftersales.organisation.permissions import Capability as C

ENTRIES = (
    MenuEntry("service:workbench", _("Workbench"), "clipboard-check", (C.RECEIVE, C.BOOK)),
    MenuEntry("service:board", _("Workshop"), "kanban", (C.DISPATCH, C.QUALITY_CHECK, C.VIEW_SERVICE)),
    MenuEntry("service:my-jobs", _("My jobs"), "wrench-adjustable", (C.WORK,)),
    MenuEntry("service:pickup-list", _("Pick-ups"), "truck", (C.DRIVE,)),
    MenuEntry("service:deferred-list", _("Deferred"), "hourglass-split", (C.RECEIVE,)),
)
