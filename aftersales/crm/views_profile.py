"""The customer 360° profile and the vehicle page (一车一档): read-only pages over the group-wide files.

The record is looked up first through the scoped selectors, so another group's or another store's customer or
vehicle is 404 whatever the method; then the user must hold VIEW_CUSTOMERS (or VIEW_SERVICE, for the vehicle) in
a store that deals with the customer (403 otherwise); the pages answer GET only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from aftersales.crm import profile
from aftersales.crm.views import TIER_BADGES
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer
from aftersales.organisation.permissions import Capability

C = Capability


def _may_see(request: HttpRequest, customer: Customer, *capabilities: Capability) -> None:
    if not any(customer_selectors.may_on_customer(request.user, cap, customer) for cap in capabilities):
        raise PermissionDenied(_("Your role may not do this."))


def customer_profile(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_selectors.customer_get_for_user(user=request.user, pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    _may_see(request, customer, C.VIEW_CUSTOMERS)
    data = profile.customer_profile(customer=customer, user=request.user)
    # The file is group-wide, but what each section tells follows the reader's role in a store dealing with the
    # customer: technicians and parts clerks see the person and the cars, not complaints, messages or bills.
    may = customer_selectors.may_on_customer
    return render(
        request,
        "crm/profile/customer.html",
        {
            "p": data,
            "customer": customer,
            "allowed": profile.Allowed.for_user(request.user),
            "tier_badge": TIER_BADGES.get(customer.tier or "none", "secondary"),
            "tier_badges": TIER_BADGES,
            "several_stores": len(data.stores) > 1,
            "show_service": may(request.user, C.VIEW_SERVICE, customer),
            "show_feedback": may(request.user, C.VIEW_FEEDBACK, customer),
        },
    )


def vehicle_profile(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = customer_selectors.vehicle_get_for_user(user=request.user, pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    _may_see(request, vehicle.customer, C.VIEW_CUSTOMERS, C.VIEW_SERVICE)
    data = profile.vehicle_page(vehicle=vehicle, user=request.user)
    return render(
        request,
        "crm/profile/vehicle.html",
        {
            "v": data,
            "vehicle": vehicle,
            "allowed": profile.Allowed.for_user(request.user),
            "may_see_owner": customer_selectors.may_on_customer(request.user, C.VIEW_CUSTOMERS, vehicle.customer),
        },
    )


urlpatterns: list[URLPattern] = [
    path("crm/customers/<int:pk>/", customer_profile, name="customer-profile"),
    path("crm/vehicles/<int:pk>/", vehicle_profile, name="vehicle-profile"),
]
