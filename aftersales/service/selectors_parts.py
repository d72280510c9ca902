"""Reads of the parts clerk's issue page and of a vehicle's parts ledger (the service side of the parts ledger)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from aftersales.organisation.permissions import Capability
from aftersales.parts.models import Batch
from aftersales.service.choices import LineDecision, LineKind
from aftersales.service.models import EstimateLine, LinePartIssue, RepairOrder
from aftersales.service.transitions import OPEN_STATES

_QUANTITY = DecimalField(max_digits=10, decimal_places=2)


def _issued() -> Coalesce:
    """What a line holds now (issued − returned), as a subquery per line."""
    held = LinePartIssue.objects.filter(line=OuterRef("pk")).values("line").annotate(n=Sum("quantity")).values("n")
    return Coalesce(Subquery(held, output_field=_QUANTITY), Value(Decimal("0")), output_field=_QUANTITY)


def catalogue_part_lines(*, order: RepairOrder) -> QuerySet[EstimateLine]:
    """The order's approved part lines with the quantity each holds (`issued`), in the estimate's order."""
    return (
        EstimateLine.objects.filter(estimate__order=order, kind=LineKind.PART, decision=LineDecision.APPROVED)
        .select_related("part")
        .annotate(issued=_issued())
        .order_by("id")
    )


def orders_waiting_for_parts(*, user: Any, store_ids: Iterable[int]) -> QuerySet[RepairOrder]:
    """Open orders with an approved catalogue part line that does not hold all its parts yet, oldest first."""
    short = (
        EstimateLine.objects.filter(
            estimate__order=OuterRef("pk"), kind=LineKind.PART, decision=LineDecision.APPROVED, part__isnull=False
        )
        .annotate(issued=_issued())
        .filter(issued__lt=F("quantity"))
    )
    return (
        RepairOrder.objects.for_user(user, Capability.MANAGE_PARTS, store_ids=store_ids)
        .filter(status__in=OPEN_STATES)
        .alias(short=Subquery(short.values("pk")[:1]))
        .filter(short__isnull=False)
        .select_related("vehicle", "store")
        .order_by("created_at", "id")
    )


def batches_on_shelf(*, store_id: int, part_ids: Iterable[int]) -> dict[int, list[Batch]]:
    """Per part, the store's batches with something left, oldest first (the FIFO default comes first)."""
    found: dict[int, list[Batch]] = {}
    for batch in Batch.objects.filter(store_id=store_id, part_id__in=list(part_ids), remaining__gt=0).order_by(
        "received_on", "id"
    ):
        found.setdefault(batch.part_id, []).append(batch)
    return found


def held_batches(*, line_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Per line, the batches it holds now and how much of each (what can be returned)."""
    rows = (
        LinePartIssue.objects.filter(line_id__in=list(line_ids))
        .values("line_id", "batch_id", "batch__batch_number")
        .annotate(n=Sum("quantity"))
        .filter(n__gt=0)
        .order_by("line_id", "batch_id")
    )
    held: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        held.setdefault(row["line_id"], []).append(
            {"batch_id": row["batch_id"], "batch_number": row["batch__batch_number"], "quantity": row["n"]}
        )
    return held


def vehicle_parts_ledger(*, user: Any, vehicle_id: int) -> QuerySet[LinePartIssue]:
    """Every part issued to or returned from the vehicle's orders in the stores the user sees parts of: which
    batch went into this car, when, on which order (the ledger per vehicle)."""
    return (
        LinePartIssue.objects.for_user(user, Capability.VIEW_PARTS)
        .filter(line__estimate__order__vehicle_id=vehicle_id)
        .select_related("line__estimate__order__store", "line__part", "batch", "by__staff_profile")
        .order_by("-at", "-id")
    )
