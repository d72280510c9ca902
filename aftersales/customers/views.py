"""Customer pages.  Each view resolves the scoped object, validates the form, calls one service, renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core.pagination import page_of
from aftersales.customers import selectors, services
from aftersales.customers.choices import ConsentPurpose
from aftersales.customers.forms import ConsentForm, CustomerForm, NewCustomerConsentForm, VehicleForm, apply_errors
from aftersales.customers.models import Customer, LinkReason
from aftersales.customers.validators import format_plate, mask_plate
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can


def _require(request: HttpRequest, capability: Capability, store_id: int | None = None) -> None:
    if not user_can(request.user, capability, store_id):
        raise PermissionDenied(_("Your role may not do this."))


def _require_on(request: HttpRequest, capability: Capability, customer: Customer) -> None:
    """The capability in a store that deals with this customer (a group customer may deal with several)."""
    if not selectors.may_on_customer(request.user, capability, customer):
        raise PermissionDenied(_("Your role may not do this."))


def customer_list(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.VIEW_CUSTOMERS)
    query = request.GET.get("q", "").strip()[:60]
    customers = selectors.customer_list(user=request.user, store_ids=current_store_ids(request), query=query)
    page = page_of(request, customers)
    rows = [
        {
            "customer": c,
            "phone": selectors.personal_view(c, user=request.user).phone,
            "plates": [
                {
                    "text": selectors.plate_for(
                        request.user, v.plate, selectors.acting_store_id(request.user, Capability.SEE_PLATES, c) or 0
                    )
                    or v.vin,
                    "nev": v.is_nev,
                }
                for v in c.vehicles.all()
            ],
            "models": [f"{v.brand} {v.model_name}" for v in c.vehicles.all()],
        }
        for c in page.object_list
    ]
    serving_stores = _editable_stores(request)
    found_in_group = (
        [
            {
                "customer": c,
                "phone": selectors.personal_view(c, user=request.user).phone,
                "plates": [mask_plate(v.plate) if v.plate else v.vin for v in c.vehicles.all()],
            }
            for c in selectors.group_matches(
                user=request.user, query=query, exclude_store_ids=current_store_ids(request)
            )
        ]
        if query and serving_stores
        else []
    )
    context = {
        "page": page,
        "rows": rows,
        "query": query,
        "found_in_group": found_in_group,
        "serving_stores": serving_stores,
        "can_create": user_can(request.user, Capability.EDIT_CUSTOMERS),
    }
    template = "customers/partials/_customer_table.html" if request.htmx else "customers/customer_list.html"
    return render(request, template, context)


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Capability.VIEW_CUSTOMERS)
    customer = selectors.customer_get_for_user(user=request.user, pk=pk)
    acting_store = selectors.acting_store_id(request.user, Capability.VIEW_CUSTOMERS, customer) or customer.store_id
    vehicles = [
        {"vehicle": v, "plate": selectors.plate_for(request.user, v.plate, acting_store)}
        for v in customer.vehicles.order_by("id")
    ]
    states = selectors.consent_states(customer)
    consents = [
        {"purpose": value, "label": label, "state": states.get(value)} for value, label in ConsentPurpose.choices
    ]
    can_edit = selectors.may_on_customer(request.user, Capability.EDIT_CUSTOMERS, customer)
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "personal": selectors.personal_view(customer, user=request.user),
            "can_reveal": selectors.can_reveal(request.user, customer),
            "can_edit": can_edit,
            "vehicles": vehicles,
            "consents": consents,
            "consent_form": ConsentForm() if can_edit else None,
            "consent_history": selectors.consent_history(customer),
            "stores": selectors.customer_stores(customer),
            "audit": selectors.customer_audit_trail(customer)
            if selectors.may_on_customer(request.user, Capability.VIEW_AUDIT, customer)
            else None,
        },
    )


def _editable_stores(request: HttpRequest) -> list[Store]:
    chosen = current_store(request)
    stores = [chosen] if chosen else list(Store.objects.for_user(request.user).order_by("code"))
    return [s for s in stores if user_can(request.user, Capability.EDIT_CUSTOMERS, s.pk)]


def customer_create(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.EDIT_CUSTOMERS)
    stores = _editable_stores(request)
    if not stores:
        raise PermissionDenied(_("Your role may not register customers in this store."))
    choices = [(s.pk, str(s)) for s in stores]
    form = CustomerForm(request.POST or None, store_choices=choices)
    consent_form = NewCustomerConsentForm(request.POST or None, prefix="consent")
    if request.method == "POST" and form.is_valid() and consent_form.is_valid():
        data = dict(form.cleaned_data)
        store_id = data.pop("store", None) or stores[0].pk
        store = next(s for s in stores if s.pk == store_id)
        try:
            customer = services.customer_create(
                store=store,
                by=request.user,
                consents=consent_form.answers(),
                consent_channel=consent_form.cleaned_data["consent_channel"],
                **data,
            )
        except ValidationError as exc:
            apply_errors(form, exc.message_dict)
        else:
            messages.success(request, _("Customer {name} registered.").format(name=customer.name))
            return redirect("customers:customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "consent_form": consent_form, "title": _("New customer")},
    )


def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(user=request.user, pk=pk)
    _require_on(request, Capability.EDIT_CUSTOMERS, customer)
    initial = {
        "name": customer.name,
        "gender": customer.gender,
        "is_priority": customer.is_priority,
        "birthday": customer.birthday.isoformat() if customer.birthday else "",
    }
    form = CustomerForm(request.POST or None, initial=initial, personal_optional=True)
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = {
            k: v for k, v in form.cleaned_data.items() if k not in ("phone", "id_number", "address") or v
        }
        try:
            services.customer_update(customer=customer, by=request.user, **data)
        except ValidationError as exc:
            apply_errors(form, exc.message_dict)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customers:customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/customer_form.html",
        {
            "form": form,
            "customer": customer,
            "title": _("Edit {name}").format(name=customer.name),
            "personal": selectors.personal_view(customer, user=request.user),
        },
    )


@require_POST
def customer_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    customer: Customer = selectors.customer_get_for_user(user=request.user, pk=pk)
    if not selectors.can_reveal(request.user, customer):
        raise PermissionDenied(_("Your role may not see this in full."))
    try:
        value = services.customer_reveal(customer=customer, field=field, by=request.user)
    except ValidationError:
        return HttpResponse(_("Unknown personal field."), status=400)
    return render(request, "customers/partials/_revealed.html", {"value": value, "field": field})


@require_POST
def consent_update(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(user=request.user, pk=pk)
    _require_on(request, Capability.EDIT_CUSTOMERS, customer)
    form = ConsentForm(request.POST)
    if form.is_valid():
        consent = services.consent_set(customer=customer, by=request.user, **form.cleaned_data)
        label = dict(ConsentPurpose.choices)[consent.purpose]
        if consent.granted:
            messages.success(request, _("Consent recorded: {purpose}.").format(purpose=label))
        else:
            messages.success(request, _("Withdrawn at once: {purpose}.").format(purpose=label))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else field
            messages.error(request, _("{field}: {error}").format(field=label, error=" ".join(errors)))
    return redirect("customers:customer-detail", pk=customer.pk)


def vehicle_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(user=request.user, pk=pk)
    _require_on(request, Capability.EDIT_CUSTOMERS, customer)
    form = VehicleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle = services.vehicle_create(customer=customer, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc.message_dict)
        else:
            messages.success(
                request, _("Vehicle {plate} added.").format(plate=format_plate(vehicle.plate) or vehicle.vin)
            )
            return redirect("customers:customer-detail", pk=customer.pk)
    return render(
        request, "customers/vehicle_form.html", {"form": form, "customer": customer, "title": _("Add a vehicle")}
    )


def vehicle_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = selectors.vehicle_get_for_user(user=request.user, pk=pk)
    _require_on(request, Capability.EDIT_CUSTOMERS, vehicle.customer)
    initial = {
        "vin": vehicle.vin,
        "plate": vehicle.plate,
        "brand": vehicle.brand,
        "model_name": vehicle.model_name,
        "powertrain": vehicle.powertrain,
        "mileage_km": vehicle.mileage_km,
        "purchase_date": vehicle.purchase_date.isoformat() if vehicle.purchase_date else "",
        "purchase_price": vehicle.purchase_price if vehicle.purchase_price is not None else "",
        "insurance_expires_on": vehicle.insurance_expires_on.isoformat() if vehicle.insurance_expires_on else "",
        "inspection_due_on": vehicle.inspection_due_on.isoformat() if vehicle.inspection_due_on else "",
    }
    form = VehicleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.vehicle_update(vehicle=vehicle, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc.message_dict)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customers:customer-detail", pk=vehicle.customer_id)
    return render(
        request,
        "customers/vehicle_form.html",
        {"form": form, "customer": vehicle.customer, "vehicle": vehicle, "title": _("Edit vehicle")},
    )


@require_POST
def customer_serve_here(request: HttpRequest, pk: int) -> HttpResponse:
    """Link a customer of the group, found by an exact mobile, plate or VIN, to a store of the user's."""
    stores = {s.pk: s for s in _editable_stores(request)}
    customer = selectors.group_customer_for_serving(
        group_ids={s.group_id for s in stores.values()}, pk=pk, query=request.POST.get("q", "")[:60]
    )
    try:
        store = stores[int(request.POST.get("store", ""))]
    except (KeyError, ValueError):
        raise PermissionDenied(_("Your role may not register customers in this store.")) from None
    if store.group_id != customer.group_id:
        raise PermissionDenied(_("Your role may not register customers in this store."))
    services.customer_link_store(customer=customer, store=store, by=request.user, reason=LinkReason.SERVE)
    messages.success(
        request, _("{name} is now also a customer of {store}.").format(name=customer.name, store=store.name)
    )
    return redirect("customers:customer-detail", pk=customer.pk)
