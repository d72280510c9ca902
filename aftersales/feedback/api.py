"""API of the voice of the customer: complaints, suggestions, follow-ups, surveys, service recovery, CAPA and
the month's frequent issues.  Each handler parses, resolves the scoped object (404 for other stores), asks the
rulebook (`transitions`) whether the caller may make the move (403), calls one service or selector and answers.
Staff named in a body resolve through `organisation.access.staff_member`: another store's person answers exactly
like a missing id.

`POST /complaints` and `POST /suggestions` (their fields and the due times they answer) are a public contract:
review-site importers and call-centre tools rely on them.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import AfterValidator, ConfigDict

from aftersales.core.api import (
    HappenedAt,
    HappenedDate,
    IntOrMultiLine,
    MultiLine,
    ObjectId,
    OneLine,
    PlannedDate,
)
from aftersales.core.api_schema import choices_of
from aftersales.core.external_refs import filter_by_external_ref
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.customers.models import Customer
from aftersales.feedback import selectors, services, transitions
from aftersales.feedback.api_history import router as history_router
from aftersales.feedback.choices import (
    CallOutcome,
    CapaStatus,
    ComplaintCategory,
    ComplaintPriority,
    ComplaintStatus,
    FeedbackChannel,
    RecoveryOutcome,
    SuggestionDecision,
    SuggestionStatus,
    SurveyChannel,
)
from aftersales.feedback.models import (
    CallAttempt,
    Capa,
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyItem,
    SurveyResponse,
)
from aftersales.feedback.services.followups import OUTCOME_MOVES
from aftersales.feedback.transitions import (
    CAPA,
    CAPA_ACTION_OWNER_ROLES,
    COMPLAINT,
    COMPLAINT_HANDLER_ROLES,
    FOLLOW_UP,
    RECOVERY,
    SUGGESTION,
    SURVEY,
    SURVEY_MOVE_FOR_CHANNEL,
    capa_step,
)
from aftersales.organisation.access import require, staff_member, store_by_code, store_ids_for
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Move
from aftersales.service.models import RepairOrder

router = Router(tags=["feedback"])

ChannelName = Literal["phone", "on_site", "customer_page", "follow_up", "online_review"]
CategoryName = Literal["attitude", "quality", "price", "parts", "waiting", "other"]
PriorityName = Literal["urgent", "important", "general"]
ComplaintStatusName = Literal["new", "acknowledged", "contacted", "resolved", "closed"]
SuggestionStatusName = Literal["open", "decided", "closed"]
DecisionName = Literal["adopt", "not_adopt"]
OutcomeName = Literal["reached", "no_answer", "wrong_number", "refused"]
RecoveryOutcomeName = Literal["contacted", "resolved", "refused"]
SurveyChannelName = Literal["delivery", "follow_up_call", "customer_link", "campaign"]
CapaStatusName = Literal["open", "analysing", "acting", "verifying", "closed"]

assert set(ChannelName.__args__) == set(FeedbackChannel.values)  # noqa: S101 - the contract follows the model
assert set(CategoryName.__args__) == set(ComplaintCategory.values)  # noqa: S101
assert set(PriorityName.__args__) == set(ComplaintPriority.values)  # noqa: S101
assert set(ComplaintStatusName.__args__) == set(ComplaintStatus.values)  # noqa: S101
assert set(SuggestionStatusName.__args__) == set(SuggestionStatus.values)  # noqa: S101
assert set(DecisionName.__args__) == set(SuggestionDecision.values)  # noqa: S101
assert set(OutcomeName.__args__) == set(CallOutcome.values)  # noqa: S101
assert set(RecoveryOutcomeName.__args__) == set(RecoveryOutcome.values)  # noqa: S101
assert set(SurveyChannelName.__args__) == set(SurveyChannel.values)  # noqa: S101
assert set(CapaStatusName.__args__) == set(CapaStatus.values)  # noqa: S101


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes are answered in the store's time zone, with its offset (+08:00)."""
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(_local)]
Note = Field("", max_length=500)
# The record's id in the system it came from (core/external_refs.py); the same pair twice is 409.
EXTERNAL_SOURCE_HELP = "The system the record comes from, e.g. callcenter or dianping (with external_ref)"
EXTERNAL_REF_HELP = (
    "The record's id in that system: unique per source in the dealer group; a second record with the same pair "
    "is 409 duplicate_external_ref naming `existing_id`"
)


# --------------------------------------------------------------------------------------------- helpers


READ = Capability.VIEW_FEEDBACK  # reading a record; every change is a move of the rulebook


def _customer(store: Store, pk: int) -> Customer | None:
    return Customer.objects.filter(pk=pk, store=store).first()


class MoveOut(Schema):
    """A move the caller may make on the record now, from the rulebook."""

    name: str
    to: str | None = Field(None, alias="target")
    needs_reason: bool
    label: str

    @staticmethod
    def resolve_label(obj: Move) -> str:
        return str(obj.label)


MOVES_DESCRIPTION = (
    "The moves the caller may make now (each has its own endpoint), from the rulebook the services enforce."
)


def _name(user: Any) -> str | None:
    if user is None:
        return None
    profile = getattr(user, "staff_profile", None)
    return getattr(profile, "display_name", "") or user.get_username()


# --------------------------------------------------------------------------------------------- complaints


