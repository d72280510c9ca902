from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AuditKind(models.TextChoices):
    MYSTERY_SHOPPER = "mystery_shopper", _("Mystery shopper")
    INTERNAL = "internal", _("Internal audit")
    RECORD_CHECK = "record_check", _("Record spot check")
    VIDEO_CHECK = "video_check", _("Video spot check")


# Spot checks look at one sampled repair order each; the sample is drawn by the system, never by the store.
SPOT_CHECK_KINDS = frozenset({AuditKind.RECORD_CHECK, AuditKind.VIDEO_CHECK})


class AuditStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", pgettext_lazy("audit status", "In progress")  # 审核中, not a repair's 维修中
    SUBMITTED = "submitted", _("Submitted")
    CANCELLED = "cancelled", _("Cancelled")


class AnswerResult(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NA = "na", _("Not applicable")


class MysteryChannel(models.TextChoices):
    """How a mystery shopper met the store."""

    VISIT = "visit", _("Visit")
    PHONE = "phone", _("Phone call")


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
