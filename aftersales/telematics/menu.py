"""The telematics pages in the navigation (assembled by config/navigation.py)."""

from aftersales.core.menu import MenuEntry

ENTRIES: tuple[MenuEntry, ...] = ()
