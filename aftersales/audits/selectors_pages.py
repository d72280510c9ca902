"""Reads the audit pages need beyond `audits.selectors`: the quarter an audit belongs to, the group whose plan and
checklists a member of the quality department keeps, the people who may be an audit's auditor, the checklist
items of an audit with their answers (the fill page's cards), the live score preview and the plan's grid.

The score preview repeats the rule of the models (Σ weights passed / Σ weights applicable × 100) on what the
auditor has answered so far; the score that counts is the one `services.audit_submit` stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from aftersales.audits.choices import AnswerResult, AuditKind
from aftersales.audits.models import Audit, AuditAnswer, AuditChecklist, AuditChecklistItem, AuditPlan, SpotCheckSample
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability, roles_with
from aftersales.service.models import RepairOrder

C = Capability


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    """First and last day of the quarter."""
    start = dt.date(year, 3 * (quarter - 1) + 1, 1)
    end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
    return start, end - dt.timedelta(days=1)


def quarter_months(year: int, quarter: int) -> list[dt.date]:
    return [dt.date(year, 3 * (quarter - 1) + m, 1) for m in (1, 2, 3)]


def neighbour_quarters(year: int, quarter: int) -> tuple[tuple[int, int], tuple[int, int]]:
    before = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    after = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return before, after


def in_quarter(audits: QuerySet[Audit], year: int, quarter: int) -> QuerySet[Audit]:
    """The audits of a quarter: those of its plan; an unplanned one by its due date, else when it was created."""
    start, end = quarter_bounds(year, quarter)
    return audits.filter(
        Q(plan__year=year, plan__quarter=quarter)
        | Q(plan__isnull=True, due_date__range=(start, end))
        | Q(plan__isnull=True, due_date__isnull=True, created_at__date__range=(start, end))
    )


def _group_of(store_ids: frozenset[int]) -> DealerGroup | None:
    groups = Store.objects.filter(pk__in=store_ids).values("group_id")
    return DealerGroup.objects.filter(pk__in=groups).order_by("pk").first() if store_ids else None


def managed_group(user: Any) -> DealerGroup | None:
    """The dealer group whose audit plan and checklists the user keeps (MANAGE_AUDITS in its stores)."""
    return _group_of(store_ids_where(user, C.MANAGE_AUDITS))


def reading_group(user: Any) -> DealerGroup | None:
    """The group whose checklists the user may read: the one they manage, else the group of their stores."""
    return managed_group(user) or _group_of(
        store_ids_where(user, C.VIEW_AUDITS) | store_ids_where(user, C.PERFORM_AUDITS)
    )


def group_stores(group: DealerGroup) -> list[Store]:
    return list(Store.objects.filter(group=group, is_active=True).order_by("code"))


def auditor_choices(group: DealerGroup) -> list[tuple[int, str]]:
    """Everyone of the group whose role may perform audits (the quality department, external auditors)."""
    rows = (
        Membership.objects.filter(group=group, role__in=list(roles_with(C.PERFORM_AUDITS)), user__is_active=True)
        .select_related("user__staff_profile")
        .order_by("user__username")
    )
    seen: dict[int, str] = {}
    for membership in rows:
        user = membership.user
        if user.pk not in seen:
            seen[user.pk] = person_name(user)
    return sorted(seen.items(), key=lambda pair: pair[1])


def person_name(user: Any) -> str:
    if user is None:
        return ""
    profile = getattr(user, "staff_profile", None)
    return (getattr(profile, "display_name", "") or "") or user.get_username()


def active_checklists(group: DealerGroup) -> QuerySet[AuditChecklist]:
    return AuditChecklist.objects.filter(group=group, is_active=True).order_by("kind", "title")


def checklists_with_items(group: DealerGroup) -> list[AuditChecklist]:
    items = AuditChecklistItem.objects.order_by("position", "id")
    return list(
        AuditChecklist.objects.filter(group=group)
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("kind", "-is_active", "title")
    )


# ------------------------------------------------------------------------------------------------ the plan


@dataclass
class PlanCell:
    kind: str
    label: str
    audits: list[Audit] = field(default_factory=list)


@dataclass
class PlanRow:
    store: Store
    cells: list[PlanCell]


def plan_grid(group: DealerGroup, year: int, quarter: int) -> tuple[AuditPlan | None, list[PlanRow], int]:
    """The quarter's planned audits per store × kind (with their auditors), and how many there are."""
    plan = AuditPlan.objects.filter(group=group, year=year, quarter=quarter).first()
    stores = group_stores(group)
    audits = (
        in_quarter(Audit.objects.filter(store__group=group), year, quarter)
        .select_related("auditor__staff_profile", "order", "checklist")
        .order_by("due_date", "id")
    )
    by_cell: dict[tuple[int, str], list[Audit]] = {}
    total = 0
    for audit in audits:
        by_cell.setdefault((audit.store_id, audit.kind), []).append(audit)
        total += 1
    rows = [
        PlanRow(store, [PlanCell(kind, str(label), by_cell.get((store.pk, kind), [])) for kind, label in KINDS])
        for store in stores
    ]
    return plan, rows, total


