"""Figures for the home page, gathered from the apps' own selectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth

from aftersales.audits.choices import AuditStatus, FindingStatus
from aftersales.audits.models import Audit, Finding
from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.customers.choices import NEV_POWERTRAINS
from aftersales.customers.models import Customer, Vehicle
from aftersales.feedback.choices import (
    ComplaintStatus,
    EscalationLevel,
    FollowUpStatus,
    RecoveryStatus,
    SuggestionStatus,
)
from aftersales.feedback.models import Complaint, ComplaintEscalation, FollowUp, RecoveryTask, Suggestion
from aftersales.feedback.selectors import complaint_overdue_q
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.selectors import store_list_for_user
from aftersales.standards.choices import VersionStatus
from aftersales.standards.models import Acknowledgement


@dataclass(frozen=True)
class HomeSummary:
    stores: list[Any]
    customers: int
    new_customers_30d: int
    vehicles: int
    nev_vehicles: int
    registrations_chart: dict[str, Any]
    # False for a role that does not read customers (a pick-up driver, an external auditor): no figures then.
    shows_customers: bool = True


def home_summary(*, user: Any, store_ids: frozenset[int]) -> HomeSummary:
    stores = [s for s in store_list_for_user(user=user) if s.pk in store_ids]
    # The customer figures are the customers' stores' business: only for those who may read customers there.
    readable = store_ids & store_ids_where(user, Capability.VIEW_CUSTOMERS)
    if not readable:
        return HomeSummary(stores, 0, 0, 0, 0, {}, shows_customers=False)
    since = clock.now() - dt.timedelta(days=30)
    customer_counts = Customer.objects.for_user(user, Capability.VIEW_CUSTOMERS, store_ids=readable).aggregate(
        total=Count("id"), recent=Count("id", filter=Q(created_at__gte=since))
    )
    vehicle_counts = Vehicle.objects.for_user(user, Capability.VIEW_CUSTOMERS, store_ids=readable).aggregate(
        total=Count("id"), nev=Count("id", filter=Q(powertrain__in=NEV_POWERTRAINS))
    )
    return HomeSummary(
        stores=stores,
        customers=customer_counts["total"],
        new_customers_30d=customer_counts["recent"],
        vehicles=vehicle_counts["total"],
        nev_vehicles=vehicle_counts["nev"],
        registrations_chart=registrations_by_month(
            user=user, store_ids=readable, stores=[s for s in stores if s.pk in readable]
        ),
    )


@dataclass(frozen=True)
class QualitySummary:
    """The standards and audits waiting for the user: SOP versions to read, their own audits to do, and the
    findings of the stores they see (open, and past their due date).  None where it is not the user's work."""

    sops_to_read: int
    audits_to_do: int | None
    findings_open: int | None
    findings_overdue: int | None


def quality_summary(*, user: Any, store_ids: frozenset[int]) -> QualitySummary | None:
    """At most three small queries; None when there is nothing of this kind for the user to see."""
    to_read = Acknowledgement.objects.filter(
        user=user, acknowledged_at__isnull=True, version__status=VersionStatus.PUBLISHED
    ).count()
    audits_to_do = None
    if any(user_can(user, c) for c in (Capability.PERFORM_AUDITS, Capability.MANAGE_AUDITS)):
        audits_to_do = Audit.objects.filter(
            auditor=user, status__in=[AuditStatus.PLANNED, AuditStatus.IN_PROGRESS]
        ).count()
    findings: dict[str, int | None] = {"open": None, "overdue": None}
    if store_ids & store_ids_where(user, Capability.VIEW_AUDITS):
        findings = Finding.objects.for_user(user, Capability.VIEW_AUDITS, store_ids=store_ids).aggregate(
            open=Count("id", filter=Q(status=FindingStatus.OPEN)),
            overdue=Count("id", filter=Q(status=FindingStatus.OPEN, due_date__lt=clock.today())),
        )
    if not to_read and audits_to_do is None and findings["open"] is None:
        return None
    return QualitySummary(
        sops_to_read=to_read,
        audits_to_do=audits_to_do,
        findings_open=findings["open"],
        findings_overdue=findings["overdue"],
    )


def registrations_by_month(*, user: Any, store_ids: frozenset[int], stores: list[Any], months: int = 24) -> dict:
    """ECharts options: new customers per month and store over the last `months` months (one SQL query)."""
    today = clock.today()
    start = dt.date(today.year - months // 12, today.month, 1)
    rows = (
        Customer.objects.for_user(user, Capability.VIEW_CUSTOMERS, store_ids=store_ids)
        .filter(created_at__date__gte=start)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "store_id")
        .annotate(n=Count("id"))
    )
    counts = {(r["month"].strftime("%Y-%m"), r["store_id"]): r["n"] for r in rows}
    labels = sorted({month for month, _ in counts})
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 40, "right": 10, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"name": s.name, "type": "bar", "stack": "all", "data": [counts.get((m, s.pk), 0) for m in labels]}
            for s in stores
        ],
    }


