"""Estimates and the customer's decisions, line by line, with the evidence behind each line.
Declined work is kept as deferred work on the vehicle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import refuse_control_characters
from aftersales.organisation.choices import BayCapability, TechnicianGrade
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.parts.services import part_find
from aftersales.service import transitions
from aftersales.service.choices import (
    DecisionChannel,
    DeferredStatus,
    EstimateStatus,
    LineDecision,
    LineKind,
    PartGrade,
)
from aftersales.service.models import ANOTHER_GRADE_CHOSEN, DeferredWork, Estimate, EstimateLine, RepairOrder
from aftersales.service.transitions import DEFERRED_WORK, ESTIMATE_LINE, REPAIR_ORDER

CENT = Decimal("0.01")
STAFF_USE_DESK = gettext_lazy(
    "The customer's link is for the customer. Note a decision you take with the customer on the order page "
    "(at the desk or on the phone): it records your name."
)


def _authorise_estimate(order: RepairOrder, by: Actor) -> None:
    REPAIR_ORDER.authorise(REPAIR_ORDER.get("estimate"), actor=by, store_id=order.store_id)


def estimate_draft(*, order: RepairOrder) -> Estimate:
    """The order's draft estimate; a new (supplementary) one when every earlier one has been sent."""
    if order.status not in transitions.ESTIMATE_EDITABLE:
        raise ApplicationError(_("Lines can no longer be added to this order."))
    draft = order.estimates.filter(status=EstimateStatus.DRAFT).order_by("-number").first()
    if draft:
        return draft
    number = (order.estimates.aggregate(m=Max("number"))["m"] or 0) + 1
    return Estimate.objects.create(order=order, number=number)


def _money(value: Any, field: str, errors: dict[str, list[str]], *, required: bool = True) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Enter an amount, e.g. 380.00."))
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e9"):
        errors.setdefault(field, []).append(_("Enter an amount of zero or more."))
        return None
    return amount.quantize(CENT)


