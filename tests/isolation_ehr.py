"""Store B's e-health submission for the web isolation sweep (tests/test_web_isolation.py merges this module):
resending another store's record answers 404 like a missing one and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.ehr.models import EhrSubmission

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "ehr:submission-resend": lambda o: [o["ehr_submission"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    submission = EhrSubmission.objects.create(
        store=cast.store_b, order=objects["order"], status="rejected", reason="isolation"
    )
    return {"ehr_submission": submission}


def snapshot() -> tuple[Any, ...]:
    return (list(EhrSubmission.objects.order_by("id").values_list("status", "attempts", "reason")),)
