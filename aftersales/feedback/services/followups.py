"""Follow-ups (回访): one task per delivered repair order, due `follow_up_due_hours` after delivery, called by
an agent up to `follow_up_max_attempts` times; reaching the customer records the survey.

The sweep only picks up orders delivered within the last FOLLOW_UP_WINDOW: a follow-up call more than a week
late helps nobody, and switching the feature on over years of history must not flood the agents' queue.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.feedback.choices import FOLLOW_UP_CHANNELS, CallOutcome, FollowUpStatus, SurveyChannel
from aftersales.feedback.models import CallAttempt, FollowUp, SurveyResponse
from aftersales.feedback.services.common import Errors, clean_choice, clean_text, settings_for
from aftersales.feedback.services.links import survey_link_url
from aftersales.feedback.services.surveys import survey_response_record
from aftersales.feedback.transitions import FOLLOW_UP
from aftersales.messaging.services import message_enqueue
from aftersales.organisation.models import Store
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder
from aftersales.standards import selectors as standards_selectors
from aftersales.standards.choices import ProcedureStep

F = FollowUpStatus
FOLLOW_UP_WINDOW = dt.timedelta(days=7)
NOT_OPEN = gettext_noop("This follow-up is closed.")
NO_ATTEMPTS_LEFT = gettext_noop("All call attempts of this follow-up are used.")
REACHED_NEEDS_SURVEY = gettext_noop("A reached customer's answers are recorded with the call: send the survey answers.")
# The rulebook's move for each outcome of a call (a failed last attempt is "unreachable").
OUTCOME_MOVES: dict[str, str] = {
    CallOutcome.REACHED: "reached",
    CallOutcome.NO_ANSWER: "no_answer",
    CallOutcome.WRONG_NUMBER: "unreachable",
    CallOutcome.REFUSED: "refused",
}


def _invite(order: RepairOrder) -> None:
    """The survey invitation by message (purpose survey: the outbox sends it only with survey consent and
    outside quiet hours)."""
    message_enqueue(
        store=order.store,
        template="survey_invitation",
        customer=order.customer,
        purpose="survey",
        related=order,
        dedupe_key=f"survey_invitation:{order.pk}",
        # The link opens in the message's language (zh-Hans, the outbox's default), whatever the phone's.
        context={
            "name": order.customer.name,
            "store": order.store.name,
            "link": f"{survey_link_url(order)}?lang=zh-hans",
        },
    )


def follow_up_create(*, order: RepairOrder, by: Actor = Party.SYSTEM) -> FollowUp | None:
    """The follow-up of one delivered order (None when it exists already).  A visit already answered from the
    customer's link is created closed.  An order not delivered has no follow-up (None).  The system opens them."""
    FOLLOW_UP.authorise(FOLLOW_UP.get("open"), actor=by, store_id=order.store_id)
    if order.delivered_at is None:
        return None
    values = settings_for(order.store)
    answered = (
        SurveyResponse.objects.filter(order=order, channel__in=FOLLOW_UP_CHANNELS).order_by("submitted_at").first()
    )
    now = clock.now()
    try:
        with transaction.atomic():
            follow_up = FollowUp.objects.create(
                store=order.store,
                order=order,
                due_at=order.delivered_at + dt.timedelta(hours=int(values["follow_up_due_hours"])),
                status=F.DONE if answered else F.OPEN,
                response=answered,
                closed_at=now if answered else None,
            )
            audit_record(actor=None, action="follow_up.create", obj=follow_up, changes={"order": order.pk})
            if not answered:
                _invite(order)
    except IntegrityError:
        return None
    return follow_up


