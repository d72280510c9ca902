"""Complaints (投诉): intake from every channel, the SLA clocks fixed at receipt, first-responder ownership
with transfers, the status flow, closing with the customer's confirmation, reopening, and the escalation
sweep (first breached clock → store manager, every later one → group; each clock once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.calendar import add_calendar_hours
from aftersales.core.exceptions import ApplicationError
from aftersales.core.external_refs import duplicate_external_ref
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer
from aftersales.feedback.choices import (
    ComplaintCategory,
    ComplaintClock,
    ComplaintPriority,
    ComplaintStatus,
    EscalationLevel,
    FeedbackChannel,
)
from aftersales.feedback.models import Complaint, ComplaintEscalation, ComplaintEvent, ComplaintTransfer
from aftersales.feedback.services.common import (
    Errors,
    alert,
    clean_choice,
    clean_received_at,
    clean_text,
    display_name,
    external_ref_check,
    external_ref_existing,
    group_managers,
    local_text,
    settings_for,
    store_managers,
)
from aftersales.feedback.transitions import COMPLAINT
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.service.models import RepairOrder

S = ComplaintStatus
INVALID_MOVE = gettext_noop("A complaint cannot go from “{old}” to “{new}”.")
LOST_RACE = gettext_noop("Someone else changed this complaint meanwhile; reload and try again.")
CLOSE_NEEDS_RESOLUTION = gettext_noop("Record the resolution before closing.")
# (clock, due field, done field), in the order the clocks run out.
CLOCKS: tuple[tuple[str, str, str], ...] = (
    (ComplaintClock.ACKNOWLEDGE, "acknowledge_due", "acknowledged_at"),
    (ComplaintClock.CONTACT, "contact_due", "contacted_at"),
    (ComplaintClock.RESOLVE, "resolve_due", "resolved_at"),
)


@dataclass(frozen=True)
class ComplaintDueTimes:
    acknowledge_due: dt.datetime
    contact_due: dt.datetime
    resolve_due: dt.datetime


def complaint_due_times(*, store: Store, channel: str, received_at: dt.datetime) -> ComplaintDueTimes:
    """The three clocks of SPEC §4 in calendar hours from receipt; a negative online review has its own
    resolve clock (`online_review_resolve_hours`)."""
    values = settings_for(store)
    resolve_key = (
        "online_review_resolve_hours" if channel == FeedbackChannel.ONLINE_REVIEW else "complaint_resolve_hours"
    )
    return ComplaintDueTimes(
        acknowledge_due=add_calendar_hours(received_at, int(values["complaint_acknowledge_hours"])),
        contact_due=add_calendar_hours(received_at, int(values["complaint_contact_hours"])),
        resolve_due=add_calendar_hours(received_at, int(values[resolve_key])),
    )


def _customer_link_cap(*, store: Store, order: RepairOrder, now: dt.datetime) -> None:
    """A survey link is public, so the complaints it opens are capped per day and in all (store settings).
    The order's row lock makes two reports sent at the same moment count one after the other."""
    list(RepairOrder.objects.select_for_update().filter(pk=order.pk).values_list("pk", flat=True))
    values = settings_for(store)
    opened = Complaint.objects.filter(order=order, channel=FeedbackChannel.CUSTOMER_PAGE, logged_by__isnull=True)
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if opened.filter(logged_at__gte=day_start).count() >= int(values["customer_link_complaints_per_day"]):
        raise ApplicationError(
            _("You have already sent us several problems today. Please call the store if there is more."),
            {"code": "link_complaint_limit"},
        )
    if opened.count() >= int(values["customer_link_complaints_total"]):
        raise ApplicationError(
            _("You have already sent us several problems with this link. Please call the store."),
            {"code": "link_complaint_limit"},
        )


