"""The "History" button of a record page: shown to those who may read the audit trail in the record's store."""

from __future__ import annotations

from typing import Any

from django import template

from aftersales.organisation.permissions import Capability, user_can

register = template.Library()


@register.inclusion_tag("organisation/_history_link.html", takes_context=True)
def history_link(context: Any, object_type: str, object_id: Any, store_id: int | None = None) -> dict[str, Any]:
    """`{% history_link "service.repairorder" order.pk order.store_id %}`; without a store (a group customer) it
    shows to anyone who reads the trail somewhere, and the history page answers 404 outside their stores."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "object_type": object_type,
        "object_id": object_id,
        "show": user is not None and user_can(user, Capability.VIEW_AUDIT, store_id),
    }