def follow_up_sweep(*, now: dt.datetime | None = None, store: Store | None = None) -> int:
    """Create the follow-up of every order delivered within the window that has none.  Idempotent: one
    follow-up per order (unique), and the invitation is de-duplicated by the outbox."""
    now = now or clock.now()
    orders = (
        RepairOrder.objects.filter(
            status=RepairOrderStatus.DELIVERED,
            delivered_at__gte=now - FOLLOW_UP_WINDOW,
            delivered_at__lte=now,
            follow_up__isnull=True,
        )
        .select_related("store", "customer")
        .order_by("delivered_at", "pk")
    )
    if store is not None:
        orders = orders.filter(store=store)
    return sum(1 for order in orders if follow_up_create(order=order) is not None)


@transaction.atomic
def follow_up_attempt_record(
    *,
    follow_up: FollowUp,
    by: Actor,
    outcome: Any,
    note: Any = "",
    answers: Any = None,
    expectations: Any = None,
    consent_given: bool = False,
) -> CallAttempt:
    """One call.  Reached: the survey answers are recorded with it (consent asked on the call) and the
    follow-up is done.  Refused: closed as refused.  Wrong number: closed as unreachable.  No answer: the
    follow-up stays in the queue until the last attempt, then closes as unreachable."""
    # Every outcome is the caller's (FOLLOW_UP) move: the rulebook answers before anything else is read.
    name = OUTCOME_MOVES.get(outcome, "no_answer") if isinstance(outcome, str) else "no_answer"
    FOLLOW_UP.authorise(FOLLOW_UP.get(name), actor=by, store_id=follow_up.store_id)
    errors = Errors()
    outcome = clean_choice(errors, "outcome", outcome, CallOutcome)
    note = clean_text(errors, "note", note, required=False, max_length=300)
    if outcome == CallOutcome.REACHED and not answers:
        errors.add("answers", _(REACHED_NEEDS_SURVEY))
    errors.raise_if_any()
    if follow_up.status != F.OPEN:
        raise ApplicationError(_(NOT_OPEN), {"code": "closed"})
    max_attempts = int(settings_for(follow_up.store)["follow_up_max_attempts"])
    used = follow_up.attempts
    if used >= max_attempts:
        raise ApplicationError(_(NO_ATTEMPTS_LEFT), {"code": "no_attempts_left"})
    now = clock.now()
    # The follow-up SOP whose call script the agent had on screen (None: the built-in default).
    script = standards_selectors.current_version(store=follow_up.store, step=ProcedureStep.FOLLOW_UP)
    if not FollowUp.objects.filter(pk=follow_up.pk, status=F.OPEN, attempts=used).update(
        attempts=used + 1, script_version_id=script.pk, updated_at=now
    ):
        raise ApplicationError(_("Someone else recorded a call meanwhile; reload and try again."), {"code": "conflict"})
    follow_up.attempts, follow_up.script_version_id = used + 1, script.pk
    attempt = CallAttempt.objects.create(
        follow_up=follow_up, number=used + 1, outcome=outcome, note=note, at=now, by=actor_user(by)
    )
    closing: str | None = None
    if outcome == CallOutcome.REACHED:
        response = survey_response_record(
            order=follow_up.order,
            channel=SurveyChannel.FOLLOW_UP_CALL,
            answers=answers,
            expectations=expectations,
            by=by,
            consent_given=consent_given,
        )
        follow_up.refresh_from_db()
        follow_up.response = response
    elif outcome == CallOutcome.REFUSED:
        closing = F.REFUSED
    elif outcome == CallOutcome.WRONG_NUMBER or used + 1 >= max_attempts:
        closing = F.UNREACHABLE
    if closing is not None:
        FollowUp.objects.filter(pk=follow_up.pk, status=F.OPEN).update(
            status=closing, closed_at=now, closed_by=actor_user(by), updated_at=now
        )
        follow_up.status, follow_up.closed_at = closing, now
    audit_record(
        actor=actor_user(by),
        action="follow_up.attempt",
        obj=follow_up,
        changes={"attempt": used + 1, "outcome": outcome, "status": follow_up.status},
    )
    return attempt