class ComplaintIn(Schema):
    """A customer's complaint to log: store, customer, channel, category, priority and what happened."""

    store: OneLine = Field(..., description="Store code, e.g. SH01")
    customer: int = Field(..., description="Customer id (of the same store)")
    channel: ChannelName
    category: CategoryName
    priority: PriorityName
    description: MultiLine = Field(..., max_length=5000)
    received_at: HappenedAt | None = Field(
        None,
        description="When the complaint reached the store, ISO 8601; any past time, never the future. "
        "The clocks start here. Defaults to now.",
    )
    order: int | None = Field(None, description="The repair order it is about (optional)")
    external_source: OneLine | None = Field(None, max_length=40, description=EXTERNAL_SOURCE_HELP)
    external_ref: OneLine | None = Field(None, max_length=100, description=EXTERNAL_REF_HELP)

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "store": "SH01",
                "customer": 3001,
                "channel": "phone",
                "category": "quality",
                "priority": "important",
                "description": "保养后第二天底盘有异响，希望尽快检查",
                "received_at": "2026-12-05T09:30:00+08:00",
                "order": 5120,
                "external_source": "callcenter",
                "external_ref": "CC-20261205-0042",
            }
        }
    )


class ComplaintOut(Schema):
    """A complaint (投诉): who, what, its priority, state, owner and the time limits of handling it."""

    id: int
    store: str
    customer: int = Field(..., alias="customer_id")
    order: int | None = Field(None, alias="order_id")
    channel: choices_of(Complaint, "channel")  # type: ignore[valid-type]
    category: choices_of(Complaint, "category")  # type: ignore[valid-type]
    priority: choices_of(Complaint, "priority")  # type: ignore[valid-type]
    description: str
    status: choices_of(Complaint, "status")  # type: ignore[valid-type]
    next_states: list[str]
    received_at: LocalDateTime
    logged_at: LocalDateTime
    owner: int | None = Field(None, alias="owner_id")
    acknowledge_due: LocalDateTime
    contact_due: LocalDateTime
    resolve_due: LocalDateTime
    moves: list[MoveOut] = Field(..., description=MOVES_DESCRIPTION)
    acknowledged_at: LocalDateTime | None
    contacted_at: LocalDateTime | None
    resolved_at: LocalDateTime | None
    resolution: str
    customer_confirmed_at: LocalDateTime | None
    satisfaction_with_handling: int | None
    closed_at: LocalDateTime | None
    reopened_count: int
    external_source: str = Field(..., description="The system `external_ref` comes from; empty without one")
    external_ref: str = Field(..., description="The record's id in that system; empty without one")

    @staticmethod
    def resolve_store(obj: Complaint) -> str:
        return obj.store.code

    @staticmethod
    def resolve_next_states(obj: Complaint) -> list[str]:
        return sorted(transitions.COMPLAINT_FLOW[obj.status])

    @staticmethod
    def resolve_moves(obj: Complaint, context: dict[str, Any]) -> list[Move]:
        return transitions.complaint_moves_for(complaint=obj, user=context["request"].auth, via=None)


class ClockOut(Schema):
    """One time limit of a complaint (acknowledge, contact, resolve): due, done, countdown and escalation."""

    clock: choices_of(ComplaintEscalation, "clock")  # type: ignore[valid-type]
    due: LocalDateTime
    done_at: LocalDateTime | None
    countdown: str
    breached: bool
    escalated_to: choices_of(ComplaintEscalation, "level", empty=True) = Field(  # type: ignore[valid-type]
        ..., description="Who the breach was escalated to; '' while not escalated"
    )


class ComplaintEventOut(Schema):
    """A status change of a complaint: from, to, when, by whom, with a note."""

    from_status: choices_of(ComplaintEvent, "from_status") = Field(  # type: ignore[valid-type]
        ..., description="'' for the complaint's first event"
    )
    to_status: choices_of(ComplaintEvent, "to_status")  # type: ignore[valid-type]
    at: LocalDateTime
    by: str | None
    note: str

    @staticmethod
    def resolve_by(obj: Any) -> str | None:
        return _name(obj.by)


class TransferOut(Schema):
    """A hand-over of a complaint to another owner, with the reason."""

    from_owner: int | None = Field(None, alias="from_owner_id")
    to_owner: int | None = Field(None, alias="to_owner_id")
    reason: str
    at: LocalDateTime


class ComplaintDetailOut(ComplaintOut):
    """A complaint with its clocks, timeline, transfers and the caller's moves."""

    clocks: list[ClockOut]
    events: list[ComplaintEventOut]
    transfers: list[TransferOut]

    @staticmethod
    def resolve_clocks(obj: Complaint) -> list[Any]:
        return selectors.complaint_clocks(obj)

    @staticmethod
    def resolve_events(obj: Complaint) -> list[Any]:
        return obj.event_list  # type: ignore[attr-defined]

    @staticmethod
    def resolve_transfers(obj: Complaint) -> list[Any]:
        return obj.transfer_list  # type: ignore[attr-defined]


class ComplaintFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; all visible stores when omitted")
    status: ComplaintStatusName | None = None
    open_only: bool = False
    mine: bool = Field(False, description="Only complaints the caller owns")
    customer: ObjectId | None = Field(None, description="Only this customer's complaints (a customer id)")
    vehicle: ObjectId | None = Field(None, description="Only complaints about an order of this vehicle (a vehicle id)")
    external_source: str | None = Field(None, max_length=40, description="Only complaints from this source")
    external_ref: str | None = Field(None, max_length=100, description="Only the complaint with this reference")


class NoteIn(Schema):
    """A note on a complaint's step."""

    note: OneLine = Note