@transaction.atomic
def complaint_log(
    *,
    store: Store,
    customer: Customer | None,
    channel: Any,
    category: Any,
    priority: Any,
    description: Any,
    by: Actor,
    received_at: dt.datetime | None = None,
    order: RepairOrder | None = None,
    external_source: Any = None,
    external_ref: Any = None,
) -> Complaint:
    """Log a complaint.  The member of staff who takes it owns it (首问负责制); one the customer reports through
    their link (`by=Party.CUSTOMER`) has no owner until someone acknowledges it.  `external_source` +
    `external_ref`: its id in the system it came from, unique per source in the dealer group (a second one is
    refused with `duplicate_external_ref`, 409, naming the first)."""
    COMPLAINT.authorise(COMPLAINT.get("log"), actor=by, store_id=store.pk)
    now = clock.now()
    errors = Errors()
    if customer is None or not customer_selectors.is_linked(customer, store.pk):
        errors.add("customer", _("No customer with this id in the store."))
    channel = clean_choice(errors, "channel", channel, FeedbackChannel)
    category = clean_choice(errors, "category", category, ComplaintCategory)
    priority = clean_choice(errors, "priority", priority, ComplaintPriority)
    description = clean_text(errors, "description", description)
    received = clean_received_at(errors, received_at, now)
    if order is not None and (
        order.store_id != store.pk or (customer is not None and order.customer_id != customer.pk)
    ):
        errors.add("order", _("No repair order of this customer with this id."))
    source, ref = external_ref_check(errors, Complaint, store=store, source=external_source, ref=external_ref)
    errors.raise_if_any()
    if channel == FeedbackChannel.CUSTOMER_PAGE and by is Party.CUSTOMER and order is not None:
        _customer_link_cap(store=store, order=order, now=now)
    due = complaint_due_times(store=store, channel=channel, received_at=received)
    complaint = Complaint(
        store=store,
        customer=customer,
        order=order,
        channel=channel,
        category=category,
        priority=priority,
        description=description,
        received_at=received,
        logged_at=now,
        logged_by=actor_user(by),
        owner=actor_user(by),
        acknowledge_due=due.acknowledge_due,
        contact_due=due.contact_due,
        resolve_due=due.resolve_due,
        external_source=source,
        external_ref=ref,
    )
    complaint.full_clean()
    try:
        with transaction.atomic():
            complaint.save()
    except IntegrityError:  # the same reference at the same moment where the group lock does not hold (SQLite)
        if (existing := external_ref_existing(Complaint, store=store, source=source, ref=ref)) is None:
            raise
        raise duplicate_external_ref(source=source, ref=ref, existing_id=existing) from None
    ComplaintEvent.objects.create(complaint=complaint, from_status="", to_status=S.NEW, at=now, by=actor_user(by))
    audit_record(
        actor=actor_user(by),
        action="complaint.log",
        obj=complaint,
        changes={"channel": channel, "category": category, "priority": priority, "received_at": received.isoformat()},
    )
    return complaint


def _authorise(complaint: Complaint, name: str, by: Actor) -> None:
    """The rulebook first: may `by` make this move in the complaint's store?  The state comes after, in `_move`,
    with its own message."""
    COMPLAINT.authorise(COMPLAINT.get(name), actor=by, store_id=complaint.store_id)


def _move(complaint: Complaint, name: str, by: Actor, note: str = "", **changes: Any) -> Complaint:
    """State check against the move's sources, compare-and-set, event and audit: the only place a complaint's
    status changes (the caller has authorised `by`)."""
    old = complaint.status
    move = COMPLAINT.get(name)
    to = str(move.target)
    if old not in move.sources:
        raise ApplicationError(
            _(INVALID_MOVE).format(old=S(old).label, new=S(to).label), {"code": "invalid_transition"}
        )
    now = clock.now()
    fields = {"status": to, **changes}
    if not Complaint.objects.filter(pk=complaint.pk, status=old).update(**fields, updated_at=now):
        raise ApplicationError(_(LOST_RACE), {"code": "conflict"})
    for key, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(complaint, key, value)
    if any(hasattr(v, "resolve_expression") for v in fields.values()):
        complaint.refresh_from_db()
    ComplaintEvent.objects.create(
        complaint=complaint, from_status=old, to_status=to, at=now, by=actor_user(by), note=note
    )
    audit_record(
        actor=actor_user(by),
        action="complaint.transition",
        obj=complaint,
        changes={"status": [old, to], "note": note, **{k: str(v) for k, v in changes.items()}},
    )
    return complaint


