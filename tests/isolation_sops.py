"""Store B's own SOP variant for the isolation sweeps (tests/test_web_isolation.py merges this module; the API sweep
takes `build_for` as `sop_id`): another store's variant, its draft form, publishing and acknowledging its version
answer 404 like a missing one and write nothing.  (A group default is read by every store of its group, by design.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.standards import services
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureVersion

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "standards:procedure": lambda o: [o["sop"].pk],
    "standards:draft": lambda o: [o["sop"].pk],
    "standards:publish": lambda o: [o["sop"].pk, o["sop_draft"].pk],
    "standards:acknowledge": lambda o: [o["sop"].pk, o["sop_published"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {"effective_from": "2030-01-01", "text": "x", "rows": "0"}


def build_for(store: Any) -> Procedure:
    """`store`'s own QC variant: v1 published (its staff asked to read it) and a v2 draft waiting."""
    manager = make_user(f"sop-manager-{store.code}", Role.MANAGER, store=store)
    procedure = services.procedure_ensure(group=store.group, store=store, step="qc", by=manager)
    services.version_publish(version=services.version_draft(procedure=procedure, by=manager), by=manager)
    services.version_draft(procedure=procedure, by=manager, change_note="第二版")
    return procedure


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    procedure = build_for(cast.store_b)
    versions = {v.status: v for v in procedure.versions.all()}
    return {"sop": procedure, "sop_draft": versions["draft"], "sop_published": versions["published"]}


def snapshot() -> tuple[Any, ...]:
    return (
        list(ProcedureVersion.objects.order_by("id").values_list("status", "text", "change_note", "effective_from")),
        list(Acknowledgement.objects.order_by("id").values_list("user_id", "acknowledged_at")),
    )
