"""Business actions of the parts ledger: the catalogue, goods receipts, taking stock out and putting it back,
stocktakes, safety stock and the low-stock alert.

Stock never goes negative, even when two clerks issue the last unit at the same moment: every action that changes
a part's stock in a store first locks that store's `Stock` row (`select_for_update`), so concurrent actions on one
part queue behind each other and each sees what the previous left; the check constraints are the last guard.
Issuing to a repair-order line is the service app's action (`service.services.parts`), which calls
`stock_take_out` inside its own transaction so the line's record and the stock change commit together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.scoping import store_ids_where
from aftersales.core.text import refuse_control_characters
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.parts.choices import MovementKind, PartCategory
from aftersales.parts.models import Batch, Movement, Part, Stock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

UNIT = Decimal("0.01")
MAX_QUANTITY = Decimal("99999")
LOW_STOCK_ROLES = (Role.PARTS_CLERK, Role.MANAGER)


# ------------------------------------------------------------------------------------------------ checks


def _require(by: User, store_id: int, capability: Capability = Capability.MANAGE_PARTS) -> None:
    if not user_can(by, capability, store_id):
        raise PermissionDenied(_("Your role may not do this."))


def _require_in_group(by: User, group: DealerGroup) -> None:
    """The catalogue is the group's: anyone who manages parts in one of its stores may keep it."""
    stores = store_ids_where(by, Capability.MANAGE_PARTS)
    if not stores or not Store.objects.filter(pk__in=stores, group=group).exists():
        raise PermissionDenied(_("Your role may not do this."))


def parse_quantity(value: Any, field: str, errors: dict[str, list[str]], *, allow_zero: bool = False) -> Decimal | None:
    """A quantity of at most two decimals (litres of oil, metres of hose), more than zero unless `allow_zero`."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Enter a quantity, e.g. 2 or 4.5."))
        return None
    problem = ""
    if not number.is_finite():
        problem = _("Enter a quantity, e.g. 2 or 4.5.")
    elif number < 0 or (number == 0 and not allow_zero):
        problem = _("Must not be negative.") if allow_zero else _("Must be more than zero.")
    elif number > MAX_QUANTITY:
        problem = _("At most 99 999.")
    elif number != number.quantize(UNIT):
        problem = _("Enter a quantity with at most two decimals.")
    if problem:
        errors.setdefault(field, []).append(problem)
        return None
    return number.quantize(UNIT)


def _money(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Enter an amount, e.g. 380.00."))
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e9"):
        errors.setdefault(field, []).append(_("Enter an amount of zero or more."))
        return None
    return amount.quantize(UNIT)


def _text(value: Any, field: str, limit: int, errors: dict[str, list[str]], *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        errors.setdefault(field, []).append(_("This field is required."))
    elif len(text) > limit:
        errors.setdefault(field, []).append(_("At most {n} characters.").format(n=limit))
    return text[:limit]


# ------------------------------------------------------------------------------------------------ catalogue


@transaction.atomic
def part_save(
    *,
    group: DealerGroup,
    by: User,
    code: str,
    name: str,
    category: str,
    spec: str = "",
    brand: str = "",
    manufacturer: str = "",
    barcode: str = "",
    unit: str = "件",
    is_core: bool = False,
    part: Part | None = None,
) -> Part:
    """Add a part to the group's catalogue, or change one (`part`).  The code is the key estimate lines and the
    API use, so it is unique in the group; the barcode is what a scanner reads when it differs from the code."""
    _require_in_group(by, group)
    refuse_control_characters(
        code=code, name=name, spec=spec, brand=brand, manufacturer=manufacturer, barcode=barcode, unit=unit
    )
    errors: dict[str, list[str]] = {}
    code = "".join(str(code or "").split()).upper()
    if not code:
        errors["code"] = [_("This field is required.")]
    elif len(code) > 40:
        errors["code"] = [_("At most {n} characters.").format(n=40)]
    elif Part.objects.filter(group=group, code=code).exclude(pk=part.pk if part else 0).exists():
        errors["code"] = [_("The catalogue already has a part with this code.")]
    values = {
        "name": _text(name, "name", 120, errors, required=True),
        "spec": _text(spec, "spec", 120, errors),
        "brand": _text(brand, "brand", 60, errors),
        "manufacturer": _text(manufacturer, "manufacturer", 120, errors),
        "barcode": "".join(str(barcode or "").split())[:64],
        "unit": _text(unit, "unit", 8, errors, required=True),
    }
    if category not in PartCategory.values:
        errors["category"] = [_("Choose one of: {options}.").format(options=", ".join(PartCategory.values))]
    if errors:
        raise ValidationError(errors)
    if part is None:
        part = Part(group=group)
    before = {field: getattr(part, field) for field in ("code", "name", "category", "is_core")} if part.pk else {}
    part.code, part.category, part.is_core = code, category, bool(is_core)
    for field, value in values.items():
        setattr(part, field, value)
    part.save()
    audit_record(
        actor=by,
        action="parts.part_save",
        obj=part,
        changes={"before": {k: str(v) for k, v in before.items()}, "code": code, "category": category},
    )
    return part


def part_find(*, group_id: int, code: str) -> Part | None:
    """The active catalogue part a typed or scanned code names: its part code, else its barcode."""
    scanned = "".join(str(code or "").split())
    if not scanned or len(scanned) > 64 or not scanned.isprintable():
        return None
    parts = Part.objects.filter(group_id=group_id, is_active=True)
    return parts.filter(code=scanned.upper()).first() or parts.filter(barcode=scanned).order_by("id").first()


# ------------------------------------------------------------------------------------------------ stock


def _locked_stock(store: Store, part: Part) -> Stock:
    """The store's stock row of the part, created at zero if new, locked until the transaction ends."""
    stock, _created = Stock.objects.get_or_create(store=store, part=part)
    return Stock.objects.select_for_update().get(pk=stock.pk)


