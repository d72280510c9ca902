"""What the staff pages share: capability checks, redirects, constants."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.organisation.current import current_store
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.service.choices import (
    RepairOrderStatus,
)
from aftersales.service.models import RepairOrder

S = RepairOrderStatus
C = Capability
# Targets that need a reason typed by the person moving the order.
REASON_TARGETS = frozenset({S.WAITING_PARTS, S.CANCELLED})
# Who may move an order to a target: advisors release to the workshop and cancel at reception; the
# workshop (dispatch, or the technician on their own job) moves the car through the bay states.
TARGET_CAPABILITIES: dict[str, tuple[Capability, ...]] = {
    S.WAITING: (C.RECEIVE, C.DISPATCH),
    S.CANCELLED: (C.RECEIVE, C.DISPATCH),
    S.READY: (C.WORK, C.DISPATCH, C.RECEIVE),
}
WORKSHOP_CAPABILITIES = (C.WORK, C.DISPATCH)
BUTTON_LABELS = {
    S.WAITING: gettext_lazy("Release to the workshop"),
    S.IN_BAY: gettext_lazy("Car is in the bay"),
    S.IN_PROGRESS: gettext_lazy("Start work"),
    S.WAITING_PARTS: gettext_lazy("Waiting for parts"),
    S.QC: gettext_lazy("Work done: to quality check"),
    S.READY: gettext_lazy("Ready for pick-up"),
    S.CANCELLED: gettext_lazy("Cancel the order"),
}


# --------------------------------------------------------------------------------------------- helpers


def _can_any(user: Any, capabilities: tuple[Capability, ...], store_id: int | None = None) -> bool:
    return any(user_can(user, capability, store_id) for capability in capabilities)


def _require(request: HttpRequest, *capabilities: Capability, store_id: int | None = None) -> None:
    if not _can_any(request.user, capabilities, store_id):
        raise PermissionDenied(_("Your role may not do this."))


def _stores_for(request: HttpRequest, capability: Capability) -> list[Store]:
    """The stores the user may act in: the chosen store, or each of their stores where the role allows it."""
    chosen = current_store(request)
    stores = [chosen] if chosen else list(Store.objects.for_user(request.user).filter(is_active=True).order_by("code"))
    return [s for s in stores if user_can(request.user, capability, s.pk)]


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
