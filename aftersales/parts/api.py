"""The parts endpoints of /api/v1/: goods receipts and a part's stock in a store.  Issuing to an order is the
service app's (`POST /api/v1/parts/issues`, service/api_parts.py), which lies above this app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from aftersales.core.api import HappenedDate, OneLine
from aftersales.core.api_schema import choices_of
from aftersales.organisation.access import require, store_by_code
from aftersales.organisation.permissions import Capability
from aftersales.parts import selectors, services
from aftersales.parts.models import Batch, Part, Stock

router = Router(tags=["parts"])


class ReceiptIn(Schema):
    """A goods receipt (入库) of one part's batch into a store."""

    store: OneLine = Field(..., max_length=16, description="The receiving store's code")
    part: OneLine = Field(..., max_length=64, description="Part code (or barcode) of the group's catalogue")
    quantity: Decimal = Field(..., gt=0, le=99999, decimal_places=2)
    supplier: OneLine = Field(..., max_length=120)
    batch_number: OneLine = Field(..., max_length=40)
    source_voucher: OneLine = Field(
        ..., max_length=60, description="The supplier's invoice or delivery note (来源凭证)"
    )
    certificate_checked: bool = Field(..., description="The product certificate (合格证) was seen at receipt")
    unit_cost: Decimal = Field(..., ge=0, le=1_000_000, decimal_places=2)
    received_on: HappenedDate
    manufacturer: OneLine = Field("", max_length=120)
    production_date: HappenedDate | None = None
    warranty_months: int | None = Field(None, ge=0, le=120)


class BatchOut(Schema):
    """A batch of a part received into a store, with what remains of it."""

    id: int
    receipt_number: str
    batch_number: str
    quantity: Decimal
    remaining: Decimal
    received_on: dt.date
    supplier: str
    manufacturer: str
    production_date: dt.date | None
    warranty_months: int | None
    source_voucher: str = Field(..., description="The supplier's invoice or delivery note (来源凭证), free text")
    certificate_checked: bool


class ReceiptOut(BatchOut):
    """The batch a goods receipt created, with the store's stock of the part after it."""

    part: str
    store: str
    on_hand: Decimal


class StockOut(Schema):
    """A part's stock in a store, by batch."""

    part: str
    name: str
    category: choices_of(Part, "category")  # type: ignore[valid-type]
    unit: str = Field(..., description="The unit the part is counted in (件, 升, 套 …), free text of the catalogue")
    store: str
    on_hand: Decimal
    safety_stock: Decimal
    low: bool
    batches: list[BatchOut]


def _batch(batch: Batch) -> dict[str, Any]:
    return {field: getattr(batch, field) for field in BatchOut.model_fields}


@router.post(
    "/parts/receipts",
    response={201: ReceiptOut},
    summary="Receive goods (入库)",
    description="One batch of a catalogue part into a store: its stock goes up by `quantity`. A new part (OEM or "
    "equivalent) needs `certificate_checked`. 422 names a bad field; nothing is written then.",
)
def receipt_create(request: HttpRequest, payload: ReceiptIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    require(request.auth, Capability.MANAGE_PARTS, store_id=store.pk)
    part = services.part_find(group_id=store.group_id, code=payload.part)
    if part is None:
        raise ValidationError({"part": [_("No part with this code or barcode in the catalogue.")]})
    data = payload.dict(exclude={"store", "part"})
    batch = services.goods_receive(store=store, by=request.auth, part=part, **data)
    on_hand = Stock.objects.get(store=store, part=part).on_hand
    return 201, {**_batch(batch), "part": part.code, "store": store.code, "on_hand": on_hand}


class StockQuery(Schema):
    store: OneLine = Field(..., max_length=16, description="The store's code")


@router.get(
    "/parts/{code}/stock",
    response=StockOut,
    summary="A part's stock in a store",
    description="On hand, safety stock and the batches on the shelf (oldest first: issued first).",
)
def part_stock(request: HttpRequest, code: str, query: Query[StockQuery]) -> Any:
    store = store_by_code(request.auth, query.store, capability=Capability.VIEW_PARTS)
    part: Part | None = services.part_find(group_id=store.group_id, code=code)
    if part is None:
        raise Http404("No part matches the given query.")
    stock = Stock.objects.filter(store=store, part=part).first()
    return {
        "part": part.code,
        "name": part.name,
        "category": part.category,
        "unit": part.unit,
        "store": store.code,
        "on_hand": stock.on_hand if stock else Decimal("0"),
        "safety_stock": stock.safety_stock if stock else Decimal("0"),
        "low": bool(stock and stock.is_low),
        "batches": [_batch(b) for b in selectors.part_batches(part=part, store_ids=[store.pk])],
    }
