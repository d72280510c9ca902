"""Choices of the care campaigns (SPEC §5): a campaign's purpose and lifecycle, a member's arm and why a member
of the treatment arm got no message."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignPurpose(models.TextChoices):
    """Decides the consent needed, the quiet hours and the frequency cap (messaging.choices.Purpose)."""

    # Care offers: only with marketing consent, never in quiet hours, counted against the frequency cap,
    # and the opt-out ("回复TD退订") is appended to every message.
    MARKETING = "marketing", _("Marketing and care")
    # Service notices (a recall, a safety check) rest on the service contract: no consent, any hour, no cap.
    SERVICE = "service", _("Service notice")


class CampaignStatus(models.TextChoices):
    """draft → scheduled → sending → finished, or cancelled; moves in `transitions.CAMPAIGN`."""

    DRAFT = "draft", _("Draft")  # being prepared: audience and text may change
    SCHEDULED = "scheduled", _("Scheduled")  # the sweep starts it at scheduled_at
    SENDING = "sending", _("Sending")  # members drawn and split; messages are being queued in batches
    FINISHED = "finished", _("Finished")  # every member has been handled; results accrue for the window
    CANCELLED = "cancelled", _("Cancelled")


class Arm(models.TextChoices):
    TREATMENT = "treatment", _("Treatment")  # gets the message
    CONTROL = "control", _("Control")  # held out at random: no message, the baseline of the uplift


class SkipReason(models.TextChoices):
    """Why a treatment member was sent nothing (empty: a message was queued)."""

    NONE = "", _("—")
    NO_MARKETING_CONSENT = "no_marketing_consent", _("No marketing consent")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")


BADGES = {
    CampaignStatus.DRAFT: "secondary",
    CampaignStatus.SCHEDULED: "info",
    CampaignStatus.SENDING: "warning",
    CampaignStatus.FINISHED: "success",
    CampaignStatus.CANCELLED: "dark",
}
