"""Service recovery (服务补救): a response whose overall score is below `low_score_threshold` opens a task for
the order's advisor due in `recovery_due_minutes`.  The first breach alerts the store manager; a second
window of the same length without an outcome alerts the group.  Each alert goes once (conditional UPDATE)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.feedback.choices import RecoveryOutcome, RecoveryStatus
from aftersales.feedback.models import RecoveryTask, SurveyResponse
from aftersales.feedback.services.common import (
    Errors,
    alert,
    clean_choice,
    clean_text,
    display_name,
    group_managers,
    local_text,
    settings_for,
    store_managers,
)
from aftersales.feedback.transitions import RECOVERY
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.service.models import RepairOrder

ALREADY_DONE = gettext_noop("This recovery task already has its outcome.")


def recovery_open_if_low(*, response: SurveyResponse, order: RepairOrder | None) -> RecoveryTask | None:
    """Open the recovery task when the overall score is below the store's threshold (call inside the
    transaction that records the response).  The system opens it, whoever recorded the survey."""
    RECOVERY.authorise(RECOVERY.get("open"), actor=Party.SYSTEM, store_id=response.store_id)
    values = settings_for(response.store)
    threshold = int(values["low_score_threshold"])
    if response.overall is None or response.overall >= threshold:
        return None
    now = clock.now()
    advisor = order.advisor if order is not None else None
    task = RecoveryTask.objects.create(
        store=response.store,
        response=response,
        order=order,
        advisor=advisor,
        opened_at=now,
        due_at=now + dt.timedelta(minutes=int(values["recovery_due_minutes"])),
    )
    audit_record(actor=None, action="recovery.open", obj=task, changes={"overall": response.overall})
    if advisor is not None:
        alert(
            store=response.store,
            users=[advisor],
            template="recovery_opened",
            context={
                "store": response.store.name,
                "number": order.number if order else "—",
                "customer": response.customer.name,
                "score": response.overall,
                "threshold": threshold,
                "due": local_text(task.due_at),
            },
            related=task,
            dedupe_key=f"recovery_opened:{task.pk}",
        )
    return task


@transaction.atomic
def recovery_record(*, task: RecoveryTask, by: Actor, outcome: Any, note: Any) -> RecoveryTask:
    """The advisor's outcome: contacted, resolved or refused, with a note.  It closes the task.  The store's
    complaint desk may record it (the manager once the clock has run out, a colleague when the advisor is away)."""
    RECOVERY.authorise(RECOVERY.get("record"), actor=by, store_id=task.store_id)
    errors = Errors()
    outcome = clean_choice(errors, "outcome", outcome, RecoveryOutcome)
    note = clean_text(errors, "note", note, max_length=2000)
    errors.raise_if_any()
    now = clock.now()
    if not RecoveryTask.objects.filter(pk=task.pk, status=RecoveryStatus.OPEN).update(
        status=RecoveryStatus.DONE,
        outcome=outcome,
        note=note,
        closed_at=now,
        closed_by=actor_user(by),
        updated_at=now,
    ):
        raise ApplicationError(_(ALREADY_DONE), {"code": "already_done"})
    task.status, task.outcome, task.note, task.closed_at, task.closed_by = (
        RecoveryStatus.DONE,
        outcome,
        note,
        now,
        actor_user(by),
    )
    audit_record(
        actor=actor_user(by), action="recovery.record", obj=task, changes={"outcome": outcome, "in_time": task.in_time}
    )
    return task


def _alert(task: RecoveryTask, users: list[Any], level: str) -> None:
    order = task.order
    alert(
        store=task.store,
        users=users,
        template="recovery_escalated",
        context={
            "store": task.store.name,
            "number": order.number if order else "—",
            "advisor": display_name(task.advisor),
            "due": local_text(task.due_at),
        },
        related=task,
        dedupe_key=f"recovery_escalated:{task.pk}:{level}",
    )


def recovery_escalation_sweep(*, now: dt.datetime | None = None) -> int:
    """First breach (after `due_at`) → store manager; still open one more window later → group.  Idempotent."""
    now = now or clock.now()
    sent = 0
    open_tasks = RecoveryTask.objects.filter(status=RecoveryStatus.OPEN, due_at__lt=now).select_related(
        "store", "order", "advisor__staff_profile"
    )
    windows: dict[int, dt.timedelta] = {}
    for task in open_tasks.filter(escalated_group_at__isnull=True).order_by("due_at", "pk"):
        RECOVERY.authorise(RECOVERY.get("escalate"), actor=Party.SYSTEM, store_id=task.store_id)
        with transaction.atomic():
            if task.escalated_store_at is None:
                if RecoveryTask.objects.filter(pk=task.pk, escalated_store_at__isnull=True).update(
                    escalated_store_at=now
                ):
                    _alert(task, store_managers(task.store), "store")
                    audit_record(actor=None, action="recovery.escalate", obj=task, changes={"level": "store"})
                    sent += 1
                continue
            if task.store_id not in windows:
                windows[task.store_id] = dt.timedelta(minutes=int(settings_for(task.store)["recovery_due_minutes"]))
            if now <= task.due_at + windows[task.store_id]:
                continue
            if RecoveryTask.objects.filter(pk=task.pk, escalated_group_at__isnull=True).update(escalated_group_at=now):
                _alert(task, group_managers(task.store), "group")
                audit_record(actor=None, action="recovery.escalate", obj=task, changes={"level": "group"})
                sent += 1
    return sent
