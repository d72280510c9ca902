"""Store B's audits for the web isolation sweep (tests/test_web_isolation.py merges this module): a submitted
audit with a failed item (its finding and photo), one in progress and one planned.  Another store's audit,
finding or photo answers 404 like a missing one, and posting to its pages writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales.audits import services
from aftersales.audits.models import Audit, AuditAnswer, AuditPhoto, Finding
from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "audits:audit-detail": lambda o: [o["audit_submitted"].pk],
    "audits:fill": lambda o: [o["audit_running"].pk],
    "audits:start": lambda o: [o["audit_planned"].pk],
    "audits:answer": lambda o: [o["audit_running"].pk, o["audit_item"].pk],
    "audits:submit": lambda o: [o["audit_running"].pk],
    "audits:cancel": lambda o: [o["audit_planned"].pk],
    "audits:photo": lambda o: [o["audit_photo"].pk],
    "audits:finding-detail": lambda o: [o["audit_finding"].pk],
    "audits:finding-close": lambda o: [o["audit_finding"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {"channel": "visit", "resolution": "篡改", "title": "篡改"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    quality = make_user("iso-audit-quality", Role.QUALITY, group=cast.group)
    shopper = make_user("iso-audit-shopper", Role.AUDITOR, group=cast.group)
    make_user("iso-audit-manager", Role.MANAGER, store=cast.store_b)  # the findings' owner
    checklist = services.checklist_save(
        by=quality,
        group=cast.group,
        kind="mystery_shopper",
        title="杭州店暗访",
        items=[{"text": "主动问候", "weight": 1, "allows_na": False}],
    )
    item = checklist.items.get()

    def plan() -> Audit:
        return services.audit_plan(
            by=quality, store=cast.store_b, kind="mystery_shopper", checklist=checklist, auditor=shopper
        )

    submitted = plan()
    services.audit_start(audit=submitted, by=shopper)
    photo = SimpleUploadedFile("lounge.png", PNG, content_type="image/png")
    answer = services.audit_answer(audit=submitted, by=shopper, item=item, result="fail", note="未问候", photos=[photo])
    services.audit_submit(audit=submitted, by=shopper, channel="visit")
    running = plan()
    services.audit_start(audit=running, by=shopper)
    return {
        "audit_submitted": submitted,
        "audit_running": running,
        "audit_planned": plan(),
        "audit_item": item,
        "audit_photo": answer.photos.get(),
        "audit_finding": Finding.objects.get(audit=submitted),
    }


def snapshot() -> tuple[Any, ...]:
    return (
        list(Audit.objects.order_by("id").values_list("status", "channel", "cancel_reason")),
        list(AuditAnswer.objects.order_by("id").values_list("result", "note")),
        AuditPhoto.objects.count(),
        list(Finding.objects.order_by("id").values_list("status", "resolution", "capa_id")),
    )
