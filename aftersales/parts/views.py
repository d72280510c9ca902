"""The parts clerk's pages: stock (with a scan field), a part with its batches and ledger, goods receipt, the
catalogue.  Issuing to an order is the service app's page (`service:parts-issue`), which lies above this app."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import Filter, choice_param, page_of, search_param
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C
from aftersales.parts import selectors, services
from aftersales.parts.forms import PartForm, ReceiveForm, StockSettingsForm, StocktakeForm
from aftersales.parts.models import Batch, Part

PART_FIELDS = ("code", "name", "category", "spec", "brand", "manufacturer", "barcode", "unit", "is_core")


def _acting_store(request: HttpRequest) -> Store:
    """The store a clerk receives into: the current store when they manage parts there, else their first."""
    store = current_store(request)
    if store is not None and can(request.user, C.MANAGE_PARTS, store_id=store.pk):
        return store
    ids = sorted(store_ids_where(request.user, C.MANAGE_PARTS))
    if not ids:
        raise PermissionDenied(_("Your role may not do this."))
    return Store.objects.select_related("group").get(pk=ids[0])


def _visible_part(request: HttpRequest, pk: int) -> Part:
    """A part of a group the user sees parts in; another group's part answers 404 like a missing one."""
    groups = Store.objects.filter(pk__in=store_ids_where(request.user, C.VIEW_PARTS)).values("group_id")
    part = Part.objects.filter(pk=pk, group_id__in=groups).first()
    if part is None:
        raise Http404("No part matches the given query.")
    return part


def stock_list(request: HttpRequest) -> HttpResponse:
    """The store's stock, part by part, low stock marked; a scanned code opens the part."""
    require(request.user, C.VIEW_PARTS)
    store_ids = current_store_ids(request)
    query = search_param(request)
    low = choice_param(request, "low", ["1"]) == "1"
    if query and request.GET.get("scan"):
        groups = Store.objects.filter(pk__in=store_ids_where(request.user, C.VIEW_PARTS)).values_list(
            "group_id", flat=True
        )
        for group_id in sorted(set(groups)):
            found = services.part_find(group_id=group_id, code=query)
            if found is not None:
                return redirect("parts:part", pk=found.pk)
        messages.warning(request, _("No part with this code or barcode in the catalogue."))
    rows = selectors.stock_list(user=request.user, store_ids=store_ids, query=query, low_only=low)
    page = page_of(request, rows)
    filters = [
        Filter("q", _("Part code, name or barcode"), "search", query),
        Filter("low", _("Stock"), "select", "1" if low else "", [("1", _("Below safety stock"))]),
    ]
    return render(
        request,
        "parts/stock.html",
        {
            "page": page,
            "filters": filters,
            "may_manage": can(request.user, C.MANAGE_PARTS),
        },
    )


def part_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A part: its stock in each store the user sees, the batches on the shelf, and the ledger."""
    require(request.user, C.VIEW_PARTS)
    part = _visible_part(request, pk)
    store_ids = store_ids_where(request.user, C.VIEW_PARTS) & set(
        Store.objects.filter(group_id=part.group_id).values_list("pk", flat=True)
    )
    current = current_store_ids(request) & store_ids or store_ids
    ledger = page_of(request, selectors.part_ledger(part=part, store_ids=current))
    manage_ids = store_ids_where(request.user, C.MANAGE_PARTS)
    stocks = [
        {"stock": stock, "may_manage": stock.store_id in manage_ids}
        for stock in selectors.part_stocks(part=part, store_ids=store_ids)
    ]
    batches = [
        {"batch": batch, "may_manage": batch.store_id in manage_ids}
        for batch in selectors.part_batches(part=part, store_ids=current)
    ]
    return render(
        request,
        "parts/part.html",
        {
            "part": part,
            "stocks": stocks,
            "batches": batches,
            "page": ledger,
            "may_catalogue": bool(manage_ids),
        },
    )


@require_POST
def stock_settings(request: HttpRequest, pk: int, store: int) -> HttpResponse:
    part = _visible_part(request, pk)
    target = Store.objects.filter(pk=store, pk__in=store_ids_where(request.user, C.VIEW_PARTS)).first()
    if target is None:
        raise Http404("No store matches the given query.")
    form = StockSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.stock_settings_save(store=target, part=part, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Saved."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("parts:part", pk=part.pk)


@require_POST
def batch_stocktake(request: HttpRequest, pk: int) -> HttpResponse:
    batch = Batch.objects.get_for_user_or_404(request.user, C.VIEW_PARTS, pk=pk)
    form = StocktakeForm(request.POST)
    if form.is_valid():
        try:
            movement = services.stocktake_adjust(batch=batch, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Stocktake booked.") if movement else _("The count agrees: nothing booked."))
    else:
        messages.error(
            request, " ".join(f"{form.fields[f].label}: {e}" for f, errors in form.errors.items() for e in errors)
        )
    return redirect("parts:part", pk=batch.part_id)


def receive(request: HttpRequest) -> HttpResponse:
    """Goods receipt (入库) on a phone: scan the box, type the batch and voucher, tick the certificate."""
    require(request.user, C.MANAGE_PARTS)
    store = _acting_store(request)
    form = ReceiveForm(
        request.POST or None, initial={"received_on": clock.today(), "code": request.GET.get("code", "")}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        part = services.part_find(group_id=store.group_id, code=data.pop("code"))
        if part is None:
            form.add_error("code", _("No part with this code or barcode in the catalogue."))
        else:
            try:
                batch = services.goods_receive(store=store, by=request.user, part=part, **data)
            except ValidationError as exc:
                form.apply_service_errors(exc)
            else:
                messages.success(
                    request,
                    _("Received {quantity} {unit} of {code}, batch {batch} ({receipt}).").format(
                        quantity=services.plain_quantity(batch.quantity),
                        unit=part.unit,
                        code=part.code,
                        batch=batch.batch_number,
                        receipt=batch.receipt_number,
                    ),
                )
                return redirect(reverse("parts:receive"))
    return render(request, "parts/receive.html", {"form": form, "store": store}, status=400 if form.errors else 200)


def part_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add a part to the group's catalogue, or change one."""
    require(request.user, C.MANAGE_PARTS)
    part = _visible_part(request, pk) if pk is not None else None
    store = _acting_store(request)
    group = part.group if part else store.group
    initial = {field: getattr(part, field) for field in PART_FIELDS} if part else {}
    form = PartForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.part_save(group=group, by=request.user, part=part, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("parts:part", pk=saved.pk)
    return render(request, "parts/part_form.html", {"form": form, "part": part}, status=400 if form.errors else 200)


urlpatterns: list[URLPattern] = [
    path("parts/", stock_list, name="stock"),
    path("parts/receive/", receive, name="receive"),
    path("parts/catalogue/new/", part_edit, name="part-new"),
    path("parts/<int:pk>/", part_detail, name="part"),
    path("parts/<int:pk>/edit/", part_edit, name="part-edit"),
    path("parts/<int:pk>/stock/<int:store>/", stock_settings, name="stock-settings"),
    path("parts/batches/<int:pk>/stocktake/", batch_stocktake, name="stocktake"),
]
