"""The audits endpoints of /api/v1/ (issue 16, a public contract): the group's checklists with their weighted items,
recording a whole audit at once (a mystery shopper's phone or an agency's system posts it when the visit is done),
the audits and findings the caller may read.

Who sees what is `audits.selectors`: an audit still being worked on answers 404 to the audited store exactly like
a missing one; it is readable by the store only once submitted.  Recording is the auditor's (PERFORM_AUDITS or
MANAGE_AUDITS, from outside the audited store): anyone else gets 403."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from aftersales.audits import selectors, services
from aftersales.audits.choices import AnswerResult, AuditKind, AuditStatus, FindingStatus, MysteryChannel
from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, AuditChecklistItem, Finding
from aftersales.core import clock
from aftersales.core.api import HappenedAt, MultiLine, ObjectId, OneLine
from aftersales.core.api_schema import choices_of
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.organisation.access import store_by_code, store_ids_for
from aftersales.service.models import RepairOrder

router = Router(tags=["audits"])

KindName = Literal["mystery_shopper", "internal", "record_check", "video_check"]
StatusName = Literal["planned", "in_progress", "submitted", "cancelled"]
ResultName = Literal["pass", "fail", "na"]
ChannelName = Literal["visit", "phone"]
FindingStatusName = Literal["open", "closed"]
assert set(KindName.__args__) == set(AuditKind.values)  # noqa: S101 - the contract follows the model
assert set(StatusName.__args__) == set(AuditStatus.values)  # noqa: S101
assert set(ResultName.__args__) == set(AnswerResult.values)  # noqa: S101
assert set(ChannelName.__args__) == set(MysteryChannel.values)  # noqa: S101
assert set(FindingStatusName.__args__) == set(FindingStatus.values)  # noqa: S101

# Closed sets in answers, read from the models' choices.
ChecklistKindOut = choices_of(AuditChecklist, "kind")
AuditKindOut = choices_of(Audit, "kind")
AuditStatusOut = choices_of(Audit, "status")
AuditChannelOut = choices_of(Audit, "channel")
AnswerResultOut = choices_of(AuditAnswer, "result")
FindingStatusOut = choices_of(Finding, "status")
StepOut = choices_of(AuditChecklistItem, "step")


# ------------------------------------------------------------------------------------------------- checklists


class AuditChecklistItemOut(Schema):
    """One weighted item of an audit checklist (the step and SOP item it checks, when it checks one)."""

    id: int
    position: int
    text: str = Field(..., description="the item in Chinese (the product's language)")
    text_en: str
    weight: float = Field(..., description="its weight in the score (above 0; two decimals at most)", examples=[3.0])
    allows_na: bool = Field(..., description="whether it may be answered not applicable ('na')")
    step: StepOut = Field(..., description="the service step it checks ('' for none)")
    sop_item_key: str = Field(..., description="the SOP checklist item it checks ('' for none)")


class AuditChecklistOut(Schema):
    """An audit checklist in use: its kind and its weighted items."""

    id: int
    kind: ChecklistKindOut
    title: str
    description: str
    items: list[AuditChecklistItemOut]
    updated_at: dt.datetime

    @staticmethod
    def resolve_items(obj: AuditChecklist) -> list[Any]:
        return sorted(obj.items.all(), key=lambda item: (item.position, item.pk))


class ChecklistFilter(SyncFilter):
    kind: KindName | None = Field(None, description="only checklists of this kind")


@router.get(
    "/audit-checklists",
    response=list[AuditChecklistOut],
    summary="The audit checklists in use in the caller's dealer group",
    description="Checklists of the groups where the caller audits or reads audits, by kind and title unless "
    "`sort` says otherwise.",
)
@paginate(BoundedPagination)
def checklist_list(request: HttpRequest, filters: Query[ChecklistFilter]) -> Any:
    checklists = selectors.checklists_for(request.auth, kind=filters.kind)
    return sync_apply(checklists, filters, default=("kind", "title", "id"))


# ------------------------------------------------------------------------------------------------- audits


class AuditAnswerIn(Schema):
    """The verdict on one item of the checklist."""

    item: ObjectId = Field(..., description="an item id of the checklist")
    result: ResultName
    note: OneLine = Field("", max_length=500, description="what was seen (required for a failed item)")


class AuditIn(Schema):
    """A whole audit of a store, answered and submitted at once by its auditor (from outside the store)."""

    store: OneLine = Field(..., description="the audited store's code")
    kind: KindName
    checklist: ObjectId = Field(..., description="a checklist in use of this kind (GET /audit-checklists)")
    order: ObjectId | None = Field(
        None, description="spot checks only: the repair order a sample drew (never one the store chose)"
    )
    answers: list[AuditAnswerIn] = Field(..., description="one answer per item of the checklist")
    channel: ChannelName | None = Field(None, description="mystery shopper only, required: a visit or a phone call")
    performed_at: HappenedAt | None = Field(None, description="when the visit or call took place (default: now)")
    video_reference: OneLine = Field(
        "", max_length=500, description="video spot check only, required: where the recording is and its time codes"
    )
    summary: MultiLine = Field("", max_length=5000)


class AuditCreatedOut(Schema):
    """The recorded audit: its id, its score and the findings its failed items became."""

    id: int
    score: float = Field(..., description="Σ weights passed / Σ weights applicable × 100, two decimals")
    findings: list[int] = Field(..., description="ids of the findings (one per failed item)")


@router.post("/audits", response={201: AuditCreatedOut}, summary="Record a whole audit (answered and submitted)")
def audit_create(request: HttpRequest, payload: AuditIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    checklist = AuditChecklist.objects.filter(pk=payload.checklist, group_id=store.group_id, is_active=True).first()
    if checklist is None:
        raise ValidationError({"checklist": [_("No checklist in use of this kind with this id in the store's group.")]})
    order = None
    if payload.order is not None:
        order = RepairOrder.objects.filter(pk=payload.order, store=store).first()
        if order is None:
            raise ValidationError({"order": [_("A spot check needs an order of the store drawn in a sample.")]})
    audit = services.audit_record(
        by=request.auth,
        store=store,
        kind=payload.kind,
        checklist=checklist,
        answers=[answer.dict() for answer in payload.answers],
        order=order,
        channel=payload.channel or "",
        performed_at=payload.performed_at,
        video_reference=payload.video_reference,
        summary=payload.summary,
    )
    findings = sorted(Finding.objects.filter(audit=audit).values_list("pk", flat=True))
    return 201, {"id": audit.pk, "score": float(audit.score or 0), "findings": findings}


class AuditAnswerOut(Schema):
    """An answer of an audit: the item, pass / fail / not applicable, the note and how many photos."""

    item: int = Field(..., alias="item_id")
    result: AnswerResultOut
    note: str
    photos: int

    @staticmethod
    def resolve_photos(obj: AuditAnswer) -> int:
        return len(obj.photos.all())


class AuditOut(Schema):
    """An audit the caller may read (a store reads its own only once submitted)."""

    id: int
    store: str
    kind: AuditKindOut
    status: AuditStatusOut
    checklist: int = Field(..., alias="checklist_id")
    auditor: int | None = Field(..., alias="auditor_id")
    due_date: dt.date | None
    order: int | None = Field(..., alias="order_id")
    sample: int | None = Field(..., alias="sample_id")
    channel: AuditChannelOut = Field(..., description="mystery shopper: visit or phone ('' otherwise)")
    performed_at: dt.datetime | None
    video_reference: str
    summary: str
    score: float | None = Field(..., description="set once submitted")
    submitted_at: dt.datetime | None
    findings: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_store(obj: Audit) -> str:
        return obj.store.code

    @staticmethod
    def resolve_score(obj: Audit) -> float | None:
        return float(obj.score) if obj.score is not None else None

    @staticmethod
    def resolve_findings(obj: Audit) -> list[int]:
        return sorted(f.pk for f in obj.findings.all())


class AuditDetailOut(AuditOut):
    """An audit with its answers."""

    answers: list[AuditAnswerOut]

    @staticmethod
    def resolve_answers(obj: Audit) -> list[Any]:
        return sorted(obj.answers.all(), key=lambda a: (a.item.position, a.item_id))


class AuditFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; every store whose audits you read if omitted")
    kind: KindName | None = None
    status: StatusName | None = None


@router.get(
    "/audits",
    response=list[AuditOut],
    summary="Audits the caller may read",
    description="Newest first (by creation) unless `sort` says otherwise. A store's staff see its audits only "
    "once submitted; the quality department sees every state; an auditor sees their own.",
)
@paginate(BoundedPagination)
def audit_list(request: HttpRequest, filters: Query[AuditFilter]) -> Any:
    audits = selectors.audits_for(request.auth, kind=filters.kind, status=filters.status)
    if filters.store:
        audits = audits.filter(store_id__in=store_ids_for(request.auth, filters.store))
    return sync_apply(audits.prefetch_related("findings"), filters, default=("-created_at", "-id"))


@router.get("/audits/{audit_id}", response=AuditDetailOut, summary="One audit with its answers")
def audit_detail(request: HttpRequest, audit_id: int) -> Any:
    return selectors.audit_detail(user=request.auth, pk=audit_id)


# ------------------------------------------------------------------------------------------------- findings


class AuditFindingOut(Schema):
    """A failed item of a submitted audit: its owner puts it right by the due date, or a CAPA takes it."""

    id: int
    audit: int = Field(..., alias="audit_id")
    store: str
    text: str
    owner: int | None = Field(..., alias="owner_id")
    due_date: dt.date
    status: FindingStatusOut
    overdue: bool = Field(..., description="open and past its due date")
    resolution: str
    closed_at: dt.datetime | None
    capa: int | None = Field(..., alias="capa_id")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_store(obj: Finding) -> str:
        return obj.store.code

    @staticmethod
    def resolve_overdue(obj: Finding) -> bool:
        return obj.status == FindingStatus.OPEN and obj.due_date < clock.today()


class FindingFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; every store whose findings you read if omitted")
    status: FindingStatusName | None = None
    overdue: bool | None = Field(None, description="true: open and past the due date; false: the others")


@router.get(
    "/audit-findings",
    response=list[AuditFindingOut],
    summary="Audit findings the caller may read",
    description="The soonest due first unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def finding_list(request: HttpRequest, filters: Query[FindingFilter]) -> Any:
    findings = selectors.findings_for(request.auth, status=filters.status, overdue=filters.overdue)
    if filters.store:
        findings = findings.filter(store_id__in=store_ids_for(request.auth, filters.store))
    return sync_apply(findings, filters, default=("due_date", "id"))
