"""Reads of the voice of the customer for pages and the API.  Every list is store-scoped through
`for_user`; every detail is 404 for another store's object.  Aggregations run in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.utils import timezone

from aftersales.core import clock
from aftersales.core.calendar import format_countdown, remaining
from aftersales.feedback import transitions
from aftersales.feedback.choices import (
    FOLLOW_UP_CHANNELS,
    ComplaintCategory,
    ComplaintClock,
    FollowUpStatus,
    ItemKind,
    RecoveryStatus,
    SuggestionStatus,
)
from aftersales.feedback.models import (
    CallAttempt,
    Capa,
    CapaAction,
    Complaint,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyAnswer,
    SurveyItem,
    SurveyResponse,
)
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import setting_values_for_store

# Lists cover the stores where the user holds this capability (`for_user(user, capability)`) unless told otherwise.
READ = Capability.VIEW_FEEDBACK


def of_customer(
    rows: QuerySet[Any],
    *,
    customer_id: int | None = None,
    vehicle_id: int | None = None,
    customer_path: str = "customer",
    vehicle_path: str = "order__vehicle",
) -> QuerySet[Any]:
    """Rows of one customer and/or vehicle (an API list's `customer` / `vehicle` filters).  The rows are already
    scoped to the caller's stores, so another store's customer gives an empty list, never its rows."""
    if customer_id is not None:
        rows = rows.filter(**{f"{customer_path}_id": customer_id})
    if vehicle_id is not None:
        rows = rows.filter(**{f"{vehicle_path}_id": vehicle_id})
    return rows


# ------------------------------------------------------------------------------------------- complaints


def complaint_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    status: str | None = None,
    open_only: bool = False,
    owner: Any = None,
    overdue_at: dt.datetime | None = None,
    capability: Capability = READ,
) -> QuerySet[Complaint]:
    complaints = Complaint.objects.for_user(user, capability, store_ids=store_ids).select_related(
        "store", "customer", "owner__staff_profile", "order"
    )
    if status:
        complaints = complaints.filter(status=status)
    if open_only:
        complaints = complaints.filter(status__in=transitions.COMPLAINT_OPEN_STATES)
    if owner is not None:
        complaints = complaints.filter(owner=owner)
    if overdue_at is not None:
        complaints = complaints.filter(complaint_overdue_q(overdue_at))
    return complaints.order_by("-received_at", "-id")


def complaint_overdue_q(now: dt.datetime) -> Q:
    """Complaints still open with a clock past its due time and the step not done."""
    return Q(status__in=transitions.COMPLAINT_OPEN_STATES) & (
        Q(acknowledged_at__isnull=True, acknowledge_due__lt=now)
        | Q(contacted_at__isnull=True, contact_due__lt=now)
        | Q(resolved_at__isnull=True, resolve_due__lt=now)
    )


def complaint_get_for_user(*, user: Any, pk: Any) -> Complaint:
    return Complaint.objects.select_related(
        "store", "customer", "owner__staff_profile", "logged_by__staff_profile", "order"
    ).get_for_user_or_404(user, pk=pk)


def complaint_detail(complaint: Complaint) -> Complaint:
    """The complaint with its events, transfers and escalations attached (three queries)."""
    complaint.event_list = list(complaint.events.select_related("by__staff_profile"))  # type: ignore[attr-defined]
    complaint.transfer_list = list(  # type: ignore[attr-defined]
        complaint.transfers.select_related("from_owner__staff_profile", "to_owner__staff_profile", "by__staff_profile")
    )
    complaint.escalation_list = list(complaint.escalations.all())  # type: ignore[attr-defined]
    return complaint


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as a page shows it: due, done, the countdown, breached or not, escalated to whom."""

    clock: str
    due: dt.datetime
    done_at: dt.datetime | None
    remaining: dt.timedelta | None
    countdown: str
    breached: bool
    escalated_to: str


def complaint_clocks(complaint: Complaint, *, now: dt.datetime | None = None) -> list[ClockView]:
    now = now or clock.now()
    escalations = {e.clock: e.level for e in getattr(complaint, "escalation_list", complaint.escalations.all())}
    views = []
    for name in ComplaintClock.values:
        due, done = complaint.due_of(name), complaint.done_of(name)
        left = None if done is not None else remaining(due, now)
        views.append(
            ClockView(
                clock=name,
                due=due,
                done_at=done,
                remaining=left,
                countdown="" if left is None else format_countdown(left),
                breached=(done > due) if done is not None else now > due,
                escalated_to=escalations.get(name, ""),
            )
        )
    return views


# ------------------------------------------------------------------------------------------ suggestions


def suggestion_list(
    *, user: Any, store_ids: frozenset[int], status: str | None = None, capability: Capability = READ
) -> QuerySet[Suggestion]:
    suggestions = Suggestion.objects.for_user(user, capability, store_ids=store_ids).select_related("store", "customer")
    if status:
        suggestions = suggestions.filter(status=status)
    return suggestions.order_by("-received_at", "-id")


def suggestion_get_for_user(*, user: Any, pk: Any) -> Suggestion:
    return Suggestion.objects.select_related("store", "customer", "decided_by__staff_profile").get_for_user_or_404(
        user, pk=pk
    )


def suggestions_awaiting_decision(*, user: Any, store_ids: frozenset[int]) -> QuerySet[Suggestion]:
    return suggestion_list(user=user, store_ids=store_ids, status=SuggestionStatus.OPEN).order_by("decision_due", "id")


# ------------------------------------------------------------------------------------------- follow-ups


def follow_up_queue(
    *,
    user: Any,
    store_ids: frozenset[int],
    due_only: bool = False,
    now: dt.datetime | None = None,
    capability: Capability = READ,
) -> QuerySet[FollowUp]:
    """The agents' call queue: open follow-ups, oldest due first."""
    queue = FollowUp.objects.for_user(user, capability, store_ids=store_ids).filter(status=FollowUpStatus.OPEN)
    if due_only:
        queue = queue.filter(due_at__lte=now or clock.now())
    return queue.select_related("store", "order__customer", "order__vehicle", "order__advisor__staff_profile").order_by(
        "due_at", "id"
    )


def follow_up_get_for_user(*, user: Any, pk: Any) -> FollowUp:
    return FollowUp.objects.select_related(
        "store", "order__customer", "order__vehicle", "order__advisor__staff_profile", "response"
    ).get_for_user_or_404(user, pk=pk)


def follow_up_attempts(follow_up: FollowUp) -> list[CallAttempt]:
    return list(follow_up.call_attempts.select_related("by__staff_profile").order_by("number"))


# ---------------------------------------------------------------------------------------------- surveys


def survey_items() -> list[SurveyItem]:
    """The default instrument's items in order (the call script and the customer's page show these).  The
    instrument is reference data: a migration creates it and the feedback sweep restores it; this only reads."""
    return list(SurveyItem.objects.filter(instrument__is_default=True).order_by("position", "id"))


def survey_response_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    channel: str | None = None,
    order_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    capability: Capability = READ,
) -> QuerySet[SurveyResponse]:
    responses = SurveyResponse.objects.for_user(user, capability, store_ids=store_ids).select_related(
        "store", "order", "customer"
    )
    if channel:
        responses = responses.filter(channel=channel)
    if order_id is not None:
        responses = responses.filter(order_id=order_id)
    if since is not None:
        responses = responses.filter(submitted_at__gte=since)
    if until is not None:
        responses = responses.filter(submitted_at__lt=until)
    return responses.prefetch_related(
        Prefetch("answers", queryset=SurveyAnswer.objects.select_related("item").order_by("item__position"))
    ).order_by("-submitted_at", "-id")