KINDS: tuple[tuple[str, Any], ...] = tuple(AuditKind.choices)


def samples_of_quarter(group: DealerGroup, year: int, quarter: int) -> list[dict[str, Any]]:
    """The spot-check samples drawn for the quarter's months, each with its drawn orders' numbers."""
    months = quarter_months(year, quarter)
    samples = list(
        SpotCheckSample.objects.filter(store__group=group, month__in=months)
        .select_related("store", "drawn_by__staff_profile")
        .order_by("-month", "store__code", "-id")
    )
    order_ids = {pk for sample in samples for pk in sample.order_ids}
    numbers = dict(RepairOrder.objects.filter(pk__in=order_ids).values_list("pk", "number"))
    return [
        {"sample": s, "orders": [numbers.get(pk, f"#{pk}") for pk in s.order_ids], "by": person_name(s.drawn_by)}
        for s in samples
    ]


# ------------------------------------------------------------------------------------------------ filling in


def _q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score_preview(items: list[AuditChecklistItem], answers: dict[int, AuditAnswer]) -> Decimal | None:
    """Σ weights passed / Σ weights applicable × 100 over the items answered so far; None while none applies."""
    passed = applicable = Decimal(0)
    for item in items:
        answer = answers.get(item.pk)
        if answer is None or answer.result == AnswerResult.NA:
            continue
        applicable += item.weight
        if answer.result == AnswerResult.PASS:
            passed += item.weight
    if not applicable:
        return None
    return _q2(passed / applicable * 100)


@dataclass
class FillState:
    items: list[AuditChecklistItem]
    answers: dict[int, AuditAnswer]
    answered: int
    total: int
    score: Decimal | None

    @property
    def complete(self) -> bool:
        return self.answered == self.total


def fill_state(audit: Audit) -> FillState:
    """The checklist's items in order with the audit's answers (and their photos): two queries plus the photos."""
    items = list(AuditChecklistItem.objects.filter(checklist_id=audit.checklist_id).order_by("position", "id"))
    answers = {
        answer.item_id: answer
        for answer in AuditAnswer.objects.filter(audit=audit).prefetch_related("photos").order_by("id")
    }
    answered = sum(1 for item in items if item.pk in answers)
    return FillState(items, answers, answered, len(items), score_preview(items, answers))


def with_findings_count(audits: QuerySet[Audit]) -> QuerySet[Audit]:
    return audits.annotate(findings_count=Count("findings", distinct=True))


def status_counts(audits: QuerySet[Audit]) -> dict[str, int]:
    return dict(audits.order_by().values_list("status").annotate(n=Count("id")))
