"""The outbox: every message to a customer or a member of staff, and every attempt to deliver it."""

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
                condition=(Q(customer__isnull=False) & Q(recipient_user__isnull=True) & ~Q(purpose=Purpose.STAFF))
                | (Q(customer__isnull=True) & Q(purpose=Purpose.STAFF)),
                name="outbox_one_recipient",
            ),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="outbox_status_known"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["customer", "-created_at"], name="outbox_customer_idx"),
            models.Index(fields=["related_type", "related_id"], name="outbox_related_idx"),
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

    objects = ScopedQuerySet.as_manager()
    store_lookup = "message__store_id"

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["message", "at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.backend} {'ok' if self.ok else 'failed'} @ {self.at}"
