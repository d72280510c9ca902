from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """How the message reaches the person; which *backend* carries it is configured separately."""

    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("E-mail")
    # A store's WeCom (企业微信) group robot: one post to the store's staff chat, addressed by its webhook URL.
    WECOM = "wecom", _("WeCom group robot")
    # An integrator's system: a signed JSON event posted to its webhook endpoint (`WebhookEndpoint`).
    WEBHOOK = "webhook", _("Integration webhook")


class Purpose(models.TextChoices):
    """Why we write; decides the consent needed and whether quiet hours apply (SPEC §5, §10)."""

    # Booking, estimate and pick-up notices rest on the service contract: no consent needed, sent at any hour.
    SERVICE = "service", _("Service notice")
    # Care offers and reminders: only with the customer's marketing consent, never in quiet hours.
    MARKETING = "marketing", _("Marketing and care")
    # Satisfaction surveys: only with the customer's survey consent, never in quiet hours.
    SURVEY = "survey", _("Satisfaction survey")
    # Internal notifications to a member of staff.
    STAFF = "staff", _("Staff notification")
    # Events for an integrator's system (the webhooks app): no person is written to, sent at any hour.
    INTEGRATION = "integration", _("Integration event")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent (suppressed)")


class SuppressionReason(models.TextChoices):
    NONE = "", _("—")
    NO_MARKETING_CONSENT = "no_marketing_consent", _("No marketing consent")
    NO_SURVEY_CONSENT = "no_survey_consent", _("No survey consent")
    NO_ADDRESS = "no_address", _("No address for this channel")
    RECIPIENT_INACTIVE = "recipient_inactive", _("The staff account is inactive")
    WITHDRAWN = "withdrawn", _("Withdrawn before sending (e.g. its campaign was cancelled)")
