"""Suggestions (建议): decide adopt / not adopt within N working days of receipt (China's official calendar
and the store's own closed days) and tell the customer; an overdue decision alerts the store manager once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.calendar import add_working_days
from aftersales.core.exceptions import ApplicationError
from aftersales.customers.models import Customer
from aftersales.feedback import transitions
from aftersales.feedback.choices import FeedbackChannel, SuggestionDecision, SuggestionStatus
from aftersales.feedback.models import Suggestion
from aftersales.feedback.services.common import (
    Errors,
    actor,
    alert,
    clean_choice,
    clean_received_at,
    clean_text,
    local_text,
    settings_for,
    store_managers,
)
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import closed_days_for_store

G = SuggestionStatus
INVALID_MOVE = "A suggestion cannot go from “{old}” to “{new}”."


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
    by: Any,
    received_at: dt.datetime | None = None,
) -> Suggestion:
    now = clock.now()
    errors = Errors()
    if customer is None or customer.store_id != store.pk:
        errors.add("customer", _("No customer with this id in the store."))
    channel = clean_choice(errors, "channel", channel, FeedbackChannel)
    description = clean_text(errors, "description", description)
    received = clean_received_at(errors, received_at, now)
    errors.raise_if_any()
    suggestion = Suggestion(
        store=store,
        customer=customer,
        channel=channel,
        description=description,
        received_at=received,
        logged_at=now,
        logged_by=actor(by),
        decision_due=suggestion_decision_due(store=store, received_at=received),
    )
    suggestion.full_clean()
    suggestion.save()
    audit_record(
        actor=by,
        action="suggestion.log",
        obj=suggestion,
        changes={"channel": channel, "received_at": received.isoformat()},
    )
    return suggestion


def _move(suggestion: Suggestion, to: str, by: Any, **changes: Any) -> Suggestion:
    old = suggestion.status
    if not transitions.allowed(transitions.SUGGESTION_FLOW, old, to):
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
        actor=by,
        action="suggestion.transition",
        obj=suggestion,
        changes={"status": [old, to], **{k: str(v) for k, v in changes.items()}},
    )
    return suggestion


@transaction.atomic
def suggestion_decide(*, suggestion: Suggestion, by: Any, decision: Any, note: Any = "") -> Suggestion:
    errors = Errors()
    decision = clean_choice(errors, "decision", decision, SuggestionDecision)
    note = clean_text(errors, "note", note, required=False)
    errors.raise_if_any()
    return _move(
        suggestion, G.DECIDED, by, decision=decision, decision_note=note, decided_at=clock.now(), decided_by=actor(by)
    )


@transaction.atomic
def suggestion_tell_customer(*, suggestion: Suggestion, by: Any) -> Suggestion:
    """The customer has been told the decision: the suggestion is closed."""
    return _move(suggestion, G.CLOSED, by, customer_told_at=clock.now())


def suggestion_escalation_sweep(*, now: dt.datetime | None = None) -> int:
    """Alert the store manager once for every suggestion still undecided after its due time."""
    now = now or clock.now()
    sent = 0
    overdue = Suggestion.objects.filter(status=G.OPEN, decision_due__lt=now, escalated_at__isnull=True).select_related(
        "store"
    )
    for suggestion in overdue.order_by("decision_due", "pk"):
        with transaction.atomic():
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