@dataclass(frozen=True)
class Taken:
    """What one batch gave to a take-out."""

    batch: Batch
    quantity: Decimal
    movement: Movement


@transaction.atomic
def goods_receive(
    *,
    store: Store,
    by: User,
    part: Part,
    supplier: str,
    received_on: dt.date,
    unit_cost: Any,
    quantity: Any,
    batch_number: str,
    source_voucher: str,
    certificate_checked: bool,
    manufacturer: str = "",
    production_date: dt.date | None = None,
    warranty_months: Any = None,
) -> Batch:
    """A goods receipt (入库): one batch with its origin and proof, the stock up by its quantity, one movement."""
    _require(by, store.pk)
    refuse_control_characters(
        supplier=supplier, batch_number=batch_number, source_voucher=source_voucher, manufacturer=manufacturer
    )
    errors: dict[str, list[str]] = {}
    if part.group_id != store.group_id or not part.is_active:
        errors["part"] = [_("No active part with this code in the catalogue.")]
    qty = parse_quantity(quantity, "quantity", errors)
    cost = _money(unit_cost, "unit_cost", errors)
    supplier = _text(supplier, "supplier", 120, errors, required=True)
    batch_number = _text(batch_number, "batch_number", 40, errors, required=True)
    source_voucher = _text(source_voucher, "source_voucher", 60, errors, required=True)
    manufacturer = _text(manufacturer or part.manufacturer, "manufacturer", 120, errors)
    today = clock.today()
    if received_on > today:
        errors["received_on"] = [_("The goods cannot be received in the future.")]
    if production_date is not None and production_date > received_on:
        errors["production_date"] = [_("The production date must not be after the receipt.")]
    months: int | None = None
    if warranty_months not in (None, ""):
        try:
            months = int(str(warranty_months))
        except ValueError:
            months = -1
        if not 0 <= months <= 120:
            errors["warranty_months"] = [_("Enter whole months from 0 to 120.")]
    if not certificate_checked and part.category in (PartCategory.OEM, PartCategory.EQUIVALENT):
        # Traceability rules: new parts come with a product certificate (合格证) and it is checked at receipt.
        errors["certificate_checked"] = [_("Check the product certificate (合格证) before receiving new parts.")]
    if errors:
        raise ValidationError(errors)
    assert qty is not None and cost is not None
    stock = _locked_stock(store, part)
    batch = Batch.objects.create(
        store=store,
        part=part,
        supplier=supplier,
        manufacturer=manufacturer,
        received_on=received_on,
        unit_cost=cost,
        quantity=qty,
        remaining=qty,
        batch_number=batch_number,
        production_date=production_date,
        warranty_months=months,
        source_voucher=source_voucher,
        certificate_checked=bool(certificate_checked),
        received_by=by,
    )
    stock.on_hand += qty
    if not stock.is_low:
        stock.low_alerted_at = None  # back above the safety level: the next dip alerts again
    stock.save(update_fields=["on_hand", "low_alerted_at", "updated_at"])
    Movement.objects.create(
        store=store,
        part=part,
        batch=batch,
        kind=MovementKind.RECEIPT,
        quantity=qty,
        on_hand_after=stock.on_hand,
        at=clock.now(),
        by=by,
        reference=batch.receipt_number,
    )
    audit_record(
        actor=by,
        action="parts.receive",
        obj=batch,
        changes={"part": part.code, "quantity": str(qty), "batch": batch_number, "voucher": source_voucher},
    )
    return batch


