"""Parts onto repair-order lines (配件出库到工单): the service side of the parts ledger.

An approved part line linked to a catalogue part is filled from the store's stock — from a chosen batch or the
oldest first — and the line keeps the batch record the customer's page and the bill show.  The stock change
(`parts.services.stock_take_out`) and the line's record commit in one transaction, so a line never shows a batch
that did not leave the shelf and the shelf never loses a part no line received."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.rules import Actor, actor_user
from aftersales.parts.choices import CONSENT_NEEDED, RemovedPartDisposition
from aftersales.parts.models import Batch, Part
from aftersales.parts.services import parse_quantity, plain_quantity, stock_put_back, stock_take_out
from aftersales.service.choices import LineDecision, LineKind
from aftersales.service.models import EstimateLine, LinePartIssue, RepairOrder
from aftersales.service.services.orders import _authorise

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def issued_quantity(line: EstimateLine) -> Decimal:
    """What the line holds now: issued minus returned."""
    return LinePartIssue.objects.filter(line=line).aggregate(n=Sum("quantity"))["n"] or Decimal("0")


def _reference(order: RepairOrder) -> str:
    return f"RO {order.number}"


def _staff(by: Actor) -> User:
    user = actor_user(by)
    if user is None:
        raise ApplicationError(_("Only a member of staff issues parts."))
    return user


def _snapshot_batches(line: EstimateLine) -> None:
    """The line's batch record (shown to the customer and on the bill) from the batches it holds now."""
    held: dict[int, Decimal] = {}
    for batch_id, quantity in LinePartIssue.objects.filter(line=line).values_list("batch_id", "quantity"):
        held[batch_id] = held.get(batch_id, Decimal("0")) + quantity
    batches = list(Batch.objects.filter(pk__in=[pk for pk, n in held.items() if n > 0]).order_by("received_on", "id"))
    line.batch_number = ", ".join(dict.fromkeys(b.batch_number for b in batches))[:40]
    first = batches[0] if batches else None
    line.origin = (first.manufacturer or first.supplier)[:60] if first else ""
    line.production_date = first.production_date if first else None
    line.warranty_months = first.warranty_months if first else None
    line.save(update_fields=["batch_number", "origin", "production_date", "warranty_months", "updated_at"])


@transaction.atomic
def line_part_issue(
    *, line: EstimateLine, by: Actor, quantity: Any = None, batch: Batch | None = None
) -> list[LinePartIssue]:
    """Issue the part of an approved line from stock: `quantity` (default: what the line still needs) from
    `batch`, or FIFO.  A repaired or used part only when the customer approved exactly that on this line."""
    line = EstimateLine.objects.select_related("estimate__order__store", "part").get(pk=line.pk)
    order = line.estimate.order
    _authorise(order, "part_issue", by)
    user = _staff(by)
    if line.kind != LineKind.PART:
        raise ApplicationError(_("Only part lines take parts from stock."))
    if line.decision != LineDecision.APPROVED:
        raise ApplicationError(_("Only an approved part is fitted."))
    part = line.part
    if part is None:
        raise ApplicationError(_("This line's part number is not in the catalogue; record its batch by hand."))
    if part.category in CONSENT_NEEDED and line.grade != part.category:
        # The customer approved a line of another category: fitting a repaired or used part needs their consent.
        raise ApplicationError(
            _("The customer has not agreed to a {category} part on this line.").format(
                category=part.get_category_display()
            )
        )
    still_needed = line.quantity - issued_quantity(line)
    errors: dict[str, list[str]] = {}
    if quantity in (None, ""):
        amount: Decimal | None = still_needed
        if still_needed <= 0:
            errors["quantity"] = [_("This line already has all its parts.")]
    else:
        amount = parse_quantity(quantity, "quantity", errors)
        if amount is not None and amount > still_needed:
            errors["quantity"] = [
                _("The line needs {n} more; issue at most that.").format(
                    n=plain_quantity(max(still_needed, Decimal(0)))
                )
            ]
    if errors:
        raise ValidationError(errors)
    assert amount is not None
    taken = stock_take_out(
        store=order.store, part=part, quantity=amount, by=user, reference=_reference(order), batch=batch
    )
    now = clock.now()
    issues = LinePartIssue.objects.bulk_create(
        LinePartIssue(line=line, batch=t.batch, movement=t.movement, quantity=t.quantity, at=now, by=user)
        for t in taken
    )
    _snapshot_batches(line)
    audit_record(
        actor=user,
        action="estimate.part_issue",
        obj=order,
        changes={"line": line.pk, "part": part.code, "batches": {t.batch.batch_number: str(t.quantity) for t in taken}},
    )
    return issues