class TransferIn(Schema):
    """The hand-over of a complaint to another member of staff, with the reason."""

    to: int = Field(..., description="User id of the new owner (staff of the store who handle complaints)")
    reason: OneLine = Field(..., max_length=300)


class ResolveIn(Schema):
    """How a complaint was resolved."""

    resolution: MultiLine = Field(..., max_length=5000)


class CloseIn(Schema):
    """The closing of a complaint: the customer's confirmation and satisfaction."""

    customer_confirmed: bool = Field(..., description="The customer confirmed the resolution")
    satisfaction: int = Field(..., description="The customer's satisfaction with the handling, 1–5")
    note: OneLine = Note


class ReasonIn(Schema):
    """The reason for a step (reopening, escalating …)."""

    reason: OneLine = Field(..., max_length=500)


def _complaint(request: HttpRequest, complaint_id: int, move: str | None = None) -> Complaint:
    """The complaint (404 for another store's), then the caller's right: to read it, or to make `move`."""
    complaint = selectors.complaint_get_for_user(user=request.auth, pk=complaint_id)
    if move is None:
        require(request.auth, READ, store_id=complaint.store_id)
    else:
        COMPLAINT.authorise(COMPLAINT.get(move), actor=request.auth, store_id=complaint.store_id)
    return complaint


def _complaint_detail(request: HttpRequest, complaint_id: int) -> Complaint:
    return selectors.complaint_detail(_complaint(request, complaint_id))