@dataclass(frozen=True)
class VoiceSummary:
    """What is waiting in the voice of the customer for the home page: calls due, recovery tasks, complaints
    and suggestions, with how many of each are past due.  None where the user's role does not do that work."""

    follow_ups_due: int | None
    follow_ups_overdue: int | None
    recovery_open: int | None
    recovery_overdue: int | None
    complaints_open: int | None
    complaints_overdue: int | None
    suggestions_open: int | None
    suggestions_overdue: int | None
    # Still open after a second breach: what the group manager was alerted to (recovery tasks, complaints).
    recovery_escalated_to_group: int | None = None
    complaints_escalated_to_group: int | None = None

    @property
    def escalated_to_group(self) -> int:
        return (self.recovery_escalated_to_group or 0) + (self.complaints_escalated_to_group or 0)


def voice_summary(*, user: Any, store_ids: frozenset[int]) -> VoiceSummary | None:
    """Counts in one aggregate query per kind of work (at most four queries)."""
    if not any(user_can(user, Capability.VIEW_FEEDBACK, store_id) for store_id in store_ids):
        return None
    now = clock.now()
    follow_ups: dict[str, int | None] = {"due": None, "overdue": None}
    if any(user_can(user, Capability.FOLLOW_UP, store_id) for store_id in store_ids):
        follow_ups = FollowUp.objects.for_user(user, store_ids=store_ids).aggregate(
            due=Count("id", filter=Q(status=FollowUpStatus.OPEN, due_at__lte=now + dt.timedelta(hours=4))),
            overdue=Count("id", filter=Q(status=FollowUpStatus.OPEN, due_at__lt=now)),
        )
    recovery = RecoveryTask.objects.for_user(user, Capability.VIEW_FEEDBACK, store_ids=store_ids).aggregate(
        open=Count("id", filter=Q(status=RecoveryStatus.OPEN)),
        overdue=Count("id", filter=Q(status=RecoveryStatus.OPEN, due_at__lt=now)),
        group=Count("id", filter=Q(status=RecoveryStatus.OPEN, escalated_group_at__isnull=False)),
    )
    to_group = Exists(ComplaintEscalation.objects.filter(complaint=OuterRef("pk"), level=EscalationLevel.GROUP))
    complaints = Complaint.objects.for_user(user, store_ids=store_ids).aggregate(
        open=Count("id", filter=~Q(status=ComplaintStatus.CLOSED)),
        overdue=Count("id", filter=complaint_overdue_q(now)),
        group=Count("id", filter=Q(to_group) & ~Q(status=ComplaintStatus.CLOSED)),
    )
    suggestions = Suggestion.objects.for_user(user, store_ids=store_ids).aggregate(
        open=Count("id", filter=Q(status=SuggestionStatus.OPEN)),
        overdue=Count("id", filter=Q(status=SuggestionStatus.OPEN, decision_due__lt=now)),
    )
    return VoiceSummary(
        follow_ups_due=follow_ups["due"],
        follow_ups_overdue=follow_ups["overdue"],
        recovery_open=recovery["open"],
        recovery_overdue=recovery["overdue"],
        complaints_open=complaints["open"],
        complaints_overdue=complaints["overdue"],
        suggestions_open=suggestions["open"],
        suggestions_overdue=suggestions["overdue"],
        recovery_escalated_to_group=recovery["group"],
        complaints_escalated_to_group=complaints["group"],
    )


def home_numbers(*, user: Any, store_ids: frozenset[int], current: Store | None) -> Any:
    """What the user is measured on, for the home page (analytics.selectors_dashboards.HomeNumbers or None):
    a manager: the store's month (the chosen store, else their first); a group manager looking at all their
    stores: the group's month; an advisor or technician: their own month.  Other roles: None."""
    from aftersales.analytics import selectors_dashboards as numbers
    from aftersales.core.scoping import store_ids_where

    readable = store_ids_where(user, Capability.VIEW_KPIS) & store_ids
    if readable:
        if current is not None and current.pk in readable:
            return numbers.home_numbers_for_store(store=current)
        stores = list(Store.objects.select_related("group").filter(pk__in=sorted(readable)).order_by("code"))
        groups = {s.group_id: s.group for s in stores}
        if current is None and len(groups) == 1:
            group = next(iter(groups.values()))
            # Every store of the group, active or not: the group's figures count them all (the API's rule).
            if set(Store.objects.filter(group=group).values_list("pk", flat=True)) <= readable:
                return numbers.home_numbers_for_group(group=group)
        return numbers.home_numbers_for_store(store=stores[0])
    membership = (
        Membership.objects.select_related("store")
        .filter(user=user, store_id__in=sorted(store_ids), role__in=list(numbers.CUT_OF_ROLE))
        .order_by("store__code", "role")
        .first()
    )
    if membership is None or membership.store is None:
        return None
    cut = numbers.staff_cut(person=user, store=membership.store)
    if cut is None:
        return None
    return numbers.home_numbers_for_person(store=membership.store, person=user, cut=cut)
