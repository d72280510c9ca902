"""The care actions of SPEC §5, one kind per action a tier's playbook may take."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CareKind(models.TextChoices):
    A_ADVISOR = "a_advisor", _("A · dedicated advisor")
    A_BENEFITS = "a_benefits", _("A · yearly benefits package")
    B_SUGGESTION = "b_suggestion", _("B · service suggestion")
    B_UPGRADE = "b_upgrade", _("B · upgrade offer")
    C_WELCOME = "c_welcome", _("C · welcome gift")
    D_RECALL = "d_recall", _("D · recall notice")
    D_CALL = "d_call", _("D · advisor call task")
    D_WIN_BACK = "d_win_back", _("D · win-back offer")


# The kinds that are a message to the customer (all of them marketing: consent, quiet hours, frequency cap);
# the others are a task in a member of staff's inbox.
MESSAGE_KINDS = frozenset(
    {
        CareKind.A_BENEFITS,
        CareKind.B_SUGGESTION,
        CareKind.B_UPGRADE,
        CareKind.C_WELCOME,
        CareKind.D_RECALL,
        CareKind.D_WIN_BACK,
    }
)
TASK_KINDS = frozenset({CareKind.A_ADVISOR, CareKind.D_CALL})
