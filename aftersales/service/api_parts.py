"""`POST /api/v1/parts/issues`: parts out of stock onto an order's approved line (the service side of the parts
ledger; receipts and stock are the parts app's endpoints)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.http import HttpRequest
from ninja import Field, Router, Schema

from aftersales.core.api import OneLine
from aftersales.parts.models import Stock
from aftersales.service import selectors, services
from aftersales.service.models import LinePartIssue

router = Router(tags=["parts"])


class IssueIn(Schema):
    """Parts issued (出库) to a repair order's approved line."""

    order: int = Field(..., description="The repair order's id")
    part: OneLine = Field(..., max_length=40, description="Part code of the group's catalogue")
    quantity: Decimal = Field(..., gt=0, le=99999, decimal_places=2)
    batch: OneLine = Field("", max_length=40, description="A batch number; oldest batches first when empty")


class IssuedBatch(Schema):
    """A batch parts were taken from, and how many."""

    batch: str
    quantity: Decimal


class PartIssueOut(Schema):
    """What an issue of parts took, by batch, with the line's total and the store's stock after it."""

    order: int
    line: int
    part: str
    issued: list[IssuedBatch]
    line_issued: Decimal = Field(..., description="What the line holds now, all issues and returns counted")
    on_hand: Decimal = Field(..., description="The store's stock of the part after the issue")


@router.post(
    "/parts/issues",
    response={201: PartIssueOut},
    summary="Issue parts to an order (配件出库)",
    description="Takes `quantity` of the part for the order's approved line of that part that still needs some, "
    "from `batch` or oldest first. 409 when the stock (or the batch) would go negative — never negative, even "
    "under concurrent issues; 422 names a bad field. Nothing is written then.",
)
def issue_create(request: HttpRequest, payload: IssueIn) -> Any:
    order = selectors.order_get_for_user(user=request.auth, pk=payload.order)
    issues = services.order_part_issue(
        order=order, by=request.auth, part_code=payload.part, quantity=payload.quantity, batch_number=payload.batch
    )
    line = issues[0].line
    held = LinePartIssue.objects.filter(line=line).aggregate(n=Sum("quantity"))["n"]
    on_hand = Stock.objects.get(store_id=order.store_id, part_id=line.part_id).on_hand
    return 201, {
        "order": order.pk,
        "line": line.pk,
        "part": line.part.code if line.part else line.part_number,
        "issued": [{"batch": i.batch.batch_number, "quantity": i.quantity} for i in issues],
        "line_issued": (held or Decimal("0")).quantize(Decimal("0.01")),  # SQLite sums without the scale
        "on_hand": on_hand,
    }
