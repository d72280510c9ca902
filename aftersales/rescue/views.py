"""The rescue pages: the group's live board (refreshed by htmx), taking a request, one request with its clocks,
moves and the vehicle's history across the group, the stores' rescue bases; and the customer's phone pages (ask
for help, then follow the request through its signed link)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.language import customer_page
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability as C
from aftersales.organisation.rules import Party
from aftersales.organisation.selectors import staff_options
from aftersales.rescue import selectors, services
from aftersales.rescue.choices import RescueSource, RescueStatus, RoadType
from aftersales.rescue.forms import (
    CustomerRescueForm,
    DispatchForm,
    LocateForm,
    MatchForm,
    ReasonForm,
    RescueBaseForm,
    RescueRequestForm,
)
from aftersales.rescue.transitions import DISPATCH, MATCH, RESCUE, rescue_moves_for


def _board_context(request: HttpRequest) -> dict[str, Any]:
    ids = current_store_ids(request) & store_ids_where(request.user, C.HANDLE_RESCUE)
    rows = selectors.board(user=request.user, store_ids=ids)
    return {
        "rows": rows,
        "counts": selectors.board_counts(rows),
        "now": clock.now(),
        "bases": selectors.bases_for(store_ids=ids),
    }


def rescue_board(request: HttpRequest) -> HttpResponse:
    """The group's live board: open requests with their clocks, the bases' free crews.  htmx reloads the rows
    every 15 s (`?rows=1` answers the fragment)."""
    require(request.user, C.HANDLE_RESCUE)
    context = _board_context(request)
    if request.GET.get("rows") == "1":
        return render(request, "rescue/partials/_board.html", context)
    return render(request, "rescue/board.html", context)


def rescue_new(request: HttpRequest) -> HttpResponse:
    """Staff take a request (a call to the hotline); it is matched at once."""
    require(request.user, C.HANDLE_RESCUE)
    form = RescueRequestForm(request.POST or None, initial={"road_type": RoadType.CITY})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rescue = services.rescue_request_create(
                by=request.user,
                lat=data["latitude"],
                lon=data["longitude"],
                road_type=data["road_type"],
                fault=data["fault"],
                plate=data["plate"],
                vin=data["vin"],
                address=data["address"],
                source=RescueSource.STAFF,
                location_consent=data["location_consent"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            _say_outcome(request, rescue)
            return redirect("rescue:detail", pk=rescue.pk)
    return render(request, "rescue/new.html", {"form": form}, status=400 if form.errors else 200)


def _say_outcome(request: HttpRequest, rescue: Any) -> None:
    if rescue.status == RescueStatus.HANDED_12122:
        messages.warning(request, services.expressway_message())
    elif rescue.status == RescueStatus.MATCHED:
        messages.success(
            request,
            _("Matched to {store}, about {km} km away.").format(store=rescue.store.name, km=rescue.distance_km),
        )
    else:
        messages.warning(request, _("No store has a free rescue crew: the managers have been told."))


def _group_store_choices(rescue: Any) -> list[tuple[str, str]]:
    stores = Store.objects.filter(group_id=rescue.group_id, is_active=True, rescue_base__is_active=True)
    return [(str(s.pk), f"{s.code} · {s.name}") for s in stores.order_by("code")]


def rescue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: where, what, the clocks, what may be done now, and the vehicle's repair history in the
    group (for the crew)."""
    rescue = selectors.request_get_for_user(user=request.user, pk=pk)
    moves = rescue_moves_for(obj=rescue, user=request.user)
    names = {m.name for m in moves}
    match_form = MatchForm(
        request.POST if request.POST.get("action") == "match" else None, stores=_group_store_choices(rescue)
    )
    locate_form = LocateForm(
        request.POST if request.POST.get("action") == "locate" else None,
        initial={
            "latitude": rescue.latitude,
            "longitude": rescue.longitude,
            "road_type": rescue.road_type,
            "address": rescue.address,
        },
    )
    staff = staff_options(store_ids={rescue.store_id}) if "dispatch" in names else []
    dispatch_form = DispatchForm(request.POST if request.POST.get("action") == "dispatch" else None, staff=staff)
    reason_form = ReasonForm(request.POST if request.POST.get("action") in ("arrive", "complete", "cancel") else None)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in names:
            raise PermissionDenied(_("Your role may not do this."))
        try:
            if action == "locate" and locate_form.is_valid():
                data = locate_form.cleaned_data
                services.rescue_request_locate(
                    request=rescue,
                    by=request.user,
                    lat=data["latitude"],
                    lon=data["longitude"],
                    road_type=data["road_type"],
                    address=data["address"],
                )
                return redirect("rescue:detail", pk=rescue.pk)
            if action == "match" and match_form.is_valid():
                raw = match_form.cleaned_data["store"]
                store = Store.objects.filter(pk=int(raw), group_id=rescue.group_id).first() if raw else None
                services.rescue_match(request=rescue, by=request.user, store=store)
                return redirect("rescue:detail", pk=rescue.pk)
            if action == "dispatch" and dispatch_form.is_valid():
                raw = dispatch_form.cleaned_data["crew_lead"]
                lead = get_user_model().objects.filter(pk=int(raw)).first() if raw else None
                services.rescue_dispatch(
                    request=rescue, by=request.user, crew=dispatch_form.cleaned_data["crew"], crew_lead=lead
                )
                return redirect("rescue:detail", pk=rescue.pk)
            if action in ("arrive", "complete", "cancel") and reason_form.is_valid():
                target = RESCUE.get(action).target or ""
                services.rescue_transition(
                    request=rescue, by=request.user, target=target, reason=reason_form.cleaned_data["reason"]
                )
                return redirect("rescue:detail", pk=rescue.pk)
        except ValidationError as exc:
            form = {"match": match_form, "dispatch": dispatch_form, "locate": locate_form}.get(action, reason_form)
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("rescue:detail", pk=rescue.pk)
    invalid = bool(match_form.errors or dispatch_form.errors or reason_form.errors or locate_form.errors)
    return render(
        request,
        "rescue/detail.html",
        {
            "rescue": rescue,
            "moves": moves,
            "match_move": next((m for m in moves if m.via == MATCH and m.name == "match"), None),
            "dispatch_move": next((m for m in moves if m.via == DISPATCH), None),
            "plain_moves": [m for m in moves if m.name in ("arrive", "complete", "cancel")],
            "locate_move": next((m for m in moves if m.name == "locate"), None),
            "locate_form": locate_form,
            "match_form": match_form,
            "dispatch_form": dispatch_form,
            "reason_form": reason_form,
            "match_clock": selectors.match_clock(rescue),
            "response_clock": selectors.response_clock(rescue),
            "history": selectors.vehicle_history(rescue),
            "customer_link": selectors.request_link_token(rescue),
            "may_see_plates": can(request.user, C.SEE_PLATES, store_id=rescue.store_id),
        },
        status=400 if invalid else 200,
    )