def stock_take_out(
    *, store: Store, part: Part, quantity: Decimal, by: User, reference: str, batch: Batch | None = None
) -> list[Taken]:
    """Take `quantity` of the part out of the store's stock for an order: from `batch` when given, else from the
    oldest batches first (FIFO).  Refused (409) when the stock would go negative.  Must run inside the caller's
    transaction (the service app's issue to a line), which it joins."""
    _require(by, store.pk)
    if quantity <= 0:
        raise ValidationError({"quantity": [_("Must be more than zero.")]})
    with transaction.atomic():
        stock = _locked_stock(store, part)
        batches = Batch.objects.select_for_update().filter(store=store, part=part, remaining__gt=0)
        if batch is not None:
            if batch.store_id != store.pk or batch.part_id != part.pk:
                raise ValidationError({"batch": [_("This batch is not of this part in this store.")]})
            batches = batches.filter(pk=batch.pk)
        available = list(batches.order_by("received_on", "id"))
        on_offer = sum((b.remaining for b in available), Decimal("0"))
        if on_offer < quantity or stock.on_hand < quantity:
            where = _("in batch {batch}").format(batch=batch.batch_number) if batch else _("in stock")
            raise ApplicationError(
                _("Only {available} {unit} of {code} {where}; {quantity} asked for.").format(
                    available=plain_quantity(min(on_offer, stock.on_hand)),
                    unit=part.unit,
                    code=part.code,
                    where=where,
                    quantity=plain_quantity(quantity),
                ),
                {"field": "quantity", "available": str(min(on_offer, stock.on_hand))},
            )
        taken: list[Taken] = []
        left = quantity
        now = clock.now()
        for source in available:
            if left <= 0:
                break
            share = min(source.remaining, left)
            source.remaining -= share
            source.save(update_fields=["remaining", "updated_at"])
            stock.on_hand -= share
            movement = Movement.objects.create(
                store=store,
                part=part,
                batch=source,
                kind=MovementKind.ISSUE,
                quantity=-share,
                on_hand_after=stock.on_hand,
                at=now,
                by=by,
                reference=reference[:80],
            )
            taken.append(Taken(source, share, movement))
            left -= share
        stock.save(update_fields=["on_hand", "updated_at"])
        stock_alert_if_low(stock)
    return taken


def stock_put_back(*, batch: Batch, quantity: Decimal, by: User, reference: str) -> Movement:
    """A part issued to an order comes back unused (退料): into the batch it came from."""
    _require(by, batch.store_id)
    with transaction.atomic():
        stock = _locked_stock(batch.store, batch.part)
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.remaining + quantity > locked.quantity:
            raise ValidationError({"quantity": [_("More would come back than the batch ever held.")]})
        locked.remaining += quantity
        locked.save(update_fields=["remaining", "updated_at"])
        stock.on_hand += quantity
        if not stock.is_low:
            stock.low_alerted_at = None
        stock.save(update_fields=["on_hand", "low_alerted_at", "updated_at"])
        batch.remaining = locked.remaining
        return Movement.objects.create(
            store=batch.store,
            part=batch.part,
            batch=batch,
            kind=MovementKind.RETURN,
            quantity=quantity,
            on_hand_after=stock.on_hand,
            at=clock.now(),
            by=by,
            reference=reference[:80],
        )


