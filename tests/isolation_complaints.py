"""Store B's feedback objects for the web isolation sweep (tests/test_web_isolation.py merges this module):
the pages with an id in this part, how to build their arguments, extra POST fields a form of this part
reads, and a snapshot of what such a POST must not change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.feedback import services
from aftersales.feedback.models import Complaint, ComplaintEvent, ComplaintTransfer, Suggestion

_COMPLAINT_PAGES = (
    "complaint-detail",
    "complaint-acknowledge",
    "complaint-contact",
    "complaint-resolve",
    "complaint-close",
    "complaint-reopen",
    "complaint-transfer",
)
_SUGGESTION_PAGES = ("suggestion-detail", "suggestion-decide", "suggestion-tell")

# URL name → builder of the path arguments from store B's objects
OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    **{f"feedback:{name}": (lambda o: [o["complaint"].pk]) for name in _COMPLAINT_PAGES},
    **{f"feedback:{name}": (lambda o: [o["suggestion"].pk]) for name in _SUGGESTION_PAGES},
}
# Customer pages that take a signed token, not an id
PUBLIC_LINK_PAGES: set[str] = set()
# Fields a POST to this part's pages reads (merged into the sweep's tampering payload).  "to" and "decision"
# are left to the service part's values (the same keys there); test_views_complaints.py posts valid ones.
POST_FIELDS: dict[str, Any] = {
    "note": "篡改",
    "resolution": "篡改",
    "customer_confirmed": "on",
    "confirmed": "on",
    "satisfaction": "5",
    "category": "other",
    "priority": "urgent",
    "description": "篡改",
}


def build(cast: Any, base: dict[str, Any]) -> dict[str, Any]:
    """Store B's objects of this part, built through the services; `base` holds the service objects.
    The complaint is resolved, so every action (close, reopen, transfer) would be allowed if the lookup
    let another store through."""
    complaint = services.complaint_log(
        store=cast.store_b,
        customer=base["customer"],
        order=base["order"],
        channel="phone",
        category="waiting",
        priority="important",
        description="杭州的投诉",
        by=cast.carol,
    )
    for step in (services.complaint_acknowledge, services.complaint_contact):
        complaint = step(complaint=complaint, by=cast.carol)
    complaint = services.complaint_resolve(complaint=complaint, by=cast.carol, resolution="道歉并返修")
    suggestion = services.suggestion_log(
        store=cast.store_b, customer=base["customer"], channel="phone", description="杭州的建议", by=cast.carol
    )
    return {"complaint": complaint, "suggestion": suggestion}


def snapshot() -> tuple[Any, ...]:
    """What must not change when another store's user posts to this part's pages."""
    return (
        list(Complaint.objects.order_by("pk").values_list("status", "owner_id", "reopened_count", "resolution")),
        ComplaintEvent.objects.count(),
        ComplaintTransfer.objects.count(),
        list(Suggestion.objects.order_by("pk").values_list("status", "decision", "customer_told_at")),
    )
