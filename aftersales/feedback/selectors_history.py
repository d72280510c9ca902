"""A customer's history in one read (`GET /api/v1/customers/{id}/history`), for call-centre tools and integrators.

The customer is resolved like the customer detail (404 outside the caller's stores) and read with VIEW_CUSTOMERS
in a store dealing with them (403 otherwise, like the 360° page).  Each section then follows the rule of its own
list: only rows of stores where the caller holds that list's capability — appointments and repair orders
VIEW_SERVICE, complaints, suggestions, survey responses and messages VIEW_FEEDBACK.  A section the caller may not
read in any of their stores is None ("withheld"), distinct from an empty list ("none").

Every section is newest first and bounded (HISTORY_LIMIT rows); each is one query (survey answers are not
included; order totals are summed in SQL), so the cost does not grow with the customer's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from aftersales.core.scoping import store_ids_where
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer, Vehicle
from aftersales.feedback.models import Complaint, Suggestion, SurveyResponse
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.access import require
from aftersales.organisation.permissions import Capability
from aftersales.service.choices import LineDecision, RepairOrderStatus
from aftersales.service.models import Appointment, EstimateLine, RepairOrder

C = Capability
HISTORY_LIMIT = 50  # rows per section, newest first
MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)


@dataclass(frozen=True)
class OrderTotals:
    """Over every order of the section's stores (not only the HISTORY_LIMIT shown), cancelled ones left out."""

    visits: int
    delivered: int
    billed: Decimal
    last_arrived_at: Any


@dataclass
class CustomerHistory:
    customer: Customer
    vehicles: list[Vehicle]
    appointments: list[Appointment] | None
    repair_orders: list[Any] | None  # RepairOrder rows with `bill_total` (the approved lines' sum)
    order_totals: OrderTotals | None
    complaints: list[Complaint] | None
    suggestions: list[Suggestion] | None
    survey_responses: list[SurveyResponse] | None
    messages: list[OutboxMessage] | None


def customer_history(*, user: Any, pk: Any, limit: int = HISTORY_LIMIT) -> CustomerHistory:
    """The customer's file and, per section the caller may read, its latest `limit` rows in their stores."""
    customer = customer_selectors.customer_get_for_user(user=user, pk=pk)
    store_id = customer_selectors.acting_store_id(user, C.VIEW_CUSTOMERS, customer)
    require(user, C.VIEW_CUSTOMERS, store_id=store_id if store_id is not None else customer.store_id)
    service = store_ids_where(user, C.VIEW_SERVICE)
    feedback = store_ids_where(user, C.VIEW_FEEDBACK)
    vehicles = list(customer.vehicles.select_related("store").order_by("-created_at", "-id")[:limit])

    appointments = orders = totals = None
    if service:
        appointments = list(
            Appointment.objects.filter(customer=customer, store_id__in=service)
            .select_related("store", "slot")
            .order_by("-slot__start", "-id")[:limit]
        )
        approved = (
            EstimateLine.objects.filter(estimate__order=OuterRef("pk"), decision=LineDecision.APPROVED)
            .order_by()
            .values("estimate__order")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        mine = RepairOrder.objects.filter(customer=customer, store_id__in=service)
        orders = list(
            mine.select_related("store", "bay")
            .annotate(bill_total=Coalesce(Subquery(approved, output_field=MONEY), ZERO))
            .order_by("-arrived_at", "-id")[:limit]
        )
        delivered = Q(status=RepairOrderStatus.DELIVERED)
        row = (
            mine.exclude(status=RepairOrderStatus.CANCELLED)
            .order_by()
            .aggregate(
                visits=Count("pk"),
                delivered=Count("pk", filter=delivered),
                billed=Coalesce(Sum("billed_total", filter=delivered), ZERO, output_field=MONEY),
                last=Max("arrived_at"),
            )
        )
        totals = OrderTotals(row["visits"], row["delivered"], row["billed"], row["last"])

    complaints = suggestions = responses = messages = None
    if feedback:
        complaints = list(
            Complaint.objects.filter(customer=customer, store_id__in=feedback)
            .select_related("store")
            .order_by("-received_at", "-id")[:limit]
        )
        suggestions = list(
            Suggestion.objects.filter(customer=customer, store_id__in=feedback)
            .select_related("store")
            .order_by("-received_at", "-id")[:limit]
        )
        responses = list(
            SurveyResponse.objects.filter(customer=customer, store_id__in=feedback)
            .select_related("store")
            .order_by("-submitted_at", "-id")[:limit]
        )
        messages = list(
            OutboxMessage.objects.filter(customer=customer, store_id__in=feedback)
            .select_related("store")
            .order_by("-created_at", "-id")[:limit]
        )
    return CustomerHistory(
        customer=customer,
        vehicles=vehicles,
        appointments=appointments,
        repair_orders=orders,
        order_totals=totals,
        complaints=complaints,
        suggestions=suggestions,
        survey_responses=responses,
        messages=messages,
    )
