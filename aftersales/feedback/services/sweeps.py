"""All periodic work of the feedback app in one call (the `feedback_sweep` command and the worker's tasks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from aftersales.core import clock
from aftersales.feedback.services.capa import capa_action_due_sweep
from aftersales.feedback.services.complaints import complaint_escalation_sweep
from aftersales.feedback.services.followups import follow_up_sweep
from aftersales.feedback.services.recovery import recovery_escalation_sweep
from aftersales.feedback.services.suggestions import suggestion_escalation_sweep
from aftersales.feedback.services.surveys import survey_instrument_default


@dataclass(frozen=True)
class SweepResult:
    follow_ups_created: int
    recovery_escalations: int
    complaint_escalations: int
    suggestion_escalations: int
    capa_actions_due: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def feedback_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Every sweep once; each is idempotent, so running this twice changes nothing the second time."""
    now = now or clock.now()
    survey_instrument_default()  # the follow-ups it creates lead to the call script, which shows its items
    return SweepResult(
        follow_ups_created=follow_up_sweep(now=now),
        recovery_escalations=recovery_escalation_sweep(now=now),
        complaint_escalations=complaint_escalation_sweep(now=now),
        suggestion_escalations=suggestion_escalation_sweep(now=now),
        capa_actions_due=capa_action_due_sweep(now=now),
    )
