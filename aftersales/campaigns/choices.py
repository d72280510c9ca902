"""Choices of the care campaigns (SPEC §5): a campaign's purpose and lifecycle, a member's arm and why a member
of the treatment arm got no message."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignPurpose(models.TextChoices):
    """Campaigns are marketing only: they exist to measure a return against a randomly held-out control group.

    Care offers need marketing consent, never go in quiet hours, count against the frequency cap and carry the
    opt-out ("回复TD退订").  Service notices (a recall, a safety check) do not belong here: they must reach
    everyone concerned — none held back as a control — and go through the reminders / the service process,
    not as free text to a whole audience past the consent, the TD opt-out and the cap.  (A "service" value in
    older rows is treated as marketing; the field stays for now.)"""

    MARKETING = "marketing", _("Marketing and care")


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
