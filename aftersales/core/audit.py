"""Writing the audit trail.  Services call `audit_record` inside their transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from aftersales.core.models import AuditEntry


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    store_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        if store_id is None:
            store_id = getattr(obj, "store_id", None)
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        store_id=store_id,
        changes=changes or {},
    )