@transaction.atomic
def complaint_acknowledge(*, complaint: Complaint, by: Actor, note: Any = "") -> Complaint:
    """The owner has taken the new complaint and told the customer it is being handled.  A complaint nobody
    owns yet (the customer's page) becomes the acknowledger's.  A resolved or closed one comes back through
    `complaint_reopen` (its reason, its count), never through this."""
    _authorise(complaint, "acknowledge", by)
    errors = Errors()
    note = clean_text(errors, "note", note, required=False, max_length=500)
    errors.raise_if_any()
    changes: dict[str, Any] = {}
    if complaint.acknowledged_at is None:
        changes["acknowledged_at"] = clock.now()
    if complaint.owner_id is None and actor_user(by) is not None:
        changes["owner"] = actor_user(by)
    return _move(complaint, "acknowledge", by, note, **changes)


@transaction.atomic
def complaint_contact(*, complaint: Complaint, by: Actor, note: Any = "") -> Complaint:
    """The owner has talked the problem through with the customer (the contact clock stops at the first
    contact; after a reopening the customer is contacted again, the first time stays)."""
    _authorise(complaint, "contact", by)
    errors = Errors()
    note = clean_text(errors, "note", note, required=False, max_length=500)
    errors.raise_if_any()
    changes: dict[str, Any] = {}
    if complaint.contacted_at is None:
        changes["contacted_at"] = clock.now()
    return _move(complaint, "contact", by, note, **changes)


@transaction.atomic
def complaint_resolve(*, complaint: Complaint, by: Actor, resolution: Any) -> Complaint:
    _authorise(complaint, "resolve", by)
    errors = Errors()
    resolution = clean_text(errors, "resolution", resolution)
    errors.raise_if_any()
    return _move(complaint, "resolve", by, "", resolution=resolution, resolved_at=clock.now())


@transaction.atomic
def complaint_close(
    *, complaint: Complaint, by: Actor, customer_confirmed: Any, satisfaction: Any, note: Any = ""
) -> Complaint:
    """Closing needs the resolution, the customer's confirmation and their satisfaction with the handling (1–5)."""
    _authorise(complaint, "close", by)
    errors = Errors()
    note = clean_text(errors, "note", note, required=False, max_length=500)
    if customer_confirmed is not True:
        errors.add("customer_confirmed", _("The customer must confirm the resolution before the complaint closes."))
    if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        errors.add("satisfaction", _("Satisfaction with the handling is a whole number from 1 to 5."))
    errors.raise_if_any()
    if complaint.status == S.RESOLVED and not complaint.resolution.strip():
        raise ApplicationError(_(CLOSE_NEEDS_RESOLUTION))
    now = clock.now()
    return _move(
        complaint,
        "close",
        by,
        note,
        customer_confirmed_at=now,
        satisfaction_with_handling=satisfaction,
        closed_at=now,
    )


@transaction.atomic
def complaint_reopen(*, complaint: Complaint, by: Actor, reason: Any) -> Complaint:
    """The customer is not satisfied after all: back to acknowledged, counted; the resolve clock runs on.  The
    only way back from resolved or closed."""
    _authorise(complaint, "reopen", by)
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=500)
    errors.raise_if_any()
    return _move(
        complaint,
        "reopen",
        by,
        reason,
        reopened_count=F("reopened_count") + 1,
        resolved_at=None,
        customer_confirmed_at=None,
        satisfaction_with_handling=None,
        closed_at=None,
    )