def rescue_bases(request: HttpRequest) -> HttpResponse:
    """Every store the user handles rescues in or manages, with its base, crews and the crews out now."""
    ids = current_store_ids(request) & (
        store_ids_where(request.user, C.HANDLE_RESCUE) | store_ids_where(request.user, C.EDIT_STORE_SETTINGS)
    )
    if not ids:
        raise PermissionDenied(_("Your role may not do this."))
    editable = store_ids_where(request.user, C.EDIT_STORE_SETTINGS)
    return render(request, "rescue/bases.html", {"rows": selectors.bases_for(store_ids=ids), "editable": editable})


def rescue_base_edit(request: HttpRequest, store_id: int) -> HttpResponse:
    """A store's rescue base (its managers): coordinates, crews, whether it takes requests."""
    if store_id not in store_ids_where(request.user, C.EDIT_STORE_SETTINGS):
        raise Http404
    store = get_object_or_404(Store, pk=store_id)
    base = getattr(store, "rescue_base", None)
    initial = (
        {f: getattr(base, f) for f in ("latitude", "longitude", "crews", "is_active", "note")}
        if base is not None
        else {
            "latitude": store.latitude,
            "longitude": store.longitude,
            "crews": store.rescue_capacity or 1,
            "is_active": True,
        }
    )
    form = RescueBaseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.rescue_base_save(store=store, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Rescue base saved."))
            return redirect("rescue:bases")
    return render(request, "rescue/base_edit.html", {"form": form, "store": store}, status=400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------------------------
# The customer's pages


@login_not_required
@customer_page
def customer_new(request: HttpRequest, group_code: str) -> HttpResponse:
    """Ask for roadside help from a phone: the plate, where (road type), what happened; the location from the
    browser only after the consent box is ticked, or described in words."""
    group = get_object_or_404(DealerGroup, code=group_code)
    initial = {"road_type": RoadType.CITY, "plate": request.GET.get("plate", "")[:12]}
    form = CustomerRescueForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        has_point = data["latitude"] is not None
        try:
            rescue = services.rescue_request_create(
                by=Party.CUSTOMER,
                group=group,
                lat=data["latitude"] if data["location_consent"] else None,
                lon=data["longitude"] if data["location_consent"] else None,
                road_type=data["road_type"],
                fault=data["fault"],
                plate=data["plate"],
                address=data["address"],
                source=RescueSource.CUSTOMER,
                location_consent=data["location_consent"] or not has_point,
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            url = reverse("rescue:customer-request", args=[selectors.request_link_token(rescue)])
            return redirect(f"{url}?lang={get_language()}")
    return render(
        request, "rescue/customer/new.html", {"form": form, "group": group}, status=400 if form.errors else 200
    )


@login_not_required
@customer_page
def customer_request(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's view of their request: status, the store coming, when to expect the crew; cancel."""
    try:
        rescue = selectors.request_from_token(token)
    except ApplicationError as exc:
        return render(request, "service/customer/link_error.html", {"message": exc.message}, status=403)
    error = ""
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            services.rescue_transition(
                request=rescue,
                by=Party.CUSTOMER,
                target=RescueStatus.CANCELLED,
                reason=_("Cancelled by the customer"),
            )
        except (ApplicationError, PermissionDenied, ValidationError):
            error = _("The request can no longer be cancelled here. Please call the store.")
        else:
            return redirect(request.path + f"?lang={get_language()}")
    context = {
        "rescue": rescue,
        "eta": selectors.eta(rescue),
        "may_cancel": bool(RESCUE.offered(actor=Party.CUSTOMER, state=rescue.status, store_id=rescue.store_id)),
        "error": error,
        "expressway_message": services.expressway_message(),
        "now": clock.now(),
    }
    if request.GET.get("part") == "status":
        return render(request, "rescue/customer/partials/_status.html", context)
    return render(request, "rescue/customer/request.html", context)


urlpatterns: list[URLPattern] = [
    path("rescue/", rescue_board, name="board"),
    path("rescue/new/", rescue_new, name="new"),
    path("rescue/<int:pk>/", rescue_detail, name="detail"),
    path("rescue/bases/", rescue_bases, name="bases"),
    path("rescue/bases/<int:store_id>/", rescue_base_edit, name="base-edit"),
    path("rescue/help/<slug:group_code>/", customer_new, name="customer-new"),
    path("rescue/c/<str:token>/", customer_request, name="customer-request"),
]
