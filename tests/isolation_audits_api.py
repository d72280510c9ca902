"""Store B's submitted audit for the API isolation sweep (tests/test_api_isolation.py): `GET /audits/{audit_id}`
answers 404 to anyone who may not read store B's audits, like a missing audit.  Built through the real services:
the group's quality department records an internal audit of the store.  (The web sweep's audits are in
tests/isolation_audits.py.)"""

from __future__ import annotations

from typing import Any

from aftersales.audits import services
from aftersales.audits.choices import AuditKind
from aftersales.audits.models import Audit
from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role


def build_for(store: Any) -> Audit:
    """A submitted internal audit of `store` (with one finding)."""
    quality = make_user(f"api-quality-{store.code}", Role.QUALITY, group=store.group)
    checklists = {c.kind: c for c in services.checklists_install_defaults(group=store.group)}
    checklist = checklists[AuditKind.INTERNAL]
    items = list(checklist.items.order_by("position"))
    answers = [{"item": item.pk, "result": "pass"} for item in items]
    answers[0] = {"item": items[0].pk, "result": "fail", "note": "未公示"}
    return services.audit_record(by=quality, store=store, kind=AuditKind.INTERNAL, checklist=checklist, answers=answers)