def survey_response_get_for_user(*, user: Any, pk: Any) -> SurveyResponse:
    return (
        SurveyResponse.objects.select_related("store", "order", "customer")
        .prefetch_related(
            Prefetch("answers", queryset=SurveyAnswer.objects.select_related("item").order_by("item__position"))
        )
        .get_for_user_or_404(user, pk=pk)
    )


@dataclass(frozen=True)
class SurveyScores:
    """CSAT and NPS of SPEC §6 over a set of responses (follow-up channels: after the customer has left)."""

    responses: int
    csat_percent: float | None
    nps: float | None
    promoters: int
    detractors: int
    recommend_answers: int


def survey_scores(*, store: Store, since: dt.datetime, until: dt.datetime, follow_up_only: bool = True) -> SurveyScores:
    """CSAT = share of responses with overall ≥ csat_satisfied_from; NPS = % promoters − % detractors on
    recommend.  One aggregate query."""
    values = setting_values_for_store(store)
    satisfied, promoter, detractor = (
        int(values["csat_satisfied_from"]),
        int(values["nps_promoter_from"]),
        int(values["nps_detractor_to"]),
    )
    responses = SurveyResponse.objects.filter(store=store, submitted_at__gte=since, submitted_at__lt=until)
    if follow_up_only:
        responses = responses.filter(channel__in=FOLLOW_UP_CHANNELS)
    row = responses.aggregate(
        rated=Count("id", filter=Q(overall__isnull=False)),
        satisfied=Count("id", filter=Q(overall__gte=satisfied)),
        recommend=Count("id", filter=Q(recommend__isnull=False)),
        promoters=Count("id", filter=Q(recommend__gte=promoter)),
        detractors=Count("id", filter=Q(recommend__lte=detractor)),
    )
    rated, answered = row["rated"], row["recommend"]
    return SurveyScores(
        responses=rated,
        csat_percent=round(100 * row["satisfied"] / rated, 1) if rated else None,
        nps=round(100 * (row["promoters"] - row["detractors"]) / answered, 1) if answered else None,
        promoters=row["promoters"],
        detractors=row["detractors"],
        recommend_answers=answered,
    )


# ------------------------------------------------------------------------------------------------ recovery


def recovery_task_list(
    *,
    user: Any,
    store_ids: frozenset[int],
    advisor: Any = None,
    open_only: bool = False,
    capability: Capability = READ,
) -> QuerySet[RecoveryTask]:
    tasks = RecoveryTask.objects.for_user(user, capability, store_ids=store_ids).select_related(
        "store", "order__customer", "advisor__staff_profile", "response"
    )
    if advisor is not None:
        tasks = tasks.filter(advisor=advisor)
    if open_only:
        tasks = tasks.filter(status=RecoveryStatus.OPEN)
    return tasks.order_by("due_at", "id")


