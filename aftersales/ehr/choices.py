"""The e-health record's choices: how a provincial endpoint is spoken to, and where a submission stands."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdapterKind(models.TextChoices):
    """The shapes of provincial endpoint we speak (ehr/adapters.py)."""

    TOKEN_RECORD = "token_record", _("Token endpoint and one record per call")
    BATCH = "batch", _("Token endpoint and a batch of records per call")


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to upload")
    SENDING = "sending", _("Sent, awaiting the answer")
    RETRYING = "retrying", _("Failed, retrying")
    ACCEPTED = "accepted", _("Accepted by the platform")
    REJECTED = "rejected", _("Rejected by the platform")
    FAILED = "failed", _("Failed, retries used up")


STATUS_BADGES: dict[str, str] = {
    SubmissionStatus.PENDING: "secondary",
    SubmissionStatus.SENDING: "info",
    SubmissionStatus.RETRYING: "warning",
    SubmissionStatus.ACCEPTED: "success",
    SubmissionStatus.REJECTED: "danger",
    SubmissionStatus.FAILED: "danger",
}

# What the managers' page lists by default: everything not (yet) accepted.
OPEN_STATUSES = (
    SubmissionStatus.PENDING,
    SubmissionStatus.SENDING,
    SubmissionStatus.RETRYING,
    SubmissionStatus.REJECTED,
    SubmissionStatus.FAILED,
)
