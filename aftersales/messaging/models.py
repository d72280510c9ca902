"""The outbox: every message to a customer, a member of staff or an integrator's webhook endpoint, and every
attempt to deliver it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers import crypto
from aftersales.customers.models import Customer
from aftersales.messaging.choices import Channel, Language, MessageStatus, Purpose, SuppressionReason
from aftersales.organisation.models import Store


class WebhookEndpoint(BaseModel):
    """Where an integrator's events go: an http(s) URL and the secret that signs every post (stored encrypted).

    Messaging knows nothing of what is subscribed: the webhooks app owns one endpoint per subscription and keeps
    its URL and secret here, so an outbox message of the webhook channel carries everything its delivery needs.
    """

    url = models.URLField(_("URL"), max_length=500)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.url}"

    @property
    def secret(self) -> str:
        """The signing secret in clear; for the backend only, never for display."""
        return crypto.decrypt(self.secret_encrypted)


class OutboxMessage(BaseModel):
    """One message, rendered when it was queued; the recipient's address is stored encrypted.

    Written only by `messaging.services` (status moves follow `messaging.transitions.OUTBOX_FLOW`).
    """

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="messages")
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff recipient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_messages",
    )
    # Integration events only (channel webhook): the endpoint posted to; `template` holds the event type and
    # `subject` the event id, `body` the exact JSON that is signed and sent.
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook endpoint"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    template = models.CharField(_("template"), max_length=64)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    recipient_encrypted = models.TextField(_("recipient address (encrypted)"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING, db_index=True
    )
    suppressed_reason = models.CharField(
        _("reason not sent"), max_length=32, choices=SuppressionReason.choices, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"),
        null=True,
        blank=True,
        help_text=_("While pending: not before this time. While being sent: when the worker's claim expires."),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    dedupe_key = models.CharField(
        _("de-duplication key"),
        max_length=128,
        blank=True,
        help_text=_("The same logical message (e.g. one booking's confirmation) is queued only once."),
    )
    related_type = models.CharField(_("related object type"), max_length=64, blank=True)
    related_id = models.CharField(_("related object id"), max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="outbox_dedupe_key_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(customer__isnull=False)
                    & Q(recipient_user__isnull=True)
                    & ~Q(purpose__in=[Purpose.STAFF, Purpose.INTEGRATION])
                    & Q(endpoint__isnull=True)
                )
                | (Q(customer__isnull=True) & Q(purpose=Purpose.STAFF) & Q(endpoint__isnull=True))
                | (
                    Q(customer__isnull=True)
                    & Q(recipient_user__isnull=True)
                    & Q(purpose=Purpose.INTEGRATION)
                    & Q(endpoint__isnull=False)
                ),
                name="outbox_one_recipient",
            ),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="outbox_status_known"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["customer", "-created_at"], name="outbox_customer_idx"),
            models.Index(fields=["related_type", "related_id"], name="outbox_related_idx"),
            # which stored KPI figures a change makes stale (analytics/snapshots.py)
            models.Index(fields=["updated_at"], name="messaging_outbox_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.template} {self.channel} {self.status}"

    @property
    def recipient(self) -> str:
        """The address in clear (phone or e-mail); for backends only, never for display."""
        return crypto.decrypt(self.recipient_encrypted)


class DeliveryAttempt(BaseModel):
    """One try to hand a message to the backend, successful or not."""

    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    at = models.DateTimeField(_("time"), db_index=True)
    backend = models.CharField(_("backend"), max_length=64)
    ok = models.BooleanField(_("delivered"))
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "message__store_id"

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["message", "at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.backend} {'ok' if self.ok else 'failed'} @ {self.at}"


class ReplyIntent(models.TextChoices):
    """What a customer's reply asks for (`messaging.inbound.intent_classify`)."""

    STOP = "stop", _("Unsubscribe")
    BOOK = "book", _("Book a visit")
    LATER = "later", _("Remind me later")
    OTHER = "other", _("Other text")


class ReplyOutcome(models.TextChoices):
    """What was done with a reply (written once, when it is handled)."""

    NONE = "", _("—")
    UNSUBSCRIBED = "unsubscribed", _("Consent withdrawn, confirmation sent")
    LINK_SENT = "link_sent", _("Booking link sent")
    SNOOZED = "snoozed", _("Reminder postponed")
    NOTED = "noted", _("No reminder to postpone: the advisor was told")
    FORWARDED = "forwarded", _("Passed to the advisor's inbox")
    UNMATCHED_FORWARDED = "unmatched_forwarded", _("Unknown sender: passed to the store managers")
    UNMATCHED = "unmatched", _("Unknown sender: stored only")


class InboundMessage(BaseModel):
    """One text or WeChat message a customer sent us through the gateway (two-way replies).

    Written only by `messaging.inbound` (the reply is stored and classified) and `campaigns.replies` (it is
    handled).  The gateway's own message id is unique per gateway, so a gateway's retry stores nothing twice.
    The sender's number is kept like a customer's: encrypted, with a keyed hash to match it.
    """

    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
        help_text=_(
            "The store that wrote the message answered, else where the customer's file was opened; empty when unknown."
        ),
    )
    gateway = models.CharField(_("gateway"), max_length=32)
    gateway_message_id = models.CharField(_("gateway's message id"), max_length=128)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    sender_encrypted = models.TextField(_("sender's mobile (encrypted)"))
    sender_hash = models.CharField(_("sender's mobile search hash"), max_length=64, db_index=True)
    text = models.TextField(_("text"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="inbound_messages",
    )
    in_reply_to = models.ForeignKey(
        OutboxMessage,
        verbose_name=_("in reply to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
    )
    intent = models.CharField(_("intent"), max_length=8, choices=ReplyIntent.choices)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=ReplyOutcome.choices, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("customer reply")
        verbose_name_plural = _("customer replies")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "gateway_message_id"], name="inbound_gateway_message_unique"),
            models.CheckConstraint(condition=Q(intent__in=ReplyIntent.values), name="inbound_intent_known"),
        ]
        indexes = [models.Index(fields=["customer", "-received_at"], name="inbound_customer_idx")]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.gateway_message_id} {self.intent} {self.outcome or 'pending'}"

    @property
    def sender(self) -> str:
        """The sender's mobile in clear; never for display (mask it)."""
        return crypto.decrypt(self.sender_encrypted)