@transaction.atomic
def line_part_return(*, line: EstimateLine, by: Actor, batch: Batch, quantity: Any) -> LinePartIssue:
    """An issued part comes back unused (退料): into its batch, off the line."""
    line = EstimateLine.objects.select_related("estimate__order__store", "part").get(pk=line.pk)
    order = line.estimate.order
    _authorise(order, "part_return", by)
    user = _staff(by)
    errors: dict[str, list[str]] = {}
    amount = parse_quantity(quantity, "quantity", errors)
    held = LinePartIssue.objects.filter(line=line, batch=batch).aggregate(n=Sum("quantity"))["n"] or Decimal("0")
    if held <= 0:
        errors["batch"] = [_("Nothing of this batch was issued to the line.")]
    elif amount is not None and amount > held:
        errors["quantity"] = [
            _("The line holds {n} of this batch; return at most that.").format(n=plain_quantity(held))
        ]
    if errors:
        raise ValidationError(errors)
    assert amount is not None
    movement = stock_put_back(batch=batch, quantity=amount, by=user, reference=_reference(order))
    issue = LinePartIssue.objects.create(
        line=line, batch=batch, movement=movement, quantity=-amount, at=clock.now(), by=user
    )
    _snapshot_batches(line)
    audit_record(
        actor=user,
        action="estimate.part_return",
        obj=order,
        changes={"line": line.pk, "batch": batch.batch_number, "quantity": str(amount)},
    )
    return issue


@transaction.atomic
def order_part_issue(
    *, order: RepairOrder, by: Actor, part_code: str, quantity: Any, batch_number: str = ""
) -> list[LinePartIssue]:
    """The API's issue (`POST /api/v1/parts/issues`): the order's approved line of that part that still needs
    some takes `quantity`, from the batch with that number (oldest first if several) or FIFO."""
    _authorise(order, "part_issue", by)
    code = "".join(str(part_code or "").split()).upper()
    part = Part.objects.filter(group_id=order.store.group_id, code=code).first() if 0 < len(code) <= 40 else None
    if part is None:
        raise ValidationError({"part": [_("No part with this code in the catalogue.")]})
    lines = list(
        EstimateLine.objects.filter(
            estimate__order=order, kind=LineKind.PART, part=part, decision=LineDecision.APPROVED
        ).order_by("id")
    )
    line = next((candidate for candidate in lines if candidate.quantity > issued_quantity(candidate)), None)
    if line is None:
        message = _("The order has no approved line of this part that still needs it.")
        raise ValidationError({"part": [message]})
    chosen = None
    if batch_number:
        chosen = (
            Batch.objects.filter(store=order.store, part=part, batch_number=str(batch_number).strip(), remaining__gt=0)
            .order_by("received_on", "id")
            .first()
        )
        if chosen is None:
            raise ValidationError({"batch": [_("No batch with this number of this part in stock.")]})
    return line_part_issue(line=line, by=by, quantity=quantity, batch=chosen)


@transaction.atomic
def line_removed_part_record(*, line: EstimateLine, by: Actor, disposition: str) -> EstimateLine:
    """What became of the part taken off the car: handed back to the customer, or the customer waived it."""
    line = EstimateLine.objects.select_related("estimate__order").get(pk=line.pk)
    order = line.estimate.order
    _authorise(order, "removed_part", by)
    if line.kind != LineKind.PART or line.decision != LineDecision.APPROVED:
        raise ApplicationError(_("Only an approved part replaces a part."))
    if disposition not in RemovedPartDisposition.values:
        options = ", ".join(RemovedPartDisposition.values)
        raise ValidationError({"disposition": [_("Choose one of: {options}.").format(options=options)]})
    before = line.removed_part
    line.removed_part = disposition
    line.save(update_fields=["removed_part", "updated_at"])
    audit_record(
        actor=actor_user(by),
        action="estimate.removed_part",
        obj=order,
        changes={"line": line.pk, "removed_part": [before, disposition]},
    )
    return line
