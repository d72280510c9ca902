"""Reads of the audits for pages and the API, with who sees what (issue 16):

- the quality department (MANAGE_AUDITS) sees every audit of the stores it audits, in any state;
- an auditor (PERFORM_AUDITS) sees the audits they are the auditor of, in any state;
- the audited store and the group's management (VIEW_AUDITS) see an audit only once it is submitted — never one
  planned, in progress or cancelled — with its score and findings.

Findings are read by the VIEW_AUDITS and MANAGE_AUDITS holders of their store and by their owner.  The scores
per store and kind are one aggregate query."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from aftersales.audits.choices import AuditKind, AuditStatus, FindingStatus
from aftersales.audits.models import Audit, AuditChecklist, Finding, SpotCheckSample
from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability

CENT = Decimal("0.01")


def _store_id(store: Store | int | None) -> int | None:
    return store.pk if isinstance(store, Store) else store


def visibility(user: Any) -> Q:
    """The audits `user` may read (see the module's docstring)."""
    manage = store_ids_where(user, Capability.MANAGE_AUDITS)
    perform = store_ids_where(user, Capability.PERFORM_AUDITS)
    view = store_ids_where(user, Capability.VIEW_AUDITS)
    condition = Q(store_id__in=manage) | Q(status=AuditStatus.SUBMITTED, store_id__in=view)
    if perform and getattr(user, "pk", None) is not None:
        condition |= Q(auditor_id=user.pk, store_id__in=perform)
    return condition


def audits_for(
    user: Any, *, store: Store | int | None = None, kind: str | None = None, status: str | None = None
) -> QuerySet[Audit]:
    """The audits `user` may read, newest first, optionally of one store, kind or status."""
    if not getattr(user, "is_authenticated", False):
        return Audit.objects.none()
    audits = Audit.objects.filter(visibility(user))
    if (store_id := _store_id(store)) is not None:
        audits = audits.filter(store_id=store_id)
    if kind:
        audits = audits.filter(kind=kind)
    if status:
        audits = audits.filter(status=status)
    return audits.select_related("store", "checklist", "auditor", "auditor__staff_profile", "order", "plan")


def audit_detail(*, user: Any, pk: int) -> Audit:
    """One audit `user` may read, with its answers (and their items and photos) and findings; Http404 otherwise
    (the same for an audit the store may not see yet as for a missing one)."""
    audit = (
        audits_for(user)
        .prefetch_related("answers__item", "answers__photos", "findings__owner__staff_profile", "checklist__items")
        .filter(pk=pk)
        .first()
    )
    if audit is None:
        raise Http404
    return audit


def my_audits(user: Any) -> QuerySet[Audit]:
    """The audits `user` is the auditor of that are still to do (planned or in progress), the soonest due first."""
    if not getattr(user, "is_authenticated", False):
        return Audit.objects.none()
    return (
        audits_for(user)
        .filter(auditor_id=user.pk, status__in=[AuditStatus.PLANNED, AuditStatus.IN_PROGRESS])
        .order_by("due_date", "pk")
    )


def finding_visibility(user: Any) -> Q:
    stores = store_ids_where(user, Capability.VIEW_AUDITS) | store_ids_where(user, Capability.MANAGE_AUDITS)
    condition = Q(store_id__in=stores)
    if getattr(user, "pk", None) is not None:
        condition |= Q(owner_id=user.pk, store_id__in=store_ids_where(user))
    return condition & Q(audit__status=AuditStatus.SUBMITTED)


def findings_for(
    user: Any,
    *,
    store: Store | int | None = None,
    status: str | None = None,
    overdue: bool | None = None,
) -> QuerySet[Finding]:
    """The findings `user` may read (their stores' with VIEW_AUDITS or MANAGE_AUDITS, and their own), the soonest
    due first; `overdue`: open and past the due date (True) or not (False)."""
    if not getattr(user, "is_authenticated", False):
        return Finding.objects.none()
    findings = Finding.objects.filter(finding_visibility(user))
    if (store_id := _store_id(store)) is not None:
        findings = findings.filter(store_id=store_id)
    if status:
        findings = findings.filter(status=status)
    late = Q(status=FindingStatus.OPEN, due_date__lt=clock.today())
    if overdue is True:
        findings = findings.filter(late)
    elif overdue is False:
        findings = findings.exclude(late)
    return findings.select_related("store", "audit", "owner", "owner__staff_profile", "capa").order_by("due_date", "pk")


def finding_detail(*, user: Any, pk: int) -> Finding:
    finding = findings_for(user).filter(pk=pk).first()
    if finding is None:
        raise Http404
    return finding


def checklists_for(user: Any, *, kind: str | None = None, include_retired: bool = False) -> QuerySet[AuditChecklist]:
    """The checklists of the groups where `user` audits or reads audits (the items are prefetched)."""
    stores = (
        store_ids_where(user, Capability.MANAGE_AUDITS)
        | store_ids_where(user, Capability.PERFORM_AUDITS)
        | store_ids_where(user, Capability.VIEW_AUDITS)
    )
    groups = Store.objects.filter(pk__in=stores).values("group_id")
    checklists = AuditChecklist.objects.filter(group_id__in=groups)
    if not include_retired:
        checklists = checklists.filter(is_active=True)
    if kind:
        checklists = checklists.filter(kind=kind)
    return checklists.prefetch_related("items").order_by("kind", "title", "pk")


def samples_for(user: Any, *, store: Store | int | None = None) -> QuerySet[SpotCheckSample]:
    """The spot-check samples of the stores the user audits (the quality department's)."""
    samples = SpotCheckSample.objects.filter(store_id__in=store_ids_where(user, Capability.MANAGE_AUDITS))
    if (store_id := _store_id(store)) is not None:
        samples = samples.filter(store_id=store_id)
    return samples.select_related("store", "drawn_by")


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def scores_by_store_kind(user: Any, *, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The mean score of the submitted audits per store and kind, submitted from `start` to `end` (both days
    included, China time), of the audits `user` may read: one aggregate query.  Rows: store (code), store_name,
    kind, kind_label, audits, mean (Decimal, 2 dp)."""
    rows = (
        Audit.objects.filter(visibility(user))
        .filter(
            status=AuditStatus.SUBMITTED,
            submitted_at__gte=_day_start(start),
            submitted_at__lt=_day_start(end + dt.timedelta(days=1)),
        )
        .values("store_id", "store__code", "store__name", "kind")
        .annotate(audits=Count("pk"), mean=Avg("score"))
        .order_by("store__code", "kind")
    )
    return [
        {
            "store_id": row["store_id"],
            "store": row["store__code"],
            "store_name": row["store__name"],
            "kind": row["kind"],
            "kind_label": AuditKind(row["kind"]).label,
            "audits": row["audits"],
            "mean": Decimal(str(row["mean"])).quantize(CENT, rounding=ROUND_HALF_UP)
            if row["mean"] is not None
            else None,
        }
        for row in rows
    ]
