"""Reads of the e-health record: which endpoint a store uploads to, an order's record, the managers' list."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from aftersales.ehr.choices import OPEN_STATUSES
from aftersales.ehr.models import EhrEndpoint, EhrSubmission
from aftersales.ehr.record import order_record
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.service.models import RepairOrder


def endpoint_for_store(store: Store, *, enabled_only: bool = True) -> EhrEndpoint | None:
    """The store's own endpoint, else its group's (one query)."""
    rows = EhrEndpoint.objects.filter(Q(store=store) | Q(group_id=store.group_id, store__isnull=True))
    if enabled_only:
        rows = rows.filter(enabled=True)
    found = sorted(rows, key=lambda e: e.store_id is None)  # the store's own first
    return found[0] if found else None


def endpoint_of_scope(*, group_id: int, store: Store | None) -> EhrEndpoint | None:
    """The endpoint configured exactly at this level (the group's, or one store's own)."""
    if store is None:
        return EhrEndpoint.objects.filter(group_id=group_id, store__isnull=True).first()
    return EhrEndpoint.objects.filter(store=store).first()


def order_ehr_record(order: RepairOrder) -> dict[str, Any]:
    """The record of an order as it stands now (settled or not), with the company code of its endpoint."""
    endpoint = endpoint_for_store(order.store, enabled_only=False)
    return order_record(order, company_code=endpoint.company_code if endpoint else "")


def submission_of_order(order: RepairOrder) -> EhrSubmission | None:
    return EhrSubmission.objects.filter(order=order).first()


def submission_list(
    *, user: Any, store_ids: frozenset[int] | set[int], statuses: tuple[str, ...] = OPEN_STATUSES, search: str = ""
) -> QuerySet[EhrSubmission]:
    """The managers' list: submissions of the stores in `store_ids` (where the user holds MANAGE_EHR) in `statuses`,
    oldest waiting first."""
    rows = (
        EhrSubmission.objects.for_user(user, Capability.MANAGE_EHR, store_ids=store_ids)
        .filter(status__in=statuses)
        .select_related("store", "order", "order__vehicle")
    )
    if search:
        rows = rows.filter(Q(order__number__icontains=search) | Q(order__vehicle__vin__icontains=search))
    return rows.order_by("created_at", "id")