@transaction.atomic
def stocktake_adjust(*, batch: Batch, counted: Any, reason: str, by: User) -> Movement | None:
    """A stocktake (盘点) found `counted` of the batch on the shelf: the difference is booked with its reason.
    Nothing is booked when the count agrees."""
    _require(by, batch.store_id)
    refuse_control_characters(reason=reason)
    errors: dict[str, list[str]] = {}
    number = parse_quantity(counted, "counted", errors, allow_zero=True)
    reason = _text(reason, "reason", 200, errors, required=True)
    if errors:
        raise ValidationError(errors)
    assert number is not None
    stock = _locked_stock(batch.store, batch.part)
    locked = Batch.objects.select_for_update().get(pk=batch.pk)
    if number > locked.quantity:
        raise ValidationError(
            {
                "counted": [
                    _("More than the batch ever held ({n}); receive the surplus as a new batch.").format(
                        n=plain_quantity(locked.quantity)
                    )
                ]
            }
        )
    difference = number - locked.remaining
    if difference == 0:
        return None
    locked.remaining = number
    locked.save(update_fields=["remaining", "updated_at"])
    stock.on_hand += difference
    if not stock.is_low:
        stock.low_alerted_at = None
    stock.save(update_fields=["on_hand", "low_alerted_at", "updated_at"])
    movement = Movement.objects.create(
        store=batch.store,
        part=batch.part,
        batch=locked,
        kind=MovementKind.ADJUSTMENT,
        quantity=difference,
        on_hand_after=stock.on_hand,
        at=clock.now(),
        by=by,
        reason=reason,
        reference=locked.receipt_number,
    )
    audit_record(
        actor=by,
        action="parts.stocktake",
        obj=locked,
        changes={"part": batch.part.code, "counted": str(number), "difference": str(difference), "reason": reason},
    )
    stock_alert_if_low(stock)
    return movement


@transaction.atomic
def stock_settings_save(*, store: Store, part: Part, by: User, safety_stock: Any, bin_location: str = "") -> Stock:
    """The safety stock under which the part is reordered, and where it lies (货位)."""
    _require(by, store.pk)
    refuse_control_characters(bin_location=bin_location)
    errors: dict[str, list[str]] = {}
    if part.group_id != store.group_id:
        errors["part"] = [_("No active part with this code in the catalogue.")]
    level = parse_quantity(safety_stock, "safety_stock", errors, allow_zero=True)
    bin_location = _text(bin_location, "bin_location", 20, errors)
    if errors:
        raise ValidationError(errors)
    assert level is not None
    stock = _locked_stock(store, part)
    before = stock.safety_stock
    stock.safety_stock, stock.bin_location = level, bin_location
    if not stock.is_low:
        stock.low_alerted_at = None
    stock.save(update_fields=["safety_stock", "bin_location", "low_alerted_at", "updated_at"])
    audit_record(actor=by, action="parts.safety_stock", obj=stock, changes={"safety_stock": [str(before), str(level)]})
    stock_alert_if_low(stock)
    return stock


def stock_alert_if_low(stock: Stock) -> int:
    """Below the safety stock: one alert to the store's parts clerks and managers per dip (until restocked)."""
    if not stock.is_low or stock.low_alerted_at is not None:
        return 0
    now = clock.now()
    Stock.objects.filter(pk=stock.pk).update(low_alerted_at=now)
    stock.low_alerted_at = now
    part, store = stock.part, stock.store
    last_movement = Movement.objects.filter(store=store, part=part).order_by("-id").values_list("id", flat=True).first()
    users = [
        m.user
        for m in Membership.objects.filter(store=store, role__in=LOW_STOCK_ROLES)
        .select_related("user")
        .order_by("user_id")
    ]
    return staff_notify(
        store=store,
        users=users,
        template="parts_low_stock",
        context={
            "store": store.name,
            "code": part.code,
            "name": part.name,
            "on_hand": plain_quantity(stock.on_hand),
            "safety": plain_quantity(stock.safety_stock),
            "unit": part.unit,
        },
        related=stock,
        # One dip, one key: the movement that took it under (or the new safety level that put it under).
        dedupe_key=f"parts_low_stock:{stock.pk}:{last_movement}:{stock.safety_stock}",
        url=reverse("parts:part", args=[part.pk]),
    )


def plain_quantity(number: Decimal) -> str:
    """2.00 → "2", 4.50 → "4.5": quantities as people write them."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
