"""Store B's feedback objects for the web isolation sweep (tests/test_web_isolation.py merges this module):
the pages with an id in this part, how to build their arguments, extra POST fields a form of this part
reads, and a snapshot of what such a POST must not change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# URL name → builder of the path arguments from store B's objects
OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {}
# Customer pages that take a signed token, not an id
PUBLIC_LINK_PAGES: set[str] = set()
# Fields a POST to this part's pages reads (merged into the sweep's tampering payload)
POST_FIELDS: dict[str, Any] = {}


def build(cast: Any, base: dict[str, Any]) -> dict[str, Any]:
    """Store B's objects of this part, built through the services; `base` holds the service objects."""
    return {}


def snapshot() -> tuple[Any, ...]:
    """What must not change when another store's user posts to this part's pages."""
    return ()
