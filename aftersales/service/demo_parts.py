"""Demo parts ledger: the group's catalogue from the part numbers the service history fitted, and a ledger that
started `LEDGER_DAYS` ago (as when a dealership adopts the product: older lines keep the batch typed on them).

Per store and part, goods receipts arrive ahead of the demand (a first batch at the ledger's start, more whenever
stock would run short), each approved line of an order worked on since then takes its parts oldest batch first —
the same FIFO as `parts.services.stock_take_out`, replayed in memory and written in bulk —, and the lines show the
batches they got.  Some parts end below their safety stock (one alert each, as the service raises it), and the
open orders' approved lines wait for the parts clerk."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Min

from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.parts import services as parts_services
from aftersales.parts.choices import MovementKind, PartCategory
from aftersales.parts.models import Batch, Movement, Part, Stock
from aftersales.service.choices import LineDecision, LineKind, RepairOrderStatus
from aftersales.service.models import EstimateLine, LinePartIssue

LEDGER_DAYS = 90
# Open orders whose parts the clerk has not issued yet when the demo opens (later states have had theirs).
WAITS_FOR_PARTS = frozenset(
    {RepairOrderStatus.RECEPTION, RepairOrderStatus.WAITING, RepairOrderStatus.IN_BAY, RepairOrderStatus.WAITING_PARTS}
)
SUPPLIERS = ("厂家配件中心（区域库）", "华东汽配物流", "博世汽车服务供应链", "马勒滤清器华东经销")
# Parts a dealer counts as core (always on the shelf): by words in the name.
CORE_WORDS = ("机油滤", "空气滤", "空调滤", "刹车片", "蓄电池", "火花塞", "机油", "雨刮")


@dataclass
class _Shelf:
    """One store's batches of one part while the replay runs: their indexes in the run's list, oldest first."""

    batches: list[int] = field(default_factory=list)
    on_hand: Decimal = Decimal("0")
    last_at: dt.datetime | None = None  # the ledger runs forward: nothing is booked before the last movement


def _category(grade: str) -> str:
    return grade if grade in PartCategory.values else PartCategory.OEM


def _ean13(rng: random.Random) -> str:
    digits = [6, 9] + [rng.randint(0, 9) for _ in range(10)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def seed_parts(*, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date) -> dict[str, int]:
    """Catalogue, receipts, issues onto the lines and stock; returns counts."""
    if not stores:
        return {"parts": 0, "batches": 0, "issues": 0}
    group = stores[0].group
    clerks = {
        m.store_id: m.user
        for m in Membership.objects.filter(store__in=stores, role=Role.PARTS_CLERK)
        .select_related("user")
        .order_by("-id")
    }
    fallback = users.get("parts") or users.get("manager")
    catalogue = _catalogue(rng, group, [s.pk for s in stores])
    start = dt.datetime.combine(today - dt.timedelta(days=LEDGER_DAYS), dt.time(8), tzinfo=dt.UTC)
    lines = (
        EstimateLine.objects.filter(
            estimate__order__store__in=stores,
            kind=LineKind.PART,
            decision=LineDecision.APPROVED,
            part__isnull=False,
            estimate__order__arrived_at__gte=start,
        )
        .exclude(estimate__order__status=RepairOrderStatus.CANCELLED)
        .select_related("estimate__order")
        .order_by("estimate__order__arrived_at", "id")
    )
    shelves: dict[tuple[int, int], _Shelf] = defaultdict(_Shelf)
    batches: list[Batch] = []
    remaining: list[Decimal] = []  # per batch, what the replay left on the shelf
    movements: list[Movement] = []
    issues: list[tuple[EstimateLine, int, Decimal, int]] = []  # line, batch index, quantity, movement index
    touched: list[EstimateLine] = []

    def receive(store_id: int, part: Part, at: dt.datetime, quantity: Decimal) -> None:
        shelf = shelves[(store_id, part.pk)]
        clerk = clerks.get(store_id, fallback)
        shelf.last_at = at
        made = at.date() - dt.timedelta(days=rng.randint(15, 200))
        batch = Batch(
            store_id=store_id,
            part=part,
            supplier=rng.choice(SUPPLIERS),
            manufacturer=part.manufacturer,
            received_on=at.date(),
            unit_cost=Decimal(rng.randint(20, 600)),
            quantity=quantity,
            remaining=quantity,
            batch_number=f"{made:%y%m%d}-{rng.randint(100, 999)}",
            production_date=made,
            warranty_months=24 if part.category == PartCategory.OEM else 12,
            source_voucher=f"FP{at:%Y%m%d}{rng.randint(1000, 9999)}",
            certificate_checked=part.category in (PartCategory.OEM, PartCategory.EQUIVALENT),
            received_by=clerk,
            created_at=at,
        )
        batches.append(batch)
        remaining.append(quantity)
        shelf.batches.append(len(batches) - 1)
        shelf.on_hand += quantity
        movements.append(
            Movement(
                store_id=store_id,
                part=part,
                kind=MovementKind.RECEIPT,
                quantity=quantity,
                on_hand_after=shelf.on_hand,
                at=at,
                by=clerk,
                reference="",
            )
        )
        batch._movement_index = len(movements) - 1  # type: ignore[attr-defined]

    parts_by_id = {p.pk: p for p in catalogue}
    for line in lines.iterator(chunk_size=2000):
        order = line.estimate.order
        if order.status in WAITS_FOR_PARTS:
            continue  # today's cars before or in the bay: the parts clerk's queue
        part = parts_by_id[line.part_id]
        shelf = shelves[(order.store_id, part.pk)]
        fitted = order.arrived_at + dt.timedelta(minutes=rng.randint(40, 150))
        if shelf.last_at is not None:
            fitted = max(fitted, shelf.last_at)
        if shelf.on_hand < line.quantity:
            # Reordered before it ran out: a delivery two days before (or at the ledger's start).
            arrival = max(start, fitted - dt.timedelta(days=2), shelf.last_at or start)
            receive(order.store_id, part, arrival, max(line.quantity, Decimal(rng.randint(4, 12))))
        shelf.last_at = fitted
        clerk = clerks.get(order.store_id, fallback)
        left = line.quantity
        for index in shelf.batches:
            if left <= 0:
                break
            if remaining[index] <= 0:
                continue
            share = min(remaining[index], left)
            remaining[index] -= share
            left -= share
            shelf.on_hand -= share
            movements.append(
                Movement(
                    store_id=order.store_id,
                    part=part,
                    kind=MovementKind.ISSUE,
                    quantity=-share,
                    on_hand_after=shelf.on_hand,
                    at=fitted,
                    by=clerk,
                    reference=f"RO {order.number}",
                )
            )
            issues.append((line, index, share, len(movements) - 1))
        line._fitted = fitted  # type: ignore[attr-defined]
        touched.append(line)

    for batch, left_over in zip(batches, remaining, strict=True):
        batch.remaining = left_over
    Batch.objects.bulk_create(batches, batch_size=1000)
    for batch in batches:
        movements[batch._movement_index].batch = batch  # type: ignore[attr-defined]
        movements[batch._movement_index].reference = batch.receipt_number  # type: ignore[attr-defined]
    for _line, batch_index, _share, movement_index in issues:
        movements[movement_index].batch = batches[batch_index]
    Movement.objects.bulk_create(movements, batch_size=2000)
    LinePartIssue.objects.bulk_create(
        [
            LinePartIssue(
                line=line,
                batch=batches[batch_index],
                movement=movements[movement_index],
                quantity=share,
                at=movements[movement_index].at,
                by=movements[movement_index].by,
            )
            for line, batch_index, share, movement_index in issues
        ],
        batch_size=2000,
    )
    _record_batches_on_lines(touched, issues, batches)
    _stock_rows(rng, shelves, catalogue, stores)
    return {"parts": len(catalogue), "batches": len(batches), "issues": len(issues)}


def _catalogue(rng: random.Random, group: Any, store_ids: list[int]) -> list[Part]:
    """One catalogue part per part number the service history used; its lines linked to it."""
    numbers = (
        EstimateLine.objects.filter(estimate__order__store_id__in=store_ids, kind=LineKind.PART)
        .exclude(part_number="")
        .values("part_number")
        .annotate(description=Min("description"), grade=Min("grade"))
        .order_by("part_number")
    )
    parts = [
        Part(
            group=group,
            code=row["part_number"].upper(),
            name=row["description"][:120],
            category=_category(row["grade"]),
            brand="" if row["grade"] == PartCategory.OEM else rng.choice(("博世", "马勒", "曼牌", "法雷奥")),
            manufacturer=rng.choice(("原厂", "博世（中国）", "马勒（中国）", "法雷奥")),
            barcode=_ean13(rng),
            is_core=any(word in row["description"] for word in CORE_WORDS),
        )
        for row in numbers
    ]
    Part.objects.bulk_create(parts, batch_size=500)
    by_code = {p.code: p for p in Part.objects.filter(group=group)}
    for row in numbers:
        EstimateLine.objects.filter(
            estimate__order__store_id__in=store_ids, kind=LineKind.PART, part_number=row["part_number"]
        ).update(part=by_code[row["part_number"].upper()])
    return list(by_code.values())


def _record_batches_on_lines(
    lines: list[EstimateLine], issues: list[tuple[EstimateLine, int, Decimal, int]], batches: list[Batch]
) -> None:
    """The batch record each line shows (as `service.services.parts` keeps it after an issue)."""
    got: dict[int, list[Batch]] = defaultdict(list)
    for line, batch_index, _share, _movement in issues:
        got[line.pk].append(batches[batch_index])
    for line in lines:
        held = got.get(line.pk, [])
        if not held:
            continue
        first = held[0]
        line.batch_number = ", ".join(dict.fromkeys(b.batch_number for b in held))[:40]
        line.origin = (first.manufacturer or first.supplier)[:60]
        line.production_date = first.production_date
        line.warranty_months = first.warranty_months
    EstimateLine.objects.bulk_update(
        [line for line in lines if got.get(line.pk)],
        ["batch_number", "origin", "production_date", "warranty_months"],
        batch_size=1000,
    )


def _stock_rows(
    rng: random.Random, shelves: dict[tuple[int, int], _Shelf], catalogue: list[Part], stores: list[Store]
) -> None:
    """Each store's stock of each part it ever held, with a safety level; a few parts end below it and raise their
    alert exactly as the service does."""
    rows = []
    for (store_id, part_id), shelf in shelves.items():
        part = next(p for p in catalogue if p.pk == part_id)
        safety = Decimal(rng.randint(1, 3)) if part.is_core else Decimal(rng.choice((0, 0, 0, 1)))
        rows.append(
            Stock(
                store_id=store_id,
                part_id=part_id,
                on_hand=shelf.on_hand,
                safety_stock=safety,
                bin_location=f"{rng.choice('ABCD')}-{rng.randint(1, 12):02d}-{rng.randint(1, 5)}",
            )
        )
    Stock.objects.bulk_create(rows, batch_size=1000)
    for stock in Stock.objects.filter(store__in=stores).select_related("part", "store"):
        parts_services.stock_alert_if_low(stock)
