"""The reminder's lifecycle as data: the daily sweep schedules, sends, cancels and reopens (system); staff who book
visits, the customer (a "later / 稍后" reply) and the system may snooze one that was scheduled or sent."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import Lifecycle, Party, move
from aftersales.reminders.choices import ReminderState as S

INTAKE = "intake"
SWEEP = "sweep"

REMINDER = Lifecycle(
    "reminder",
    states=tuple(S.values),
    moves=(
        move("schedule", (), S.SCHEDULED, parties=[Party.SYSTEM], via=INTAKE, label=_("Schedule")),
        move("send", [S.SCHEDULED, S.SNOOZED], S.SENT, parties=[Party.SYSTEM], via=SWEEP, label=_("Send")),
        move(
            "suppress", [S.SCHEDULED, S.SNOOZED], S.SUPPRESSED, parties=[Party.SYSTEM], via=SWEEP, label=_("Not sent")
        ),
        move("cancel", [S.SCHEDULED, S.SNOOZED], S.CANCELLED, parties=[Party.SYSTEM], via=SWEEP, label=_("Cancel")),
        move("reopen", [S.CANCELLED], S.SCHEDULED, parties=[Party.SYSTEM], via=SWEEP, label=_("Reopen")),
        move(
            "snooze",
            [S.SCHEDULED, S.SENT, S.SNOOZED],
            S.SNOOZED,
            capabilities=[Cap.BOOK],
            parties=[Party.CUSTOMER, Party.SYSTEM],
            label=_("Remind later"),
        ),
    ),
)

LIFECYCLES = (REMINDER,)
