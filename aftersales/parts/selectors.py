"""Reads of the parts pages and the API: the stock list, a part's batches and ledger."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F, Q, QuerySet

from aftersales.organisation.permissions import Capability
from aftersales.parts.models import Batch, Movement, Part, Stock


def stock_list(*, user: Any, store_ids: Iterable[int], query: str = "", low_only: bool = False) -> QuerySet[Stock]:
    """The stock rows of the stores, part by part; `low_only`: below the safety stock."""
    rows = (
        Stock.objects.for_user(user, Capability.VIEW_PARTS, store_ids=store_ids)
        .select_related("part", "store")
        .order_by("part__code", "store__code")
    )
    if query:
        rows = rows.filter(Q(part__code__icontains=query) | Q(part__name__icontains=query) | Q(part__barcode=query))
    if low_only:
        rows = rows.filter(safety_stock__gt=0, on_hand__lt=F("safety_stock"))
    return rows


def catalogue_without_stock(*, group_ids: Iterable[int], store_ids: Iterable[int], query: str = "") -> QuerySet[Part]:
    """Catalogue parts no store of the list has ever stocked (to receive the first batch)."""
    parts = Part.objects.filter(group_id__in=list(group_ids), is_active=True).exclude(
        stocks__store_id__in=list(store_ids)
    )
    if query:
        parts = parts.filter(Q(code__icontains=query) | Q(name__icontains=query))
    return parts.order_by("code")


def part_batches(*, part: Part, store_ids: Iterable[int], with_empty: bool = False) -> QuerySet[Batch]:
    batches = Batch.objects.filter(part=part, store_id__in=list(store_ids)).select_related("store", "received_by")
    if not with_empty:
        batches = batches.filter(remaining__gt=0)
    return batches.order_by("store__code", "received_on", "id")


def part_ledger(*, part: Part, store_ids: Iterable[int]) -> QuerySet[Movement]:
    return (
        Movement.objects.filter(part=part, store_id__in=list(store_ids))
        .select_related("batch", "by__staff_profile", "store")
        .order_by("-at", "-id")
    )


def part_stocks(*, part: Part, store_ids: Iterable[int]) -> QuerySet[Stock]:
    return Stock.objects.filter(part=part, store_id__in=list(store_ids)).select_related("store").order_by("store__code")