def _positive(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    number = _money(value, field, errors)
    if number is not None and number <= 0:
        errors.setdefault(field, []).append(_("Must be more than zero."))
        return None
    return number


@transaction.atomic
def estimate_line_add(
    *,
    order: RepairOrder,
    by: Actor,
    kind: str,
    description: str,
    standard_hours: Any = None,
    hourly_rate: Any = None,
    min_grade: str = "",
    capability: str = "",
    high_voltage: bool = False,
    operation_code: str = "",
    part_number: str = "",
    grade: str = "",
    unit_price: Any = None,
    quantity: Any = 1,
    amount: Any = None,
    alternative_to: EstimateLine | None = None,
) -> EstimateLine:
    """A labour line (hours × rate, the minimum technician grade, high-voltage work and the bay equipment it
    needs), a part line (unit price × quantity, with its grade) or a fee, added to the order's draft.
    `alternative_to` offers this part as a choice against another line of the draft."""
    _authorise_estimate(order, by)
    refuse_control_characters(description=description, operation_code=operation_code, part_number=part_number)
    errors: dict[str, list[str]] = {}
    description = " ".join(str(description or "").split())
    if not description:
        errors["description"] = [_("Describe the work or the part.")]
    elif len(description) > 200:
        errors["description"] = [_("At most 200 characters.")]
    if kind not in LineKind.values:
        errors["kind"] = [_("Choose one of: {options}.").format(options=", ".join(LineKind.values))]
    line = EstimateLine(kind=kind, description=description, operation_code=str(operation_code)[:32])
    if kind == LineKind.LABOUR:
        hours = _positive(standard_hours, "standard_hours", errors)
        if hours is not None and hours > 999:
            errors["standard_hours"] = [_("At most 999 hours.")]
            hours = None
        if hourly_rate in (None, ""):
            hourly_rate = setting_values_for_store(order.store)["default_hourly_rate"]
        rate = _money(hourly_rate, "hourly_rate", errors)
        if min_grade and min_grade not in TechnicianGrade.values:
            errors["min_grade"] = [_("Choose one of: {options}.").format(options=", ".join(TechnicianGrade.values))]
        if capability and capability not in BayCapability.values:
            errors["capability"] = [_("Choose one of: {options}.").format(options=", ".join(BayCapability.values))]
        if hours is not None and rate is not None:
            line.standard_hours, line.hourly_rate, line.min_grade = hours, rate, min_grade
            line.capability, line.high_voltage = capability, bool(high_voltage)
            line.amount = (hours * rate).quantize(CENT)
    elif kind == LineKind.PART:
        price = _money(unit_price, "unit_price", errors)
        qty = _positive(quantity, "quantity", errors)
        if qty is not None and qty > 99999:
            errors["quantity"] = [_("At most 99 999.")]
            qty = None
        # A part number of the group's catalogue links the line to it: stock is issued against it, and the line's
        # grade is the part's category (a repaired or used part is offered as exactly that).
        catalogue_part = part_find(group_id=order.store.group_id, code=part_number) if part_number else None
        if catalogue_part is not None:
            grade = grade or catalogue_part.category
            if grade != catalogue_part.category:
                errors["grade"] = [
                    _("Part {code} is {category} in the catalogue.").format(
                        code=catalogue_part.code, category=catalogue_part.get_category_display()
                    )
                ]
        if grade not in PartGrade.values:
            errors["grade"] = [_("Choose one of: {options}.").format(options=", ".join(PartGrade.values))]
        if price is not None and qty is not None:
            line.unit_price, line.quantity, line.grade = price, qty, grade
            line.part_number = catalogue_part.code if catalogue_part else str(part_number)[:40]
            line.part = catalogue_part
            line.amount = (price * qty).quantize(CENT)
            if line.amount >= Decimal("1e9"):
                errors["quantity"] = [_("The line comes to more than ¥1 000 000 000; check price and quantity.")]
    elif kind == LineKind.FEE:
        fee = _money(amount, "amount", errors)
        if fee is not None:
            line.amount = fee
    if alternative_to is not None:
        if kind != LineKind.PART or alternative_to.kind != LineKind.PART:
            errors["alternative_to"] = [_("Only a part can be offered as an alternative to another part.")]
        elif alternative_to.estimate.order_id != order.pk or alternative_to.estimate.status != EstimateStatus.DRAFT:
            errors["alternative_to"] = [_("The alternative must be a part line of this order's draft.")]
        elif grade == alternative_to.grade:
            errors["grade"] = [_("An alternative must be of another grade.")]
    if errors:
        raise ValidationError(errors)
    estimate = estimate_draft(order=order)
    line.estimate = estimate
    if alternative_to is not None:
        group = alternative_to.choice_group or alternative_to.pk
        if alternative_to.choice_group is None:
            EstimateLine.objects.filter(pk=alternative_to.pk).update(choice_group=group)
        line.choice_group = group
    line.save()
    audit_record(
        actor=actor_user(by),
        action="estimate.line_add",
        obj=order,
        changes={"line": line.pk, "kind": kind, "amount": str(line.amount)},
    )
    return line


@transaction.atomic
def estimate_line_remove(*, line: EstimateLine, by: Actor) -> None:
    order = line.estimate.order
    _authorise_estimate(order, by)
    if line.estimate.status != EstimateStatus.DRAFT:
        raise ApplicationError(_("A sent line cannot be removed; the customer can decline it."))
    group = line.choice_group
    line.delete()
    if group is not None and EstimateLine.objects.filter(choice_group=group, estimate__order=order).count() == 1:
        EstimateLine.objects.filter(choice_group=group, estimate__order=order).update(choice_group=None)
    audit_record(actor=actor_user(by), action="estimate.line_remove", obj=order, changes={"line": line.description})


@transaction.atomic
def estimate_send(*, estimate: Estimate, by: Actor) -> Estimate:
    """The draft goes to the customer (a signed link by message); from now on lines are decided, not edited."""
    _authorise_estimate(estimate.order, by)
    if estimate.status != EstimateStatus.DRAFT:
        raise ApplicationError(_("This estimate has already been sent."))
    if not estimate.lines.exists():
        raise ApplicationError(_("Add at least one line before sending the estimate."))
    now = clock.now()
    if not Estimate.objects.filter(pk=estimate.pk, status=EstimateStatus.DRAFT).update(
        status=EstimateStatus.SENT, sent_at=now, sent_by=actor_user(by)
    ):
        raise ApplicationError(_("Someone else sent this estimate meanwhile."))
    estimate.refresh_from_db()
    audit_record(
        actor=actor_user(by), action="estimate.send", obj=estimate.order, changes={"estimate": estimate.number}
    )
    from aftersales.service.services.notifications import order_message

    order_message(order=estimate.order, template="estimate_ready", dedupe_key=f"estimate:{estimate.pk}")
    return estimate


ANOTHER_CHOSEN = gettext_lazy("Another option of this choice has already been approved.")


@transaction.atomic
def estimate_line_decide(
    *, line: EstimateLine, decision: str, channel: str, by: Actor, reason: str = "", whole_group: bool = False
) -> EstimateLine:
    """A decision on one line, with its channel and time: the customer's own through their link (`by` is
    Party.CUSTOMER), or one the advisor notes at the desk or on the phone (`by` is the advisor).  Approving one of
    a group of alternatives declines the others (and is refused once another option is approved); declining with
    `whole_group` declines every open option of the line's group ("neither for now"); a declined line becomes
    deferred work on the vehicle, once per group."""
    refuse_control_characters(reason=reason)
    if decision not in (LineDecision.APPROVED, LineDecision.DECLINED):
        raise ValidationError({"decision": [_("Choose approved or declined.")]})
    if channel not in DecisionChannel.values:
        raise ValidationError(
            {"channel": [_("Choose one of: {options}.").format(options=", ".join(DecisionChannel.values))]}
        )
    if channel != DecisionChannel.LINK and isinstance(by, Party):
        raise ValidationError({"channel": [_("A desk or phone decision is noted by a member of staff.")]})
    if channel == DecisionChannel.LINK and by is not Party.CUSTOMER:
        raise ValidationError({"channel": [STAFF_USE_DESK]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("At most 200 characters.")]})
    line = EstimateLine.objects.select_related("estimate__order__store", "estimate__order__vehicle").get(pk=line.pk)
    estimate, order = line.estimate, line.estimate.order
    ESTIMATE_LINE.authorise(
        ESTIMATE_LINE.get("approve" if decision == LineDecision.APPROVED else "decline"),
        actor=by,
        store_id=order.store_id,
    )
    if estimate.status == EstimateStatus.DRAFT:
        raise ApplicationError(_("This estimate has not been sent yet."))
    if order.status in (transitions.S.DELIVERED, transitions.S.CANCELLED):
        raise ApplicationError(_("This order is closed."))
    if whole_group and decision != LineDecision.DECLINED:
        raise ValidationError({"decision": [_("Only a decline applies to every option of a choice.")]})
    if line.choice_group is not None:
        # The options of one choice are decided one at a time: two approvals at the same moment (the customer on
        # the link, the advisor at the desk) would otherwise each decline the other's line after approving its own.
        options = list(
            EstimateLine.objects.select_for_update()
            .filter(estimate=estimate, choice_group=line.choice_group)
            .order_by("pk")
            .values_list("pk", "decision")
        )
        if decision == LineDecision.APPROVED and any(
            pk != line.pk and state == LineDecision.APPROVED for pk, state in options
        ):
            raise ValidationError({"decision": [str(ANOTHER_CHOSEN)]})
    now = clock.now()
    staff = actor_user(by)
    if not EstimateLine.objects.filter(pk=line.pk, decision=LineDecision.PENDING).update(
        decision=decision, decided_at=now, decision_channel=channel, decided_by=staff, decline_reason=reason.strip()
    ):
        raise ApplicationError(_("This line has already been decided."), {"code": "already_decided"})
    line.refresh_from_db()
    if decision == LineDecision.APPROVED and line.choice_group is not None:
        EstimateLine.objects.filter(
            estimate=estimate, choice_group=line.choice_group, decision=LineDecision.PENDING
        ).exclude(pk=line.pk).update(
            decision=LineDecision.DECLINED,
            decided_at=now,
            decision_channel=channel,
            decided_by=staff,
            decline_reason=ANOTHER_GRADE_CHOSEN,
        )
    if whole_group and line.choice_group is not None:
        EstimateLine.objects.filter(
            estimate=estimate, choice_group=line.choice_group, decision=LineDecision.PENDING
        ).exclude(pk=line.pk).update(
            decision=LineDecision.DECLINED,
            decided_at=now,
            decision_channel=channel,
            decided_by=staff,
            decline_reason=reason.strip(),
        )
    if decision == LineDecision.DECLINED and not _alternative_approved(line):
        days = int(setting_values_for_store(order.store)["deferred_work_days"])
        DeferredWork.objects.create(
            store=order.store,
            vehicle=order.vehicle,
            source_line=line,
            description=line.description,
            amount=line.amount,
            reason=reason.strip()[:200],
            suggested_date=clock.today() + dt.timedelta(days=days),
        )
    if not estimate.lines.filter(decision=LineDecision.PENDING).exists():
        Estimate.objects.filter(pk=estimate.pk).update(status=EstimateStatus.DECIDED)
        if by is Party.CUSTOMER:  # the customer's last answer on the link: the advisor acts on it
            from aftersales.service.services.notifications import estimate_answered_alert

            estimate_answered_alert(estimate=estimate)
    audit_record(
        actor=actor_user(by),
        action=f"estimate.line_{decision}",
        obj=order,
        changes={"line": line.pk, "channel": channel, "reason": reason, "whole_group": whole_group},
    )
    return line


