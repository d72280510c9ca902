"""Reads for the reports page: the runs a person may see, one run for its download, the scopes they may ask for."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from aftersales.analytics.models import ReportRun
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability


def covered_group_ids(user: Any) -> frozenset[int]:
    """Groups whose every store the user reads KPIs of (who may see group figures and group reports)."""
    allowed = store_ids_where(user, Capability.VIEW_KPIS)
    if not allowed:
        return frozenset()
    stores_by_group: dict[int, set[int]] = {}
    groups = Store.objects.filter(pk__in=sorted(allowed)).values("group_id")
    for group_id, store_id in Store.objects.filter(group_id__in=groups).values_list("group_id", "pk"):
        stores_by_group.setdefault(group_id, set()).add(store_id)
    return frozenset(group for group, stores in stores_by_group.items() if stores <= allowed)


def report_scopes_for_user(*, user: Any) -> tuple[list[Store], list[DealerGroup]]:
    """The stores and the groups the user may ask a report of."""
    stores = list(Store.objects.filter(pk__in=sorted(store_ids_where(user, Capability.VIEW_KPIS))).order_by("code"))
    groups = list(DealerGroup.objects.filter(pk__in=sorted(covered_group_ids(user))).order_by("code"))
    return stores, groups


def report_run_list_for_user(*, user: Any, limit: int = 50) -> QuerySet[ReportRun]:
    """The latest runs of the stores (and whole groups) whose KPIs the user reads, whoever asked for them."""
    stores = store_ids_where(user, Capability.VIEW_KPIS)
    groups = covered_group_ids(user)
    return (
        ReportRun.objects.filter(Q(store_id__in=sorted(stores)) | Q(store__isnull=True, group_id__in=sorted(groups)))
        .select_related("store", "group", "requested_by__staff_profile")
        .order_by("-created_at", "-id")[:limit]
    )


def report_run_get_for_user(*, user: Any, pk: int) -> ReportRun:
    """One run the user may see; another store's (or group's) answers 404 like a missing one."""
    run = (
        ReportRun.objects.filter(
            Q(store_id__in=sorted(store_ids_where(user, Capability.VIEW_KPIS)))
            | Q(store__isnull=True, group_id__in=sorted(covered_group_ids(user)))
        )
        .select_related("store", "group")
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise Http404("No report matches the given query.")
    return run