def recovery_get_for_user(*, user: Any, pk: Any) -> RecoveryTask:
    return RecoveryTask.objects.select_related(
        "store", "order__customer", "advisor__staff_profile", "response"
    ).get_for_user_or_404(user, pk=pk)


# --------------------------------------------------------------------------------------------------- CAPA


def capa_list(
    *, user: Any, store_ids: frozenset[int], status: str | None = None, capability: Capability = READ
) -> QuerySet[Capa]:
    capas = Capa.objects.for_user(user, capability, store_ids=store_ids).select_related("store", "complaint")
    if status:
        capas = capas.filter(status=status)
    return capas.prefetch_related(
        Prefetch("actions", queryset=CapaAction.objects.select_related("owner__staff_profile"))
    ).order_by("-created_at", "-id")


def capa_get_for_user(*, user: Any, pk: Any) -> Capa:
    return (
        Capa.objects.select_related("store", "complaint", "opened_by__staff_profile")
        .prefetch_related(Prefetch("actions", queryset=CapaAction.objects.select_related("owner__staff_profile")))
        .get_for_user_or_404(user, pk=pk)
    )


def capa_action_get(*, capa: Capa, pk: Any) -> CapaAction:
    from django.http import Http404

    try:
        return CapaAction.objects.select_related("capa").get(capa=capa, pk=pk)
    except (CapaAction.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No CAPA action matches the given query.") from exc


# ---------------------------------------------------------------------------------- monthly frequent issues


@dataclass
class IssueRow:
    key: str
    label: str
    count: int
    previous: int
    change: int
    rank: int = 0
    mean: float | None = None
    previous_mean: float | None = None


@dataclass
class FrequentIssues:
    month: dt.date
    complaint_categories: list[IssueRow] = field(default_factory=list)
    survey_items: list[IssueRow] = field(default_factory=list)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) in the store's time zone."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=tz),
        dt.datetime.combine(following, dt.time.min, tzinfo=tz),
    )


def _previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _ranked(rows: list[IssueRow]) -> list[IssueRow]:
    rows.sort(key=lambda r: (-r.count, -r.change, r.key))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    return rows


def frequent_issues(*, store_ids: frozenset[int] | set[int], month: dt.date, low_from: int = 2) -> FrequentIssues:
    """The month's complaint categories and the survey attribute items answered low (≤ `low_from` on the 1–5
    scale), ranked by count, each with last month's count and the change.  Four grouped SQL queries."""
    start, end = month_bounds(month)
    previous_start, _previous_end = month_bounds(_previous_month(month))
    ids = list(store_ids)

    def complaint_counts(since: dt.datetime, until: dt.datetime) -> dict[str, int]:
        rows = (
            Complaint.objects.filter(store_id__in=ids, received_at__gte=since, received_at__lt=until)
            .values("category")
            .annotate(n=Count("id"))
        )
        return {r["category"]: r["n"] for r in rows}

    def item_stats(since: dt.datetime, until: dt.datetime) -> dict[str, tuple[int, float | None]]:
        rows = (
            SurveyAnswer.objects.filter(
                response__store_id__in=ids,
                response__submitted_at__gte=since,
                response__submitted_at__lt=until,
                item__kind=ItemKind.SCALE_1_5,
                value__isnull=False,
            )
            .values("item__key")
            .annotate(low=Count("id", filter=Q(value__lte=low_from)), mean=Avg("value"))
        )
        return {r["item__key"]: (r["low"], r["mean"]) for r in rows}

    now_counts, before_counts = complaint_counts(start, end), complaint_counts(previous_start, start)
    categories = [
        IssueRow(
            key=key,
            label=str(ComplaintCategory(key).label),
            count=now_counts.get(key, 0),
            previous=before_counts.get(key, 0),
            change=now_counts.get(key, 0) - before_counts.get(key, 0),
        )
        for key in ComplaintCategory.values
        if now_counts.get(key) or before_counts.get(key)
    ]
    now_items, before_items = item_stats(start, end), item_stats(previous_start, start)
    labels = {item.key: item for item in survey_items() if item.kind == ItemKind.SCALE_1_5}
    items = []
    for key in sorted(set(now_items) | set(before_items)):
        count, mean = now_items.get(key, (0, None))
        previous, previous_mean = before_items.get(key, (0, None))
        label = labels[key].wording(translation_language()) if key in labels else key
        items.append(
            IssueRow(
                key=key,
                label=label,
                count=count,
                previous=previous,
                change=count - previous,
                mean=round(float(mean), 2) if mean is not None else None,
                previous_mean=round(float(previous_mean), 2) if previous_mean is not None else None,
            )
        )
    return FrequentIssues(
        month=month.replace(day=1), complaint_categories=_ranked(categories), survey_items=_ranked(items)
    )


def translation_language() -> str:
    from django.utils import translation

    return translation.get_language() or "zh-hans"
