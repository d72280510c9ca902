"""Named values of the voice of the customer (SPEC §3.7, §4).  Code names in English, labels translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ItemKind(models.TextChoices):
    SCORE_0_10 = "score_0_10", _("Score 0–10")
    SCALE_1_5 = "scale_1_5", _("Scale 1–5 (5 very satisfied)")
    TEXT = "text", _("Free text")


class SurveyChannel(models.TextChoices):
    """Where an answer came from; the delivery score and the follow-up score are never mixed."""

    DELIVERY = "delivery", _("At delivery")
    FOLLOW_UP_CALL = "follow_up_call", _("Follow-up call")
    CUSTOMER_LINK = "customer_link", _("Customer's phone page")
    CAMPAIGN = "campaign", _("Survey campaign")


# Channels that count as the follow-up score (after the customer has left), as opposed to the delivery score.
FOLLOW_UP_CHANNELS = frozenset({SurveyChannel.FOLLOW_UP_CALL, SurveyChannel.CUSTOMER_LINK})


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("To call")  # waiting in the agents' queue
    DONE = "done", _("Surveyed")  # the customer was reached and answered (by phone or by the link)
    REFUSED = "refused", _("Customer declined")  # reached, but declined the survey
    UNREACHABLE = "unreachable", _("Unreachable")  # the last attempt failed, or the number is wrong


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    REFUSED = "refused", _("Refused")


class RecoveryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class RecoveryOutcome(models.TextChoices):
    CONTACTED = "contacted", _("Customer contacted")
    RESOLVED = "resolved", _("Resolved")
    REFUSED = "refused", _("Customer refused contact")


class FeedbackChannel(models.TextChoices):
    """How a complaint or a suggestion reached us (SPEC §4)."""

    PHONE = "phone", _("Phone")
    ON_SITE = "on_site", _("On site")
    CUSTOMER_PAGE = "customer_page", _("Customer's page")
    FOLLOW_UP = "follow_up", _("Follow-up call")
    ONLINE_REVIEW = "online_review", _("Online review")


class ComplaintCategory(models.TextChoices):
    ATTITUDE = "attitude", _("Service attitude")
    QUALITY = "quality", _("Repair quality")
    PRICE = "price", _("Price")
    PARTS = "parts", _("Parts")
    WAITING = "waiting", _("Waiting time")
    OTHER = "other", _("Other")


class ComplaintPriority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    IMPORTANT = "important", _("Important")
    GENERAL = "general", _("General")


class ComplaintStatus(models.TextChoices):
    """New: logged, nobody has told the customer we have it.  Acknowledged: the owner has taken it and the
    customer knows.  Contacted: the owner has talked the problem through with the customer.  Resolved: a
    resolution is recorded.  Closed: the customer confirmed it and rated the handling."""

    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CONTACTED = "contacted", _("Customer contacted")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


COMPLAINT_BADGES: dict[str, str] = {
    ComplaintStatus.NEW: "danger",
    ComplaintStatus.ACKNOWLEDGED: "warning",
    ComplaintStatus.CONTACTED: "info",
    ComplaintStatus.RESOLVED: "primary",
    ComplaintStatus.CLOSED: "success",
}


class ComplaintClock(models.TextChoices):
    """The SLA clocks of a complaint (SPEC §4), each started at receipt."""

    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    CONTACT = "contact", _("Contact the customer")
    RESOLVE = "resolve", _("Resolve")


class EscalationLevel(models.TextChoices):
    STORE = "store", _("Store manager")
    GROUP = "group", _("Group manager")


class SuggestionStatus(models.TextChoices):
    OPEN = "open", _("Awaiting decision")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Customer told")


class SuggestionDecision(models.TextChoices):
    ADOPT = "adopt", _("Adopt")
    NOT_ADOPT = "not_adopt", _("Not adopt")


class CapaStatus(models.TextChoices):
    """问题反馈 → 根源分析 → 措施制定 → 效果验证 → 流程固化."""

    OPEN = "open", _("Open")
    ANALYSING = "analysing", _("Root-cause analysis")
    ACTING = "acting", _("Corrective actions")
    VERIFYING = "verifying", _("Verifying the effect")
    CLOSED = "closed", _("Closed (procedure changed)")


CAPA_BADGES: dict[str, str] = {
    CapaStatus.OPEN: "secondary",
    CapaStatus.ANALYSING: "info",
    CapaStatus.ACTING: "primary",
    CapaStatus.VERIFYING: "warning",
    CapaStatus.CLOSED: "success",
}