def _alternative_approved(line: EstimateLine) -> bool:
    """A declined part whose alternative was approved is a choice, not lost work."""
    if line.choice_group is None:
        return False
    siblings = EstimateLine.objects.filter(estimate=line.estimate, choice_group=line.choice_group).exclude(pk=line.pk)
    if siblings.filter(decision=LineDecision.APPROVED).exists():
        return True
    # Declining the first of a pair while its alternative is still open: defer only when all are declined.
    return siblings.filter(decision=LineDecision.PENDING).exists()


@transaction.atomic
def deferred_work_close(
    *, item: DeferredWork, by: Actor, status: str, order: RepairOrder | None = None
) -> DeferredWork:
    if status not in (DeferredStatus.DONE, DeferredStatus.DISMISSED):
        raise ValidationError({"status": [_("Choose done or dismissed.")]})
    DEFERRED_WORK.authorise(
        DEFERRED_WORK.get("done" if status == DeferredStatus.DONE else "dismiss"), actor=by, store_id=item.store_id
    )
    if item.status != DeferredStatus.OPEN:
        raise ApplicationError(_("This item is already closed."))
    item.status = status
    item.resolved_order = order
    item.save(update_fields=["status", "resolved_order", "updated_at"])
    audit_record(
        actor=actor_user(by), action=f"deferred_work.{status}", obj=item, changes={"order": getattr(order, "pk", None)}
    )
    return item
