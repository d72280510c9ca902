"""Webhooks out (layer: top, beside config): integrators' subscriptions, the events found by the sweep, and one
delivery per (event, subscription), carried by the messaging outbox.

A subscription owns one `messaging.WebhookEndpoint` (its URL and encrypted secret), so an outbox message of the
webhook channel needs nothing from this app to be delivered.  Written only by `webhooks.services`."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.messaging.models import OutboxMessage, WebhookEndpoint
from aftersales.organisation.models import DealerGroup, Store


class WebhookSubscription(BaseModel):
    """An integrator's subscription: the events of `event_types` of the group's stores (store empty) or of one
    store, posted to its endpoint.  Only events that happen while it is active are sent (`active_since`)."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text=_("Empty: every store of the group."),
    )
    name = models.CharField(_("name"), max_length=100)
    endpoint = models.OneToOneField(
        WebhookEndpoint, verbose_name=_("webhook endpoint"), on_delete=models.PROTECT, related_name="subscription"
    )
    event_types = models.JSONField(_("event types"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    active_since = models.DateTimeField(
        _("active since"),
        default=timezone.now,
        help_text=_("Created or last resumed: only events that happen after it are sent."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["group", "store", "id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def url(self) -> str:
        return self.endpoint.url


class WebhookEvent(BaseModel):
    """One fact worth telling integrators, found once: unique on (source row, type), so a rerun of the sweep never
    makes it twice.  `payload` is the JSON body every subscriber receives (ids, codes, local times; no personal
    data).  `fanned_out_at` is set once its deliveries are queued."""

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("event type"), max_length=40)
    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("source"), max_length=64, help_text=_("The model of the row that records the fact."))
    source_id = models.CharField(_("source id"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"), default=dict)
    fanned_out_at = models.DateTimeField(_("deliveries queued at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id", "type"], name="webhook_event_once_per_fact"),
        ]
        indexes = [
            models.Index(
                fields=["fanned_out_at"], condition=Q(fanned_out_at__isnull=True), name="webhook_event_new_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(BaseModel):
    """One event for one subscription: its outbox message holds the status, attempts and the log of tries."""

    event = models.ForeignKey(
        WebhookEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.OneToOneField(
        OutboxMessage, verbose_name=_("outbox message"), on_delete=models.CASCADE, related_name="webhook_delivery"
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "event__store_id"

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once_per_subscription")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}"


class SweepMark(models.Model):
    """How far the sweep has looked into one source; it looks again a little before that (late commits)."""

    source = models.CharField(_("source"), max_length=64, unique=True)
    seen_until = models.DateTimeField(_("seen until"))

    class Meta:
        verbose_name = _("webhook sweep mark")
        verbose_name_plural = _("webhook sweep marks")

    def __str__(self) -> str:
        return f"{self.source} ≤ {self.seen_until}"
