"""Reads for customers: scoped lists, search (by hashes for phone numbers) and masked display values."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from aftersales.core.models import AuditEntry
from aftersales.core.scoping import store_ids_where
from aftersales.customers import crypto
from aftersales.customers.models import Consent, ConsentEvent, Customer, CustomerStoreLink, Vehicle
from aftersales.customers.validators import (
    format_plate,
    mask_address,
    mask_id_number,
    mask_mobile,
    mask_plate,
    normalize_mobile,
)
from aftersales.organisation.models import Store
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
        .prefetch_related(Prefetch("store_links", queryset=CustomerStoreLink.objects.select_related("store")))
        .order_by("-created_at", "-id")
    )


def group_matches(*, user: Any, query: str, exclude_store_ids: frozenset[int]) -> list[Customer]:
    """Customers of the user's dealer groups found by an exact identifier — the full mobile number, plate or VIN —
    who have no link yet with the stores the user is looking at: staff can serve them at their store.
    A name or a fragment never reaches across stores (PIPL: the least personal data needed)."""
    condition = _exact_identifier(query)
    if condition is None:
        return []
    group_ids = Store.objects.filter(pk__in=store_ids_where(user, Capability.VIEW_CUSTOMERS)).values("group_id")
    linked_here = CustomerStoreLink.objects.filter(store_id__in=exclude_store_ids).values("customer_id")
    return list(
        Customer.objects.filter(condition, group_id__in=group_ids)
        .exclude(pk__in=linked_here)
        .select_related("store")
        .prefetch_related("vehicles")
        .distinct()
        .order_by("-id")[:5]
    )


def _exact_identifier(query: str) -> Q | None:
    """The full mobile number, plate or VIN in `query` as a condition on customers; None for anything else."""
    compact = re.sub(r"[\s\-·\x00]", "", query).upper()
    if not compact:
        return None
    condition = Q(vehicles__vin=compact) | Q(vehicles__plate=compact)
    try:
        condition |= Q(phone_hash=crypto.search_hash("phone", normalize_mobile(compact)))
    except ValidationError:
        pass
    return condition


def linked_store_ids(customer: Customer) -> frozenset[int]:
    """The stores that deal with this customer; cached on the object for the request."""
    cached = getattr(customer, "_linked_store_ids", None)
    if cached is None and "store_links" in getattr(customer, "_prefetched_objects_cache", {}):
        cached = frozenset(link.store_id for link in customer.store_links.all())
    if cached is None:
        cached = frozenset(CustomerStoreLink.objects.filter(customer=customer).values_list("store_id", flat=True))
        customer._linked_store_ids = cached  # type: ignore[attr-defined]
    return cached


def acting_store_id(user: Any, capability: str, customer: Customer) -> int | None:
    """A store linked to the customer where `user` holds `capability` (the registering store first), or None."""
    stores = store_ids_where(user, capability) & linked_store_ids(customer)
    if not stores:
        return None
    return customer.store_id if customer.store_id in stores else min(stores)


def serving_store_id(customer: Customer, allowed: Callable[[int], bool]) -> int:
    """The store that acts for a group customer: the first linked store (the registering one first) where
    `allowed(store_id)` holds; the registering store when none does, so the caller's own check refuses."""
    linked = linked_store_ids(customer)
    for store_id in sorted(linked, key=lambda pk: (pk != customer.store_id, pk)):
        if allowed(store_id):
            return store_id
    return customer.store_id


def acting_store(user: Any, capability: str, customer: Customer) -> Store | None:
    store_id = acting_store_id(user, capability, customer)
    return None if store_id is None else Store.objects.get(pk=store_id)


def is_linked(customer: Customer, store_id: int) -> bool:
    """Does the store deal with this customer (registered, booked, visited or served)?"""
    return store_id in linked_store_ids(customer)


def may_on_customer(user: Any, capability: str, customer: Customer) -> bool:
    return acting_store_id(user, capability, customer) is not None


def customer_stores(customer: Customer) -> list[CustomerStoreLink]:
    """The stores that deal with the customer, oldest relationship first."""
    return list(customer.store_links.select_related("store").order_by("created_at", "id"))


def group_customer_for_serving(*, group_ids: set[int], pk: Any, query: str) -> Customer:
    """A customer of the store's group whom `query` names exactly (full mobile, plate or VIN), to be linked to
    the store; 404 otherwise, so an id alone never opens another store's file."""
    condition = _exact_identifier(query)
    try:
        if condition is None:
            raise Customer.DoesNotExist
        return Customer.objects.filter(condition, pk=int(pk), group_id__in=group_ids).distinct().get()
    except (Customer.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No customer of this group matches.") from exc


def customer_get_for_user(*, user: Any, pk: Any) -> Customer:
    return (
        Customer.objects.select_related("store", "store__group", "group", "referred_by_customer", "referred_by_staff")
        .prefetch_related(Prefetch("store_links", queryset=CustomerStoreLink.objects.select_related("store")))
        .get_for_user_or_404(user, pk=pk)
    )


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
    return may_on_customer(user, Capability.REVEAL_PERSONAL, customer)


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
