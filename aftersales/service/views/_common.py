"""What the staff pages share: capability checks, redirects, constants."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from aftersales.organisation.current import current_store
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Move
from aftersales.service.choices import (
    RepairOrderStatus,
)
from aftersales.service.models import Appointment, RepairOrder
from aftersales.service.transitions import APPOINTMENT, REPAIR_ORDER, repair_order_moves_for

S = RepairOrderStatus
C = Capability
# --------------------------------------------------------------------------------------------- helpers


def transition_moves(order: RepairOrder, user: Any) -> list[Move]:
    """The generic moves the rulebook offers this user on this order, forward along the process first, going back
    next, cancelling last (the page's buttons and the technician's job list)."""
    forward = list(S.values)
    moves = [m for m in repair_order_moves_for(order=order, user=user) if m.target]
    return sorted(
        moves,
        key=lambda m: (
            m.target == S.CANCELLED,
            m.needs_reason,
            forward.index(str(m.target)) < forward.index(order.status),
            forward.index(str(m.target)),
        ),
    )


def _require_move(request: HttpRequest, order: RepairOrder, name: str) -> None:
    """Refuse (403) unless the rulebook lets the user make this move of the order (the service checks it again,
    with the state; this only keeps a page from rendering a form the service would refuse)."""
    if not REPAIR_ORDER.may(
        REPAIR_ORDER.get(name), actor=request.user, store_id=order.store_id, assignee_id=order.technician_id
    ):
        raise PermissionDenied(_("Your role may not do this."))


def may_appointment(user: Any, appointment: Appointment, name: str) -> bool:
    return APPOINTMENT.may(APPOINTMENT.get(name), actor=user, store_id=appointment.store_id)


def _require_appointment_move(request: HttpRequest, appointment: Appointment, name: str) -> None:
    if not may_appointment(request.user, appointment, name):
        raise PermissionDenied(_("Your role may not do this."))


def _stores_for(request: HttpRequest, capability: Capability) -> list[Store]:
    """The stores the user may act in: the chosen store, or each of their stores where the role allows it."""
    stores = Store.objects.for_user(request.user, capability).filter(is_active=True).order_by("code")
    chosen = current_store(request)
    return list(stores.filter(pk=chosen.pk) if chosen else stores)


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _order_url(order: RepairOrder, anchor: str = "") -> str:
    return reverse("service:order-detail", args=[order.pk]) + (f"#{anchor}" if anchor else "")


def _field_errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _day(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


# --------------------------------------------------------------------------------------------- workbench
