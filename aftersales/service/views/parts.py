"""The parts clerk's issue page (配件出库): find the order (type or scan its number), see its approved part lines
with what each still needs, issue from the oldest batch or a chosen one, return what comes back unused; and a
vehicle's parts ledger (which batch went into this car)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import page_of
from aftersales.customers.models import Vehicle
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability as C
from aftersales.parts.choices import RemovedPartDisposition
from aftersales.parts.models import Batch
from aftersales.service import selectors_parts, services
from aftersales.service.models import EstimateLine, RepairOrder
from aftersales.service.transitions import REPAIR_ORDER


def _may(request: HttpRequest, order: RepairOrder, move: str) -> bool:
    return REPAIR_ORDER.may(REPAIR_ORDER.get(move), actor=request.user, store_id=order.store_id)


def _issue_url(order: RepairOrder, anchor: str = "") -> str:
    url = f"{reverse('service:parts-issue')}?order={order.number}"
    return f"{url}#{anchor}" if anchor else url


def parts_issue(request: HttpRequest) -> HttpResponse:
    """Without an order: the orders waiting for parts.  With `?order=NUMBER`: that order's part lines."""
    require(request.user, C.MANAGE_PARTS)
    store_ids = current_store_ids(request)
    number = " ".join(request.GET.get("order", "").split())[:32]
    order = None
    if number:
        order = (
            RepairOrder.objects.for_user(request.user, C.MANAGE_PARTS)
            .select_related("store", "vehicle", "customer")
            .filter(number=number)
            .first()
        )
        if order is None:
            messages.warning(request, _("No order with this number in your stores."))
    context: dict[str, Any] = {"number": number, "order": order}
    if order is None:
        context["page"] = page_of(
            request, selectors_parts.orders_waiting_for_parts(user=request.user, store_ids=store_ids)
        )
        return render(request, "service/parts_issue.html", context)
    lines = list(selectors_parts.catalogue_part_lines(order=order))
    shelf = selectors_parts.batches_on_shelf(
        store_id=order.store_id, part_ids={ln.part_id for ln in lines if ln.part_id}
    )
    held = selectors_parts.held_batches(line_ids=[ln.pk for ln in lines])
    context["rows"] = [
        {
            "line": line,
            "needed": line.quantity - line.issued,
            "batches": shelf.get(line.part_id, []) if line.part_id else [],
            "held": held.get(line.pk, []),
        }
        for line in lines
    ]
    context["may_issue"] = _may(request, order, "part_issue") and order.status in REPAIR_ORDER.get("part_issue").sources
    context["may_return"] = _may(request, order, "part_return")
    context["may_removed"] = _may(request, order, "removed_part")
    context["dispositions"] = RemovedPartDisposition.choices
    return render(request, "service/parts_issue.html", context)


def _line_for_parts(request: HttpRequest, pk: int) -> EstimateLine:
    return EstimateLine.objects.select_related("estimate__order__store", "part").get_for_user_or_404(
        request.user, C.VIEW_PARTS, pk=pk
    )


def _report(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        labels = {"quantity": _("quantity"), "batch": _("batch"), "disposition": _("removed part")}
        parts = [
            f"{labels.get(field, field)}: {' '.join(errors)}"
            for field, errors in (exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)])
        ]
        messages.error(request, " ".join(parts))
    elif isinstance(exc, ApplicationError):
        messages.error(request, exc.message)


def _batch_of(request: HttpRequest, line: EstimateLine) -> Batch | None:
    raw = request.POST.get("batch", "")
    if not raw.isdigit():
        return None
    return Batch.objects.filter(pk=int(raw), store_id=line.estimate.order.store_id).first()


@require_POST
def line_issue(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line_for_parts(request, pk)
    order = line.estimate.order
    if not _may(request, order, "part_issue"):
        raise PermissionDenied(_("Your role may not do this."))
    raw_batch = request.POST.get("batch", "")
    batch = _batch_of(request, line)
    try:
        if raw_batch and batch is None:
            raise ValidationError({"batch": [_("Choose a batch of this part on the shelf.")]})
        issues = services.line_part_issue(
            line=line, by=request.user, quantity=request.POST.get("quantity") or None, batch=batch
        )
    except (ValidationError, ApplicationError) as exc:
        _report(request, exc)
    else:
        messages.success(
            request,
            _("Issued to {line}: {batches}.").format(
                line=line.description,
                batches=", ".join(f"{i.batch.batch_number} × {i.quantity.normalize():f}" for i in issues),
            ),
        )
    return redirect(_issue_url(order, f"line-{line.pk}"))


@require_POST
def line_return(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line_for_parts(request, pk)
    order = line.estimate.order
    if not _may(request, order, "part_return"):
        raise PermissionDenied(_("Your role may not do this."))
    batch = _batch_of(request, line)
    try:
        if batch is None:
            raise ValidationError({"batch": [_("Choose a batch of this part on the shelf.")]})
        services.line_part_return(line=line, by=request.user, batch=batch, quantity=request.POST.get("quantity", ""))
    except (ValidationError, ApplicationError) as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Returned to stock."))
    return redirect(_issue_url(order, f"line-{line.pk}"))


@require_POST
def line_removed_part(request: HttpRequest, pk: int) -> HttpResponse:
    line = EstimateLine.objects.select_related("estimate__order").get_for_user_or_404(request.user, pk=pk)
    order = line.estimate.order
    if not _may(request, order, "removed_part"):
        raise PermissionDenied(_("Your role may not do this."))
    try:
        services.line_removed_part_record(line=line, by=request.user, disposition=request.POST.get("disposition", ""))
    except (ValidationError, ApplicationError) as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Saved."))
    target = request.POST.get("next") == "order"
    return redirect(reverse("service:order-detail", args=[order.pk]) + "#parts" if target else _issue_url(order))


def vehicle_parts(request: HttpRequest, pk: int) -> HttpResponse:
    """The vehicle's parts ledger across the stores the user sees: which batch went into this car."""
    require(request.user, C.VIEW_PARTS)
    vehicle = Vehicle.objects.get_for_user_or_404(request.user, pk=pk)
    page = page_of(request, selectors_parts.vehicle_parts_ledger(user=request.user, vehicle_id=vehicle.pk))
    return render(request, "service/vehicle_parts.html", {"vehicle": vehicle, "page": page})
