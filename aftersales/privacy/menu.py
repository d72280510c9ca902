"""The privacy pages in the navigation (assembled by config/navigation.py), under Manage: customers' rights
requests and the retention purge."""

from aftersales.core.menu import MANAGE, MenuEntry
from aftersales.organisation.permissions import Capability as C  # noqa: F401 - used by the entries as they come

ENTRIES: tuple[MenuEntry, ...] = ()
_ = MANAGE
