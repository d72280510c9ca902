"""Store B's feedback objects for the web isolation sweep (tests/test_web_isolation.py merges this module):
the pages with an id in this part, how to build their arguments, extra POST fields a form of this part
reads, and a snapshot of what such a POST must not change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aftersales.config.testing import make_user
from aftersales.core import clock
from aftersales.feedback import services
from aftersales.feedback.models import Capa, CapaAction, CapaEvent
from aftersales.organisation.choices import Role

# URL name → builder of the path arguments from store B's objects
OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "feedback:capa-detail": lambda o: [o["capa"].pk],
    "feedback:capa-update": lambda o: [o["capa"].pk],
    "feedback:capa-action-add": lambda o: [o["capa"].pk],
    "feedback:capa-action-done": lambda o: [o["capa"].pk, o["capa_action"].pk],
    "feedback:capa-transition": lambda o: [o["capa"].pk],
    "feedback:capa-procedure": lambda o: [o["capa"].pk],
}
# Customer pages that take a signed token, not an id
PUBLIC_LINK_PAGES: set[str] = set()
# Fields a POST to this part's pages reads (merged into the sweep's tampering payload); every one valid, so
# only the store check can stop the write.  "owner" is set by build() to a user of store A.
POST_FIELDS: dict[str, Any] = {
    "title": "篡改",
    "section": "analysis",
    "root_cause": "篡改",
    "kpi_name": "篡改",
    "kpi_before": "1",
    "kpi_after": "2",
    "procedure_change": "篡改",
    "description": "篡改",
    "due_date": "2030-01-01",
    "note": "篡改",
}


def build(cast: Any, base: dict[str, Any]) -> dict[str, Any]:
    """Store B's CAPA, opened from a frequent-issue cluster by store B's manager, with one open action."""
    manager = make_user("capa_manager_b", Role.MANAGER, store=cast.store_b)
    capa = services.capa_open(
        store=cast.store_b,
        by=manager,
        title="杭州店等待时间",
        cluster_category="waiting",
        cluster_month=clock.today().replace(day=1),
    )
    action = services.capa_action_add(
        capa=capa,
        by=manager,
        description="高峰期增派顾问",
        owner=cast.carol,
        due_date=clock.today() + dt.timedelta(days=14),
    )
    # The owner field names a user of store A, the attacker's own colleague.
    POST_FIELDS["owner"] = cast.alice.pk
    return {"capa": capa, "capa_action": action}


def snapshot() -> tuple[Any, ...]:
    """What must not change when another store's user posts to this part's pages."""
    return (
        list(
            Capa.objects.order_by("id").values_list(
                "status", "title", "root_cause", "kpi_name", "kpi_before", "kpi_after", "procedure_change"
            )
        ),
        list(CapaAction.objects.order_by("id").values_list("description", "owner_id", "due_date", "done_at")),
        CapaEvent.objects.count(),
    )
