"""The rights-request API: integrators (the call centre, the OEM's privacy portal) log and read customers'
rights requests.  Mounted at /api/v1/ by config/api.py.

Logging needs LOG_RIGHTS_REQUESTS in the store; reading too (advisors, agents, managers, the privacy officer).  A
request of a store the caller does not work for answers 404 exactly like a missing one.  The answer, refusal and
identity check are made on the request's page (they export or erase data)."""

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import AfterValidator

from aftersales.core.api import MultiLine, ObjectId, OneLine
from aftersales.core.api_schema import choices_of
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer
from aftersales.organisation.access import store_by_code, store_ids_for
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Move
from aftersales.privacy import selectors, services
from aftersales.privacy.choices import RequestChannel, RequestScope
from aftersales.privacy.models import RightsRequest
from aftersales.privacy.transitions import rights_request_moves_for

router = Router(tags=["privacy"])


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(_local)]
StatusFilter = choices_of(RightsRequest, "status")
KindName = choices_of(RightsRequest, "kind")
ScopeName = choices_of(RightsRequest, "scope")


class RightsRequestIn(Schema):
    """A customer's request about their personal data (PIPL arts. 44-47), as received by an integration."""

    customer: ObjectId = Field(..., description="The customer's id")
    kind: KindName = Field(..., description="access, copy, correct, erase, withdraw or object")  # type: ignore[valid-type]
    scope: ScopeName = Field(RequestScope.ALL, description="all (default) or vehicle")  # type: ignore[valid-type]
    details: MultiLine = Field("", max_length=2000, description="What the customer asks, in their words")
    received_at: dt.datetime | None = Field(
        None, description="When it reached you (ISO 8601; the clock starts then); now when omitted, never future"
    )
    store: OneLine | None = Field(
        None, max_length=20, description="A store code; the customer's store where you may log requests if omitted"
    )


class MoveOut(Schema):
    """A move the rulebook offers the caller on this request now (rights_request_moves_for)."""

    name: str = Field(..., description="The move's name, e.g. verify_identity, answer, refuse")
    to: str | None = Field(None, alias="target", description="The status the move leads to, if it changes it")
    needs_reason: bool = Field(..., description="Whether the move needs a reason (a refusal does)")
    label: str = Field(..., description="The move in the caller's language")

    @staticmethod
    def resolve_label(obj: Move) -> str:
        return str(obj.label)


class RightsRequestOut(Schema):
    """A rights request with its clock: `due_at` is fixed at receipt (30 calendar days, or 10 working days on
    China's official calendar for erasing vehicle data; per-store settings)."""

    id: int
    number: str
    store: str
    customer: int = Field(..., alias="customer_id")
    kind: KindName  # type: ignore[valid-type]
    scope: ScopeName  # type: ignore[valid-type]
    channel: choices_of(RightsRequest, "channel")  # type: ignore[valid-type]
    details: str
    status: StatusFilter  # type: ignore[valid-type]
    received_at: LocalDateTime
    due_at: LocalDateTime
    owner: int | None = Field(None, alias="owner_id")
    identity_method: str
    identity_checked_at: LocalDateTime | None
    answer: str
    refusal_reason: str
    answered_at: LocalDateTime | None
    escalation_level: str
    created_at: LocalDateTime
    updated_at: LocalDateTime
    moves: list[MoveOut] = Field(..., description="The moves the caller may make now, from the rulebook")

    @staticmethod
    def resolve_store(obj: RightsRequest) -> str:
        return obj.store.code

    @staticmethod
    def resolve_moves(obj: RightsRequest, context: dict[str, Any]) -> list[Move]:
        return rights_request_moves_for(obj=obj, user=context["request"].auth)


class RightsRequestFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; all the caller's stores when omitted")
    status: StatusFilter | None = None  # type: ignore[valid-type]
    kind: KindName | None = None  # type: ignore[valid-type]
    open_only: bool = False
    customer: ObjectId | None = Field(None, description="Only this customer's requests (a customer id)")


def _caller(request: HttpRequest) -> Any:
    """The API user (set by the bearer-token authentication)."""
    return request.auth  # type: ignore[attr-defined]


def _store_for(request: HttpRequest, payload: RightsRequestIn, customer: Customer | None) -> Store | None:
    if payload.store:
        return store_by_code(_caller(request), payload.store, capability=Capability.LOG_RIGHTS_REQUESTS)
    if customer is None:
        return None
    store_id = customer_selectors.acting_store_id(_caller(request), Capability.LOG_RIGHTS_REQUESTS, customer)
    return Store.objects.filter(pk=store_id).first() if store_id else None


@router.post(
    "/rights-requests",
    response={201: RightsRequestOut},
    summary="Log a customer's rights request",
    description="201 with `id`, `number`, `status` (received) and `due_at` fixed at receipt. A bad field is 422 "
    "naming it; a customer the caller's stores do not deal with is 422 on `customer`, like an unknown id; a "
    "role that may not log requests is 403.",
)
def rights_request_create(request: HttpRequest, payload: RightsRequestIn) -> Any:
    if not selectors.may_log_somewhere(_caller(request)):
        raise PermissionDenied(_("Your role may not do this."))
    customer = Customer.objects.filter(pk=payload.customer).first()
    store = _store_for(request, payload, customer)
    if store is None:
        raise ValidationError({"customer": [_("No customer with this id in the store.")]})
    created = services.rights_request_log(
        store=store,
        customer=customer,
        kind=payload.kind,
        scope=payload.scope,
        channel=RequestChannel.API,
        details=payload.details,
        received_at=payload.received_at,
        by=_caller(request),
    )
    return 201, selectors.rights_request_get_for_user(user=_caller(request), pk=created.pk)


@router.get("/rights-requests", response=list[RightsRequestOut], summary="Rights requests of the caller's stores")
@paginate(BoundedPagination)
def rights_request_list(request: HttpRequest, filters: Query[RightsRequestFilter]) -> Any:
    rows = selectors.rights_request_list(
        user=_caller(request),
        store_ids=store_ids_for(_caller(request), filters.store),
        status="open" if filters.open_only else filters.status,
        kind=filters.kind,
        customer_id=filters.customer,
    )
    return sync_apply(rows, filters, default=("due_at", "id"))


@router.get("/rights-requests/{rights_request_id}", response=RightsRequestOut, summary="One rights request")
def rights_request_detail(request: HttpRequest, rights_request_id: int) -> Any:
    return selectors.rights_request_get_for_user(user=_caller(request), pk=rights_request_id)
