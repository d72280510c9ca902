"""`GET /api/v1/customers/{customer_id}/history`: a customer's history in one call (the read is
`selectors_history.customer_history`).  It sits with feedback, the lowest app that may read every section
(service, messaging, customers).  This router also mounts the outbox's `/messages` (messaging/api.py)."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import AfterValidator

from aftersales.core.api_schema import choices_of
from aftersales.customers.api import VehicleOut
from aftersales.customers.choices import Tier
from aftersales.customers.models import Customer
from aftersales.customers.validators import mask_mobile
from aftersales.feedback import selectors_history
from aftersales.feedback.models import Complaint, Suggestion, SurveyResponse
from aftersales.feedback.selectors_history import HISTORY_LIMIT
from aftersales.messaging.api import MessageOut
from aftersales.messaging.api import router as messages_router
from aftersales.service.api import AppointmentOut, RepairOrderSummaryOut

router = Router(tags=["customers"])
router.add_router("", messages_router)


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(_local)]


class HistoryCustomerOut(Schema):
    """The customer at the head of their history."""

    id: int
    store: str = Field(..., alias="store.code", description="The store where the customer's file was opened")
    name: str
    phone_masked: str
    is_priority: bool
    tier: Literal[tuple(Tier.values)] | None = Field(  # type: ignore[valid-type]
        ..., description="A, B, C or D; null without a closed visit"
    )
    created_at: LocalDateTime
    updated_at: LocalDateTime

    @staticmethod
    def resolve_phone_masked(obj: Customer) -> str:
        return mask_mobile(obj.phone)

    @staticmethod
    def resolve_tier(obj: Customer) -> str | None:
        return obj.tier or None


class HistoryOrderOut(RepairOrderSummaryOut):
    """A repair order in a customer's history, with its bill."""

    billed_total: Decimal | None = Field(None, description="Fixed at delivery; null before")
    bill_total: Decimal = Field(..., description="The sum of the approved lines (what the bill shows)")


class OrderTotalsOut(Schema):
    """Totals over all of a customer's repair orders."""

    visits: int = Field(..., description="Orders not cancelled, in the stores of this section")
    delivered: int
    billed: Decimal = Field(..., description="Sum of the delivered orders' bills (CNY)")
    last_arrived_at: LocalDateTime | None


class HistoryComplaintOut(Schema):
    """A complaint in a customer's history."""

    id: int
    store: str = Field(..., alias="store.code")
    order: int | None = Field(None, alias="order_id")
    channel: choices_of(Complaint, "channel")  # type: ignore[valid-type]
    category: choices_of(Complaint, "category")  # type: ignore[valid-type]
    priority: choices_of(Complaint, "priority")  # type: ignore[valid-type]
    status: choices_of(Complaint, "status")  # type: ignore[valid-type]
    description: str
    received_at: LocalDateTime
    closed_at: LocalDateTime | None
    reopened_count: int


class HistorySuggestionOut(Schema):
    """A suggestion in a customer's history."""

    id: int
    store: str = Field(..., alias="store.code")
    channel: choices_of(Suggestion, "channel")  # type: ignore[valid-type]
    status: choices_of(Suggestion, "status")  # type: ignore[valid-type]
    description: str
    decision: choices_of(Suggestion, "decision")  # type: ignore[valid-type]
    received_at: LocalDateTime
    decided_at: LocalDateTime | None


class HistorySurveyOut(Schema):
    """A survey response in a customer's history."""

    id: int
    store: str = Field(..., alias="store.code")
    order: int | None = Field(None, alias="order_id")
    channel: choices_of(SurveyResponse, "channel")  # type: ignore[valid-type]
    overall: int | None
    recommend: int | None
    submitted_at: LocalDateTime


SECTION = "Newest first, at most {limit}; null when your role may not read this section in any of your stores."


class CustomerHistoryOut(Schema):
    """A customer's history in one answer: vehicles, appointments, orders, complaints, surveys, messages."""

    customer: HistoryCustomerOut
    vehicles: list[VehicleOut] = Field(..., description=f"Newest first, at most {HISTORY_LIMIT}")
    appointments: list[AppointmentOut] | None = Field(..., description=SECTION.format(limit=HISTORY_LIMIT))
    repair_orders: list[HistoryOrderOut] | None = Field(..., description=SECTION.format(limit=HISTORY_LIMIT))
    order_totals: OrderTotalsOut | None = Field(..., description="Over all the orders, not only those listed")
    complaints: list[HistoryComplaintOut] | None = Field(..., description=SECTION.format(limit=HISTORY_LIMIT))
    suggestions: list[HistorySuggestionOut] | None = Field(..., description=SECTION.format(limit=HISTORY_LIMIT))
    survey_responses: list[HistorySurveyOut] | None = Field(..., description=SECTION.format(limit=HISTORY_LIMIT))
    messages: list[MessageOut] | None = Field(..., description=SECTION.format(limit=HISTORY_LIMIT))


@router.get(
    "/customers/{customer_id}/history",
    response=CustomerHistoryOut,
    summary="A customer's history in one call",
    description=f"The customer, their vehicles, appointments, repair orders (status, bill total, and totals over "
    f"all orders), complaints, suggestions, survey responses and messages; each section newest first and at most "
    f"{HISTORY_LIMIT} rows (page through the lists with `customer=` for more). 404 for a customer outside your "
    "stores, 403 for a role that may not read customers. Each section follows the rule of its own list: "
    "appointments and repair orders need the service view, complaints, suggestions, surveys and messages the "
    "feedback view; only rows of stores where you hold it are included, and a section you may read in none of "
    "your stores is null (withheld), not an empty list. Never a message's text nor an address in clear.",
)
def customer_history(request: HttpRequest, customer_id: int) -> Any:
    return selectors_history.customer_history(user=request.auth, pk=customer_id)
