"""Reads for customers: scoped lists, search (by hashes for phone numbers) and masked display values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from aftersales.core.models import AuditEntry
from aftersales.customers import crypto
from aftersales.customers.models import Consent, ConsentEvent, Customer, Vehicle
from aftersales.customers.validators import (
    format_plate,
    mask_address,
    mask_id_number,
    mask_mobile,
    mask_plate,
    normalize_mobile,
)
from aftersales.organisation.permissions import Capability, user_can

_FOUR_DIGITS = re.compile(r"^\d{4}$")


def customer_search_filter(query: str) -> Q:
    """What a search box text matches: full mobile or its last four digits (through keyed hashes),
    a plate or VIN fragment, or part of the name."""
    text = " ".join(query.replace("\x00", "").split())
    if not text:
        return Q()
    compact = re.sub(r"[\s\-·]", "", text).upper()
    condition = Q(name__icontains=text)
    if _FOUR_DIGITS.match(compact):
        condition |= Q(phone_last4_hash=crypto.search_hash("phone4", compact))
    else:
        try:
            condition |= Q(phone_hash=crypto.search_hash("phone", normalize_mobile(compact)))
        except ValidationError:
            pass
    if len(compact) >= 3:
        condition |= Q(vehicles__plate__icontains=compact) | Q(vehicles__vin__icontains=compact)
    return condition


def customer_list(*, user: Any, store_ids: frozenset[int], query: str = "") -> QuerySet[Customer]:
    """Customers of the given stores (narrowed to what the user may see), newest first, vehicles prefetched."""
    customers = Customer.objects.for_user(user, store_ids=store_ids)
    if query.strip():
        matching = Customer.objects.filter(customer_search_filter(query)).values("pk")
        customers = customers.filter(pk__in=matching)
    return (
        customers.select_related("store")
        .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.select_related("store").order_by("id")))
        .order_by("-created_at", "-id")
    )


def customer_get_for_user(*, user: Any, pk: Any) -> Customer:
    return Customer.objects.select_related("store", "store__group").get_for_user_or_404(user, pk=pk)


def vehicle_list(*, user: Any, store_ids: frozenset[int], query: str = "") -> QuerySet[Vehicle]:
    vehicles = Vehicle.objects.for_user(user, store_ids=store_ids).select_related("customer", "store")
    compact = re.sub(r"[\s\-·\x00]", "", query).upper()
    if compact:
        vehicles = vehicles.filter(Q(plate__icontains=compact) | Q(vin__icontains=compact))
    return vehicles.order_by("-created_at", "-id")


def vehicle_get_for_user(*, user: Any, pk: Any) -> Vehicle:
    return Vehicle.objects.select_related("customer", "store").get_for_user_or_404(user, pk=pk)


@dataclass(frozen=True)
class PersonalView:
    """Personal fields as this user may see them: clear for roles that need them, masked otherwise."""

    phone: str
    id_number: str
    address: str
    masked: bool


def personal_view(customer: Customer, *, user: Any) -> PersonalView:
    """Masked values; staff who may reveal still see the mask first and unmask one field at a time."""
    return PersonalView(
        phone=mask_mobile(customer.phone),
        id_number=mask_id_number(customer.id_number) if customer.id_number_encrypted else "",
        address=mask_address(customer.address) if customer.address_encrypted else "",
        masked=True,
    )


def can_reveal(user: Any, customer: Customer) -> bool:
    return user_can(user, Capability.REVEAL_PERSONAL, customer.store_id)


def plate_for(user: Any, plate: str, store_id: int) -> str:
    """Plates are shown to staff who work with the car; others see 京A·***45."""
    if not plate:
        return ""
    if user_can(user, Capability.SEE_PLATES, store_id):
        return format_plate(plate)
    return mask_plate(plate)


def consent_states(customer: Customer) -> dict[str, Consent]:
    return {c.purpose: c for c in Consent.objects.filter(customer=customer)}


def consent_history(customer: Customer, limit: int = 20) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(customer=customer).select_related("recorded_by")[:limit]


def customer_audit_trail(customer: Customer, limit: int = 20) -> QuerySet[AuditEntry]:
    vehicle_ids = [str(pk) for pk in customer.vehicles.values_list("pk", flat=True)]
    return AuditEntry.objects.filter(
        Q(object_type="customers.customer", object_id=str(customer.pk))
        | Q(object_type="customers.vehicle", object_id__in=vehicle_ids)
    ).select_related("actor")[:limit]