@transaction.atomic
def complaint_transfer(*, complaint: Complaint, by: Actor, to: Any, reason: Any) -> ComplaintTransfer:
    """Hand the complaint to another member of staff of the store who handles complaints, with the reason."""
    _authorise(complaint, "transfer", by)
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=300)
    if (
        to is None
        or not getattr(to, "is_active", False)
        or not user_can(to, Capability.HANDLE_COMPLAINTS, complaint.store_id)
    ):
        errors.add("to", _("Choose a member of this store's staff who handles complaints."))
    elif to.pk == complaint.owner_id:
        errors.add("to", _("This person already owns the complaint."))
    errors.raise_if_any()
    if complaint.status not in COMPLAINT.get("transfer").sources:
        raise ApplicationError(
            _("A closed complaint cannot be transferred; reopen it first."), {"code": "invalid_transition"}
        )
    old_owner = complaint.owner_id
    if not Complaint.objects.filter(pk=complaint.pk, owner_id=old_owner).update(owner=to, updated_at=clock.now()):
        raise ApplicationError(_(LOST_RACE), {"code": "conflict"})
    transfer = ComplaintTransfer.objects.create(
        complaint=complaint, from_owner_id=old_owner, to_owner=to, reason=reason, at=clock.now(), by=actor_user(by)
    )
    complaint.owner = to
    audit_record(
        actor=actor_user(by),
        action="complaint.transfer",
        obj=complaint,
        changes={"owner": [old_owner, to.pk], "reason": reason},
    )
    return transfer


# ------------------------------------------------------------------------------------------ escalation


def _escalate(complaint: Complaint, clock_name: str, due: dt.datetime, now: dt.datetime) -> ComplaintEscalation | None:
    """Claim one breached clock (unique row) and alert; None when another run has already claimed it."""
    with transaction.atomic():
        locked = (
            Complaint.objects.select_for_update(of=("self",))
            .select_related("store", "owner__staff_profile")
            .get(pk=complaint.pk)
        )
        COMPLAINT.authorise(COMPLAINT.get("escalate"), actor=Party.SYSTEM, store_id=locked.store_id)
        level = EscalationLevel.STORE if locked.breach_count == 0 else EscalationLevel.GROUP
        try:
            with transaction.atomic():
                escalation = ComplaintEscalation.objects.create(
                    complaint=locked, clock=clock_name, level=level, due_at=due, at=now
                )
        except IntegrityError:
            return None
        Complaint.objects.filter(pk=locked.pk).update(breach_count=F("breach_count") + 1)
        store = locked.store
        with translation.override("zh-hans"):  # labels stay lazy: each language of the alert renders its own
            context = {
                "store": store.name,
                "reference": f"#{locked.pk}",
                "category": ComplaintCategory(locked.category).label,
                "priority": ComplaintPriority(locked.priority).label,
                "owner": display_name(locked.owner),
                "clock": ComplaintClock(clock_name).label,
                "due": local_text(due),
            }
        users = store_managers(store) if level == EscalationLevel.STORE else group_managers(store)
        alert(
            store=store,
            users=users,
            template="complaint_escalated",
            context=context,
            related=locked,
            dedupe_key=f"complaint_escalated:{locked.pk}:{clock_name}",
        )
        audit_record(
            actor=None,
            action="complaint.escalate",
            obj=locked,
            changes={"clock": clock_name, "level": level, "due": due.isoformat()},
        )
        return escalation


def complaint_escalation_sweep(*, now: dt.datetime | None = None) -> int:
    """Escalate every clock that has run out with its step not done (strictly after the due time: a step done
    at the due minute is in time).  Idempotent: each (complaint, clock) escalates once."""
    now = now or clock.now()
    escalated = 0
    for clock_name, due_field, done_field in CLOCKS:
        breached = (
            Complaint.objects.filter(
                status__in=COMPLAINT.get("escalate").sources,
                **{f"{due_field}__lt": now, f"{done_field}__isnull": True},
            )
            .exclude(escalations__clock=clock_name)
            .order_by(due_field, "pk")
            .values_list("pk", due_field)
        )
        for pk, due in breached:
            if _escalate(Complaint(pk=pk), clock_name, due, now) is not None:
                escalated += 1
    return escalated