@router.post(
    "/complaints",
    response={201: ComplaintOut},
    summary="Log a complaint",
    description="201 with the complaint, its `id` and the due times computed at receipt (`acknowledge_due`, "
    "`contact_due`, `resolve_due`, ISO 8601 with offset; calendar hours from `received_at`). A bad field is "
    "422 naming it; a future `received_at` is refused.",
)
def complaint_create(request: HttpRequest, payload: ComplaintIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    COMPLAINT.authorise(COMPLAINT.get("log"), actor=request.auth, store_id=store.pk)
    order = None
    if payload.order is not None:
        order = RepairOrder.objects.filter(pk=payload.order, store=store).first()
        if order is None:
            raise ValidationError({"order": [_("No repair order with this id in the store.")]})
    complaint = services.complaint_log(
        store=store,
        customer=_customer(store, payload.customer),
        channel=payload.channel,
        category=payload.category,
        priority=payload.priority,
        description=payload.description,
        received_at=payload.received_at,
        order=order,
        by=request.auth,
        external_source=payload.external_source,
        external_ref=payload.external_ref,
    )
    return 201, complaint


@router.get(
    "/complaints",
    response=list[ComplaintOut],
    summary="Complaints of the caller's stores",
    description="Latest received first unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def complaint_list(request: HttpRequest, filters: Query[ComplaintFilter]) -> Any:
    complaints = selectors.complaint_list(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store),
        capability=READ,
        status=filters.status,
        open_only=filters.open_only,
        owner=request.auth if filters.mine else None,
    )
    complaints = selectors.of_customer(complaints, customer_id=filters.customer, vehicle_id=filters.vehicle)
    complaints = filter_by_external_ref(complaints, source=filters.external_source, ref=filters.external_ref)
    return sync_apply(complaints, filters, default=("-received_at", "-id"))


@router.get("/complaints/{complaint_id}", response=ComplaintDetailOut, summary="One complaint with its clocks")
def complaint_detail(request: HttpRequest, complaint_id: int) -> Any:
    return _complaint_detail(request, complaint_id)


@router.post("/complaints/{complaint_id}/acknowledge", response=ComplaintDetailOut, summary="Acknowledge")
def complaint_acknowledge(request: HttpRequest, complaint_id: int, payload: NoteIn) -> Any:
    complaint = _complaint(request, complaint_id, "acknowledge")
    services.complaint_acknowledge(complaint=complaint, by=request.auth, note=payload.note)
    return _complaint_detail(request, complaint_id)


@router.post("/complaints/{complaint_id}/contact", response=ComplaintDetailOut, summary="Customer contacted")
def complaint_contact(request: HttpRequest, complaint_id: int, payload: NoteIn) -> Any:
    complaint = _complaint(request, complaint_id, "contact")
    services.complaint_contact(complaint=complaint, by=request.auth, note=payload.note)
    return _complaint_detail(request, complaint_id)


@router.post(
    "/complaints/{complaint_id}/transfer",
    response=ComplaintDetailOut,
    summary="Hand the complaint to another owner, with the reason",
)
def complaint_transfer(request: HttpRequest, complaint_id: int, payload: TransferIn) -> Any:
    complaint = _complaint(request, complaint_id, "transfer")
    to = staff_member(payload.to, store_id=complaint.store_id, field="to", roles=COMPLAINT_HANDLER_ROLES)
    services.complaint_transfer(complaint=complaint, by=request.auth, to=to, reason=payload.reason)
    return _complaint_detail(request, complaint_id)


@router.post("/complaints/{complaint_id}/resolve", response=ComplaintDetailOut, summary="Record the resolution")
def complaint_resolve(request: HttpRequest, complaint_id: int, payload: ResolveIn) -> Any:
    complaint = _complaint(request, complaint_id, "resolve")
    services.complaint_resolve(complaint=complaint, by=request.auth, resolution=payload.resolution)
    return _complaint_detail(request, complaint_id)


@router.post(
    "/complaints/{complaint_id}/close",
    response=ComplaintDetailOut,
    summary="Close with the customer's confirmation and satisfaction with the handling",
)
def complaint_close(request: HttpRequest, complaint_id: int, payload: CloseIn) -> Any:
    complaint = _complaint(request, complaint_id, "close")
    services.complaint_close(
        complaint=complaint,
        by=request.auth,
        customer_confirmed=payload.customer_confirmed,
        satisfaction=payload.satisfaction,
        note=payload.note,
    )
    return _complaint_detail(request, complaint_id)


@router.post("/complaints/{complaint_id}/reopen", response=ComplaintDetailOut, summary="Reopen, with the reason")
def complaint_reopen(request: HttpRequest, complaint_id: int, payload: ReasonIn) -> Any:
    complaint = _complaint(request, complaint_id, "reopen")
    services.complaint_reopen(complaint=complaint, by=request.auth, reason=payload.reason)
    return _complaint_detail(request, complaint_id)


# -------------------------------------------------------------------------------------------- suggestions


class SuggestionIn(Schema):
    """A customer's suggestion to log."""

    store: OneLine = Field(..., description="Store code")
    customer: int = Field(..., description="Customer id (of the same store)")
    channel: ChannelName
    description: MultiLine = Field(..., max_length=5000)
    received_at: HappenedAt | None = Field(None, description="ISO 8601; any past time, never the future")
    external_source: OneLine | None = Field(None, max_length=40, description=EXTERNAL_SOURCE_HELP)
    external_ref: OneLine | None = Field(None, max_length=100, description=EXTERNAL_REF_HELP)


class SuggestionOut(Schema):
    """A customer's suggestion (建议): its state, the decision on it and the caller's moves."""

    id: int
    store: str
    customer: int = Field(..., alias="customer_id")
    channel: choices_of(Suggestion, "channel")  # type: ignore[valid-type]
    description: str
    status: choices_of(Suggestion, "status")  # type: ignore[valid-type]
    received_at: LocalDateTime
    logged_at: LocalDateTime
    decision_due: LocalDateTime
    decision: choices_of(Suggestion, "decision") = Field(..., description="'' until decided")  # type: ignore[valid-type]
    decision_note: str = Field(..., description="Why it was (not) adopted, in the manager's words")
    decided_at: LocalDateTime | None
    customer_told_at: LocalDateTime | None
    moves: list[MoveOut] = Field(..., description=MOVES_DESCRIPTION)
    external_source: str = Field(..., description="The system `external_ref` comes from; empty without one")
    external_ref: str = Field(..., description="The record's id in that system; empty without one")

    @staticmethod
    def resolve_store(obj: Suggestion) -> str:
        return obj.store.code

    @staticmethod
    def resolve_moves(obj: Suggestion, context: dict[str, Any]) -> list[Move]:
        return transitions.suggestion_moves_for(suggestion=obj, user=context["request"].auth)


class SuggestionFilter(SyncFilter):
    store: str | None = None
    status: SuggestionStatusName | None = None
    customer: ObjectId | None = Field(None, description="Only this customer's suggestions (a customer id)")
    external_source: str | None = Field(None, max_length=40, description="Only suggestions from this source")
    external_ref: str | None = Field(None, max_length=100, description="Only the suggestion with this reference")


class DecideIn(Schema):
    """The decision on a suggestion: adopt or not, with a note."""

    decision: DecisionName
    note: MultiLine = Field("", max_length=5000)


def _suggestion(request: HttpRequest, suggestion_id: int, move: str | None = None) -> Suggestion:
    suggestion = selectors.suggestion_get_for_user(user=request.auth, pk=suggestion_id)
    if move is None:
        require(request.auth, READ, store_id=suggestion.store_id)
    else:
        SUGGESTION.authorise(SUGGESTION.get(move), actor=request.auth, store_id=suggestion.store_id)
    return suggestion


@router.post(
    "/suggestions",
    response={201: SuggestionOut},
    summary="Log a suggestion",
    description="201 with the suggestion, its `id` and `decision_due`: the end of the N-th working day after "
    "receipt on China's official calendar (holidays, make-up working days) and the store's closed days.",
)
def suggestion_create(request: HttpRequest, payload: SuggestionIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    SUGGESTION.authorise(SUGGESTION.get("log"), actor=request.auth, store_id=store.pk)
    suggestion = services.suggestion_log(
        store=store,
        customer=_customer(store, payload.customer),
        channel=payload.channel,
        description=payload.description,
        received_at=payload.received_at,
        by=request.auth,
        external_source=payload.external_source,
        external_ref=payload.external_ref,
    )
    return 201, suggestion


@router.get(
    "/suggestions",
    response=list[SuggestionOut],
    summary="Suggestions of the caller's stores",
    description="Latest received first unless `sort` says otherwise. A suggestion names no vehicle.",
)
@paginate(BoundedPagination)
def suggestion_list(request: HttpRequest, filters: Query[SuggestionFilter]) -> Any:
    suggestions = selectors.suggestion_list(
        user=request.auth, store_ids=store_ids_for(request.auth, filters.store), status=filters.status, capability=READ
    )
    suggestions = selectors.of_customer(suggestions, customer_id=filters.customer)
    suggestions = filter_by_external_ref(suggestions, source=filters.external_source, ref=filters.external_ref)
    return sync_apply(suggestions, filters, default=("-received_at", "-id"))


@router.get("/suggestions/{suggestion_id}", response=SuggestionOut, summary="One suggestion")
def suggestion_detail(request: HttpRequest, suggestion_id: int) -> Any:
    return _suggestion(request, suggestion_id)


@router.post("/suggestions/{suggestion_id}/decide", response=SuggestionOut, summary="Adopt or not")
def suggestion_decide(request: HttpRequest, suggestion_id: int, payload: DecideIn) -> Any:
    suggestion = _suggestion(request, suggestion_id, "decide")
    return services.suggestion_decide(
        suggestion=suggestion, by=request.auth, decision=payload.decision, note=payload.note
    )


@router.post("/suggestions/{suggestion_id}/tell", response=SuggestionOut, summary="The customer has been told")
def suggestion_tell(request: HttpRequest, suggestion_id: int) -> Any:
    suggestion = _suggestion(request, suggestion_id, "close")
    return services.suggestion_tell_customer(suggestion=suggestion, by=request.auth)


# ------------------------------------------------------------------------------------- follow-ups, surveys


class SurveyItemOut(Schema):
    """An item of the satisfaction survey: key, kind, wording and SERVQUAL dimension."""

    key: str
    kind: choices_of(SurveyItem, "kind")  # type: ignore[valid-type]
    position: int
    wording_zh_hans: str
    wording_en: str
    required: bool
    asks_expectation: bool
    dimension: str = Field(
        ..., description="SERVQUAL dimension: tangibles, reliability, responsiveness, assurance, empathy or ''"
    )


class AnswerOut(Schema):
    """An answer to a survey item: score, expectation or text."""

    key: str
    value: int | None
    expectation: int | None
    text: str

    @staticmethod
    def resolve_key(obj: Any) -> str:
        return obj.item.key


class SurveyResponseOut(Schema):
    """A customer's survey response about an order, with the answers."""

    id: int
    store: str
    order: int | None = Field(None, alias="order_id")
    customer: int = Field(..., alias="customer_id")
    channel: choices_of(SurveyResponse, "channel")  # type: ignore[valid-type]
    overall: int | None
    recommend: int | None
    submitted_at: LocalDateTime
    answers: list[AnswerOut]

    @staticmethod
    def resolve_store(obj: SurveyResponse) -> str:
        return obj.store.code

    @staticmethod
    def resolve_answers(obj: SurveyResponse) -> list[Any]:
        return list(obj.answers.all())


class SurveyIn(Schema):
    """A survey response recorded by staff (at delivery or for a campaign)."""

    order: int = Field(..., description="The delivered repair order")
    channel: Literal["delivery", "campaign"] = Field(
        ..., description="Staff record delivery and campaign surveys here; calls go through the follow-up"
    )
    answers: dict[str, IntOrMultiLine] = Field(..., description="Item key → score (or text for text items)")
    expectations: dict[str, int] = Field(default_factory=dict, description="Item key → expectation (1–5)")
    consent_given: bool = Field(False, description="The customer agreed to the survey now (recorded as consent)")


class SurveyFilter(SyncFilter):
    store: str | None = None
    channel: SurveyChannelName | None = None
    order: ObjectId | None = None
    customer: ObjectId | None = Field(None, description="Only this customer's responses (a customer id)")
    vehicle: ObjectId | None = Field(None, description="Only responses about an order of this vehicle (a vehicle id)")


class FollowUpOut(Schema):
    """A follow-up call after delivery (回访): the order, customer, due time and state."""

    id: int
    store: str
    order: int = Field(..., alias="order_id")
    order_number: str
    customer: int
    customer_name: str
    delivered_at: LocalDateTime | None
    due_at: LocalDateTime
    status: choices_of(FollowUp, "status")  # type: ignore[valid-type]
    attempts: int
    closed_at: LocalDateTime | None
    response: int | None = Field(None, alias="response_id")
    moves: list[MoveOut] = Field(..., description="The call outcomes the caller may record now (`/attempts`).")

    @staticmethod
    def resolve_store(obj: FollowUp) -> str:
        return obj.store.code

    @staticmethod
    def resolve_moves(obj: FollowUp, context: dict[str, Any]) -> list[Move]:
        return transitions.follow_up_moves_for(follow_up=obj, user=context["request"].auth)

    @staticmethod
    def resolve_order_number(obj: FollowUp) -> str:
        return obj.order.number

    @staticmethod
    def resolve_customer(obj: FollowUp) -> int:
        return obj.order.customer_id

    @staticmethod
    def resolve_customer_name(obj: FollowUp) -> str:
        return obj.order.customer.name

    @staticmethod
    def resolve_delivered_at(obj: FollowUp) -> dt.datetime | None:
        return obj.order.delivered_at


class AttemptOut(Schema):
    """A call attempt of a follow-up and its outcome."""

    number: int
    outcome: choices_of(CallAttempt, "outcome")  # type: ignore[valid-type]
    note: str
    at: LocalDateTime
    by: str | None

    @staticmethod
    def resolve_by(obj: Any) -> str | None:
        return _name(obj.by)


class FollowUpDetailOut(FollowUpOut):
    """A follow-up with its call attempts and the caller's moves."""

    call_attempts: list[AttemptOut]

    @staticmethod
    def resolve_call_attempts(obj: FollowUp) -> list[Any]:
        return selectors.follow_up_attempts(obj)


class FollowUpFilter(SyncFilter):
    store: str | None = None
    due_only: bool = Field(False, description="Only follow-ups already due")
    customer: ObjectId | None = Field(None, description="Only this customer's follow-ups (a customer id)")


class AttemptIn(Schema):
    """A call attempt of a follow-up: outcome, note and, when reached, the survey answers."""

    outcome: OutcomeName
    note: OneLine = Field("", max_length=300)
    answers: dict[str, IntOrMultiLine] | None = Field(None, description="The survey, when the customer was reached")
    expectations: dict[str, int] | None = None
    consent_given: bool = Field(False, description="The customer agreed on the call to answer the survey")


def _follow_up(request: HttpRequest, follow_up_id: int, move: str | None = None) -> FollowUp:
    follow_up = selectors.follow_up_get_for_user(user=request.auth, pk=follow_up_id)
    if move is None:
        require(request.auth, READ, store_id=follow_up.store_id)
    else:
        FOLLOW_UP.authorise(FOLLOW_UP.get(move), actor=request.auth, store_id=follow_up.store_id)
    return follow_up


@router.get("/survey-instrument", response=list[SurveyItemOut], summary="The survey's items in both languages")
def survey_instrument(request: HttpRequest) -> Any:
    return selectors.survey_items()


@router.get(
    "/follow-ups",
    response=list[FollowUpOut],
    summary="The call queue: open follow-ups, oldest due first",
    description="Open follow-ups only; oldest due first unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def follow_up_queue(request: HttpRequest, filters: Query[FollowUpFilter]) -> Any:
    queue = selectors.follow_up_queue(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store),
        due_only=filters.due_only,
        capability=READ,
    )
    queue = selectors.of_customer(queue, customer_id=filters.customer, customer_path="order__customer")
    return sync_apply(queue, filters, default=("due_at", "id"))


@router.get("/follow-ups/{follow_up_id}", response=FollowUpDetailOut, summary="One follow-up with its calls")
def follow_up_detail(request: HttpRequest, follow_up_id: int) -> Any:
    return _follow_up(request, follow_up_id)


@router.post(
    "/follow-ups/{follow_up_id}/attempts",
    response={201: FollowUpDetailOut},
    summary="Record a call attempt",
    description="`reached` records the survey answers with the call (the customer's survey consent on file, or "
    "given on the call: `consent_given`); `refused` and `wrong_number` close the follow-up; after the last "
    "failed attempt it closes as unreachable.",
)
def follow_up_attempt(request: HttpRequest, follow_up_id: int, payload: AttemptIn) -> Any:
    follow_up = _follow_up(request, follow_up_id, OUTCOME_MOVES[payload.outcome])
    services.follow_up_attempt_record(
        follow_up=follow_up,
        by=request.auth,
        outcome=payload.outcome,
        note=payload.note,
        answers=payload.answers,
        expectations=payload.expectations,
        consent_given=payload.consent_given,
    )
    return 201, _follow_up(request, follow_up_id)


@router.post("/survey-responses", response={201: SurveyResponseOut}, summary="Record a survey at delivery")
def survey_response_create(request: HttpRequest, payload: SurveyIn) -> Any:
    order = (
        RepairOrder.objects.for_user(request.auth)
        .select_related("store", "customer", "advisor")
        .filter(pk=payload.order)
        .first()
    )
    if order is None:
        raise ValidationError({"order": [_("No repair order with this id that you may see.")]})
    SURVEY.authorise(SURVEY.get(SURVEY_MOVE_FOR_CHANNEL[payload.channel]), actor=request.auth, store_id=order.store_id)
    response = services.survey_response_record(
        order=order,
        channel=payload.channel,
        answers=payload.answers,
        expectations=payload.expectations,
        consent_given=payload.consent_given,
        by=request.auth,
    )
    return 201, selectors.survey_response_get_for_user(user=request.auth, pk=response.pk)


@router.get(
    "/survey-responses",
    response=list[SurveyResponseOut],
    summary="Survey responses",
    description="Latest submitted first unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def survey_response_list(request: HttpRequest, filters: Query[SurveyFilter]) -> Any:
    responses = selectors.survey_response_list(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store),
        channel=filters.channel,
        order_id=filters.order,
        capability=READ,
    )
    responses = selectors.of_customer(responses, customer_id=filters.customer, vehicle_id=filters.vehicle)
    return sync_apply(responses, filters, default=("-submitted_at", "-id"))


@router.get("/survey-responses/{response_id}", response=SurveyResponseOut, summary="One survey response")
def survey_response_detail(request: HttpRequest, response_id: int) -> Any:
    response = selectors.survey_response_get_for_user(user=request.auth, pk=response_id)
    require(request.auth, READ, store_id=response.store_id)
    return response


# ----------------------------------------------------------------------------------------------- recovery


class RecoveryOut(Schema):
    """A service-recovery task opened by a low survey score: owner, due time, state and outcome."""

    id: int
    store: str
    order: int | None = Field(None, alias="order_id")
    response: int = Field(..., alias="response_id")
    overall: int | None
    advisor: int | None = Field(None, alias="advisor_id")
    opened_at: LocalDateTime
    due_at: LocalDateTime
    status: choices_of(RecoveryTask, "status")  # type: ignore[valid-type]
    outcome: choices_of(RecoveryTask, "outcome") = Field(..., description="'' while open")  # type: ignore[valid-type]
    note: str
    closed_at: LocalDateTime | None
    in_time: bool | None
    escalated_store_at: LocalDateTime | None
    escalated_group_at: LocalDateTime | None
    moves: list[MoveOut] = Field(..., description=MOVES_DESCRIPTION)

    @staticmethod
    def resolve_store(obj: RecoveryTask) -> str:
        return obj.store.code

    @staticmethod
    def resolve_moves(obj: RecoveryTask, context: dict[str, Any]) -> list[Move]:
        return transitions.recovery_moves_for(task=obj, user=context["request"].auth)

    @staticmethod
    def resolve_overall(obj: RecoveryTask) -> int | None:
        return obj.response.overall


class RecoveryFilter(SyncFilter):
    store: str | None = None
    open_only: bool = False
    mine: bool = Field(False, description="Only the caller's tasks (as the order's advisor)")
    customer: ObjectId | None = Field(None, description="Only this customer's tasks (a customer id)")


class RecoveryIn(Schema):
    """The outcome of a service-recovery task, with a note."""

    outcome: RecoveryOutcomeName
    note: MultiLine = Field(..., max_length=2000)


def _recovery(request: HttpRequest, recovery_id: int, move: str | None = None) -> RecoveryTask:
    task = selectors.recovery_get_for_user(user=request.auth, pk=recovery_id)
    if move is None:
        require(request.auth, READ, store_id=task.store_id)
    else:
        RECOVERY.authorise(RECOVERY.get(move), actor=request.auth, store_id=task.store_id)
    return task


@router.get("/recovery-tasks", response=list[RecoveryOut], summary="Service-recovery tasks, soonest due first")
@paginate(BoundedPagination)
def recovery_list(request: HttpRequest, filters: Query[RecoveryFilter]) -> Any:
    tasks = selectors.recovery_task_list(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store),
        capability=READ,
        advisor=request.auth if filters.mine else None,
        open_only=filters.open_only,
    )
    tasks = selectors.of_customer(tasks, customer_id=filters.customer, customer_path="order__customer")
    return sync_apply(tasks, filters, default=("due_at", "id"))


@router.get("/recovery-tasks/{recovery_id}", response=RecoveryOut, summary="One service-recovery task")
def recovery_detail(request: HttpRequest, recovery_id: int) -> Any:
    return _recovery(request, recovery_id)


@router.post("/recovery-tasks/{recovery_id}/outcome", response=RecoveryOut, summary="Record the outcome")
def recovery_outcome(request: HttpRequest, recovery_id: int, payload: RecoveryIn) -> Any:
    task = _recovery(request, recovery_id, "record")
    return services.recovery_record(task=task, by=request.auth, outcome=payload.outcome, note=payload.note)


# --------------------------------------------------------------------------------------------------- CAPA


class CapaActionOut(Schema):
    """An action of a corrective and preventive action (CAPA): owner, due day and when done."""

    id: int
    description: str
    owner: int | None = Field(None, alias="owner_id")
    due_date: dt.date
    done_at: LocalDateTime | None


class CapaOut(Schema):
    """A corrective and preventive action (CAPA): its source, root cause, KPI before and after, actions."""

    id: int
    store: str
    title: str
    status: choices_of(Capa, "status")  # type: ignore[valid-type]
    next_states: list[str]
    complaint: int | None = Field(None, alias="complaint_id")
    cluster_category: choices_of(Capa, "cluster_category") = Field(  # type: ignore[valid-type]
        ..., description="The frequent-issue category it was opened from; '' otherwise"
    )
    cluster_month: dt.date | None
    root_cause: str
    kpi_name: str
    kpi_before: Decimal | None
    kpi_after: Decimal | None
    procedure_change: str
    closed_at: LocalDateTime | None
    actions: list[CapaActionOut]
    moves: list[MoveOut] = Field(
        ...,
        description=MOVES_DESCRIPTION + " A corrective action's owner may also mark their own action done.",
    )

    @staticmethod
    def resolve_store(obj: Capa) -> str:
        return obj.store.code

    @staticmethod
    def resolve_moves(obj: Capa, context: dict[str, Any]) -> list[Move]:
        return transitions.capa_moves_for(capa=obj, user=context["request"].auth)

    @staticmethod
    def resolve_next_states(obj: Capa) -> list[str]:
        return sorted(transitions.CAPA_FLOW[obj.status])

    @staticmethod
    def resolve_actions(obj: Capa) -> list[Any]:
        return list(obj.actions.all())


class CapaIn(Schema):
    """A new CAPA opened from a complaint or a frequent-issue cluster."""

    store: OneLine
    title: OneLine = Field(..., max_length=200)
    complaint: int | None = Field(None, description="Open from this complaint …")
    cluster_category: CategoryName | None = Field(None, description="… or from a frequent-issue cluster")
    cluster_month: HappenedDate | None = Field(None, description="Any day of the cluster's month")


class CapaUpdateIn(Schema):
    """Changes to a CAPA's analysis: root cause, procedure change, KPI."""

    root_cause: MultiLine | None = Field(None, max_length=5000)
    procedure_change: MultiLine | None = Field(None, max_length=5000)
    kpi_name: OneLine | None = Field(None, max_length=80)
    kpi_before: Decimal | None = Field(None, max_digits=12, decimal_places=2)
    kpi_after: Decimal | None = Field(None, max_digits=12, decimal_places=2)


class CapaActionIn(Schema):
    """A new action of a CAPA with its owner and due day."""

    description: OneLine = Field(..., max_length=300)
    owner: int
    due_date: PlannedDate


class CapaTransitionIn(Schema):
    """A move of a CAPA to another state."""

    to: CapaStatusName
    note: OneLine = Field("", max_length=300)


class CapaFilter(SyncFilter):
    store: str | None = None
    status: CapaStatusName | None = None


def _capa(request: HttpRequest, capa_id: int, move: Move | None = None) -> Capa:
    capa = selectors.capa_get_for_user(user=request.auth, pk=capa_id)
    if move is None:
        require(request.auth, READ, store_id=capa.store_id)
    else:
        CAPA.authorise(move, actor=request.auth, store_id=capa.store_id)
    return capa


@router.post("/capas", response={201: CapaOut}, summary="Open a CAPA from a complaint or a frequent-issue cluster")
def capa_create(request: HttpRequest, payload: CapaIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    CAPA.authorise(CAPA.get("open"), actor=request.auth, store_id=store.pk)
    complaint = None
    if payload.complaint is not None:
        complaint = Complaint.objects.filter(pk=payload.complaint, store=store).first()
        if complaint is None:
            raise ValidationError({"complaint": [_("No complaint with this id in the store.")]})
    capa = services.capa_open(
        store=store,
        by=request.auth,
        title=payload.title,
        complaint=complaint,
        cluster_category=payload.cluster_category or "",
        cluster_month=payload.cluster_month,
    )
    return 201, selectors.capa_get_for_user(user=request.auth, pk=capa.pk)


@router.get(
    "/capas",
    response=list[CapaOut],
    summary="CAPAs of the caller's stores",
    description="Newest first (by opening) unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def capa_list(request: HttpRequest, filters: Query[CapaFilter]) -> Any:
    capas = selectors.capa_list(
        user=request.auth, store_ids=store_ids_for(request.auth, filters.store), status=filters.status, capability=READ
    )
    return sync_apply(capas, filters, default=("-created_at", "-id"))


@router.get("/capas/{capa_id}", response=CapaOut, summary="One CAPA")
def capa_detail(request: HttpRequest, capa_id: int) -> Any:
    return _capa(request, capa_id)


@router.patch(
    "/capas/{capa_id}", response=CapaOut, summary="Record the analysis, the KPI figures, the procedure change"
)
def capa_update(request: HttpRequest, capa_id: int, payload: CapaUpdateIn) -> Any:
    capa = _capa(request, capa_id, CAPA.get("edit"))
    services.capa_update(capa=capa, by=request.auth, **payload.dict(exclude_unset=True))
    return _capa(request, capa_id)


@router.post("/capas/{capa_id}/actions", response={201: CapaOut}, summary="Add a corrective action")
def capa_action_add(request: HttpRequest, capa_id: int, payload: CapaActionIn) -> Any:
    capa = _capa(request, capa_id, CAPA.get("edit"))
    owner = staff_member(payload.owner, store_id=capa.store_id, field="owner", roles=CAPA_ACTION_OWNER_ROLES)
    services.capa_action_add(
        capa=capa, by=request.auth, description=payload.description, owner=owner, due_date=payload.due_date
    )
    return 201, _capa(request, capa_id)


@router.post("/capas/{capa_id}/actions/{action_id}/done", response=CapaOut, summary="Mark an action done")
def capa_action_done(request: HttpRequest, capa_id: int, action_id: int) -> Any:
    capa = _capa(request, capa_id)
    action = selectors.capa_action_get(capa=capa, pk=action_id)
    # The manager, or the action's own owner.
    CAPA.authorise(CAPA.get("action_done"), actor=request.auth, store_id=capa.store_id, assignee_id=action.owner_id)
    services.capa_action_done(action=action, by=request.auth)
    return _capa(request, capa_id)


@router.post("/capas/{capa_id}/transition", response=CapaOut, summary="Move the CAPA to its next step")
def capa_transition(request: HttpRequest, capa_id: int, payload: CapaTransitionIn) -> Any:
    capa = selectors.capa_get_for_user(user=request.auth, pk=capa_id)
    CAPA.authorise(capa_step(capa.status, payload.to), actor=request.auth, store_id=capa.store_id)
    services.capa_transition(capa=capa, to=payload.to, by=request.auth, note=payload.note)
    return _capa(request, capa_id)


# ------------------------------------------------------------------------------------- frequent issues


class IssueOut(Schema):
    """A frequent issue of the month: its rank, count and change from the month before."""

    rank: int
    key: str
    label: str
    count: int
    previous: int
    change: int
    mean: float | None = None
    previous_mean: float | None = None


class FrequentIssuesOut(Schema):
    """A store's frequent issues of a month: complaint categories and low-scoring survey items."""

    month: str
    complaint_categories: list[IssueOut]
    survey_items: list[IssueOut]

    @staticmethod
    def resolve_month(obj: Any) -> str:
        return f"{obj.month:%Y-%m}"


class FrequentIssuesFilter(Schema):
    store: str = Field(..., description="Store code")
    month: str = Field(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")


@router.get(
    "/frequent-issues",
    response=FrequentIssuesOut,
    summary="The month's frequent issues",
    description="Complaint categories and survey items answered low, ranked by count, with the change "
    "against the previous month.",
)
def frequent_issues(request: HttpRequest, filters: Query[FrequentIssuesFilter]) -> Any:
    store = store_by_code(request.auth, filters.store)
    require(request.auth, READ, store_id=store.pk)
    year, month = (int(part) for part in filters.month.split("-"))
    if not 2000 <= year <= 2100:
        raise ValidationError({"month": [_("Choose a month between the years 2000 and 2100.")]})
    return selectors.frequent_issues(store_ids={store.pk}, month=dt.date(year, month, 1))


# A customer's history (and the outbox's /messages): their own module, mounted on this router.
router.add_router("", history_router)
