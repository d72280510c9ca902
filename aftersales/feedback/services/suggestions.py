"""Suggestions (建议): decide adopt / not adopt within N working days of receipt (China's official calendar
and the store's own closed days) and tell the customer; an overdue decision alerts the store manager once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.calendar import add_working_days
from aftersales.core.exceptions import ApplicationError
from aftersales.core.external_refs import duplicate_external_ref
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer
from aftersales.feedback.choices import FeedbackChannel, SuggestionDecision, SuggestionStatus
from aftersales.feedback.models import Suggestion
from aftersales.feedback.services.common import (
    Errors,
    alert,
    clean_choice,
    clean_received_at,
    clean_text,
    external_ref_check,
    external_ref_existing,
    local_text,
    settings_for,
    store_managers,
)
from aftersales.feedback.transitions import SUGGESTION
from aftersales.organisation.models import Store
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import closed_days_for_store

G = SuggestionStatus
INVALID_MOVE = gettext_noop("A suggestion cannot go from “{old}” to “{new}”.")


def suggestion_decision_due(*, store: Store, received_at: dt.datetime) -> dt.datetime:
    days = int(settings_for(store)["suggestion_decision_working_days"])
    return add_working_days(received_at, days, closed_days=closed_days_for_store(store))


@transaction.atomic
def suggestion_log(
    *,
    store: Store,
    customer: Customer | None,
    channel: Any,
    description: Any,
    by: Actor,
    received_at: dt.datetime | None = None,
    external_source: Any = None,
    external_ref: Any = None,
) -> Suggestion:
    """Log a suggestion; `external_source` + `external_ref` as on a complaint (unique per source in the group)."""
    SUGGESTION.authorise(SUGGESTION.get("log"), actor=by, store_id=store.pk)
    now = clock.now()
    errors = Errors()
    if customer is None or not customer_selectors.is_linked(customer, store.pk):
        errors.add("customer", _("No customer with this id in the store."))
    channel = clean_choice(errors, "channel", channel, FeedbackChannel)
    description = clean_text(errors, "description", description)
    received = clean_received_at(errors, received_at, now)
    source, ref = external_ref_check(errors, Suggestion, store=store, source=external_source, ref=external_ref)
    errors.raise_if_any()
    suggestion = Suggestion(
        store=store,
        customer=customer,
        channel=channel,
        description=description,
        received_at=received,
        logged_at=now,
        logged_by=actor_user(by),
        decision_due=suggestion_decision_due(store=store, received_at=received),
        external_source=source,
        external_ref=ref,
    )
    suggestion.full_clean()
    try:
        with transaction.atomic():
            suggestion.save()
    except IntegrityError:  # the same reference at the same moment where the group lock does not hold (SQLite)
        if (existing := external_ref_existing(Suggestion, store=store, source=source, ref=ref)) is None:
            raise
        raise duplicate_external_ref(source=source, ref=ref, existing_id=existing) from None
    audit_record(
        actor=actor_user(by),
        action="suggestion.log",
        obj=suggestion,
        changes={"channel": channel, "received_at": received.isoformat()},
    )
    return suggestion


def _authorise(suggestion: Suggestion, name: str, by: Actor) -> None:
    SUGGESTION.authorise(SUGGESTION.get(name), actor=by, store_id=suggestion.store_id)


def _move(suggestion: Suggestion, name: str, by: Actor, **changes: Any) -> Suggestion:
    """The state against the move's sources (the caller has authorised `by`), compare-and-set, audit."""
    old = suggestion.status
    move = SUGGESTION.get(name)
    to = str(move.target)
    if old not in move.sources:
        raise ApplicationError(
            _(INVALID_MOVE).format(old=G(old).label, new=G(to).label), {"code": "invalid_transition"}
        )
    now = clock.now()
    if not Suggestion.objects.filter(pk=suggestion.pk, status=old).update(status=to, updated_at=now, **changes):
        raise ApplicationError(_("Someone else changed this suggestion meanwhile; reload and try again."))
    suggestion.status = to
    for key, value in changes.items():
        setattr(suggestion, key, value)
    audit_record(
        actor=actor_user(by),
        action="suggestion.transition",
        obj=suggestion,
        changes={"status": [old, to], **{k: str(v) for k, v in changes.items()}},
    )
    return suggestion


@transaction.atomic
def suggestion_decide(*, suggestion: Suggestion, by: Actor, decision: Any, note: Any = "") -> Suggestion:
    _authorise(suggestion, "decide", by)
    errors = Errors()
    decision = clean_choice(errors, "decision", decision, SuggestionDecision)
    note = clean_text(errors, "note", note, required=False)
    errors.raise_if_any()
    return _move(
        suggestion,
        "decide",
        by,
        decision=decision,
        decision_note=note,
        decided_at=clock.now(),
        decided_by=actor_user(by),
    )


@transaction.atomic
def suggestion_tell_customer(*, suggestion: Suggestion, by: Actor) -> Suggestion:
    """The customer has been told the decision: the suggestion is closed."""
    _authorise(suggestion, "close", by)
    return _move(suggestion, "close", by, customer_told_at=clock.now())


def suggestion_escalation_sweep(*, now: dt.datetime | None = None) -> int:
    """Alert the store manager once for every suggestion still undecided after its due time."""
    now = now or clock.now()
    sent = 0
    overdue = Suggestion.objects.filter(status=G.OPEN, decision_due__lt=now, escalated_at__isnull=True).select_related(
        "store"
    )
    for suggestion in overdue.order_by("decision_due", "pk"):
        with transaction.atomic():
            _authorise(suggestion, "escalate", Party.SYSTEM)
            if not Suggestion.objects.filter(pk=suggestion.pk, escalated_at__isnull=True).update(escalated_at=now):
                continue
            alert(
                store=suggestion.store,
                users=store_managers(suggestion.store),
                template="suggestion_overdue",
                context={
                    "store": suggestion.store.name,
                    "reference": f"#{suggestion.pk}",
                    "due": local_text(suggestion.decision_due),
                },
                related=suggestion,
                dedupe_key=f"suggestion_overdue:{suggestion.pk}",
            )
            audit_record(
                actor=None, action="suggestion.escalate", obj=suggestion, changes={"due": str(suggestion.decision_due)}
            )
            sent += 1
    return sent
