"""The telematics pages in the navigation (assembled by config/navigation.py): the recent connected-car alerts in the
operations menu, for the people who act on them; the group's alert rules under the management menu."""

from django.utils.translation import gettext_lazy as _

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C
from aftersales.parts.menu import OPERATIONS

ENTRIES = (
    MenuEntry(
        "telematics:alerts",
        _("Connected-car alerts"),
        "ev-front",
        (C.RECEIVE, C.MANAGE_VEHICLE_RULES),
        group=OPERATIONS,
    ),
    MenuEntry("telematics:rules", _("Connected-car rules"), "broadcast", (C.MANAGE_VEHICLE_RULES,), section=MANAGE),
)
