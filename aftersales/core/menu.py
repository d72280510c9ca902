"""What an app declares about its pages for the navigation: each app lists its entries in its own `menu.py`,
and `config` (the top layer, which may see every app) assembles them into the menus of the web shell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where an entry is shown: the top bar, a drop-down menu of the top bar, or the user menu (management pages).
TOP = "top"
MANAGE = "manage"


@dataclass(frozen=True)
class MenuGroup:
    """A drop-down menu of the top bar, shown when at least one of its entries is."""

    key: str
    label: Any  # a lazy translation
    icon: str


@dataclass(frozen=True)
class MenuEntry:
    url_name: str
    label: Any  # a lazy translation
    icon: str  # a Bootstrap Icons name without the "bi-" prefix
    # Shown when the user holds any of these capabilities; none: every signed-in member of staff.
    capabilities: tuple[str, ...] = ()
    section: str = TOP
    group: MenuGroup | None = None
    staff_only: bool = False  # Django's own admin: the `is_staff` flag, not a store capability
