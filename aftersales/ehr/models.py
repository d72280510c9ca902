"""Repair e-health record (layer 6): where a store's records go (`EhrEndpoint`), one submission per settled order
(`EhrSubmission`) and every attempt to hand it over (`EhrAttempt`).

Not the messaging outbox: an outbox message is a text to a person (its table requires a customer or a staff
recipient), while a submission is a structured record to a government platform with its own token, answer
and remote id.  The queue follows the outbox's rules instead: claim by conditional UPDATE, the same backoff
(`messaging.services.RETRY_BACKOFF_MINUTES`), a claim that expires when a worker dies."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.ehr.choices import AdapterKind, SubmissionStatus
from aftersales.organisation.models import DealerGroup, Store
from aftersales.service.models import RepairOrder

HTTP_URL = URLValidator(schemes=["http", "https"])


class EhrEndpoint(BaseModel):
    """The provincial platform a group's stores upload to (store empty), or one store's own.  The secret and the
    cached token are stored encrypted and never shown on a page."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="ehr_endpoints"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ehr_endpoints",
        help_text=_("Empty: every store of the group without its own."),
    )
    kind = models.CharField(_("endpoint shape"), max_length=16, choices=AdapterKind.choices)
    token_url = models.URLField(_("token URL"), max_length=300, validators=[HTTP_URL])
    record_url = models.URLField(_("record URL"), max_length=300, validators=[HTTP_URL])
    company_code = models.CharField(
        _("repair business code"), max_length=40, help_text=_("The code the province gave the repair business.")
    )
    client_id = models.CharField(_("account"), max_length=80)
    secret_encrypted = models.TextField(_("secret (encrypted)"), blank=True)
    enabled = models.BooleanField(_("uploading"), default=True)
    token_encrypted = models.TextField(_("access token (encrypted)"), blank=True)
    token_expires_at = models.DateTimeField(_("access token expires at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("e-health endpoint")
        verbose_name_plural = _("e-health endpoints")
        ordering = ["group", "store", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group"], condition=Q(store__isnull=True), name="ehr_endpoint_one_per_group"
            ),
            models.UniqueConstraint(
                fields=["store"], condition=Q(store__isnull=False), name="ehr_endpoint_one_per_store"
            ),
            models.CheckConstraint(condition=Q(kind__in=AdapterKind.values), name="ehr_endpoint_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.store_id or '*'} {self.kind}"

    @property
    def secret(self) -> str:
        """The secret in clear; for the adapters only, never for display."""
        from aftersales.customers import crypto

        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""


class EhrSubmission(BaseModel):
    """One settled order's record on its way to the province.  Written only by `ehr.services` (status moves follow
    `ehr.transitions.SUBMISSION_FLOW`); the record is the snapshot that was (or will be) sent."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="ehr_submissions")
    order = models.OneToOneField(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="ehr_submission"
    )
    record = models.JSONField(_("record"), default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("upload attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"),
        null=True,
        blank=True,
        help_text=_("While waiting: not before this time. While being sent: when the worker's claim expires."),
    )
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    remote_id = models.CharField(_("remote record id"), max_length=80, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("e-health submission")
        verbose_name_plural = _("e-health submissions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SubmissionStatus.values), name="ehr_submission_status_known"),
            models.CheckConstraint(
                condition=~Q(status=SubmissionStatus.ACCEPTED) | ~Q(remote_id=""), name="ehr_accepted_has_remote_id"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="ehr_submission_due_idx"),
            models.Index(fields=["store", "status"], name="ehr_submission_store_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"


class EhrAttempt(models.Model):
    """One try to hand a submission over: when, the outcome and what the platform answered."""

    submission = models.ForeignKey(
        EhrSubmission, verbose_name=_("e-health submission"), on_delete=models.CASCADE, related_name="attempts_made"
    )
    at = models.DateTimeField(_("time"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=SubmissionStatus.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "submission__store_id"

    class Meta:
        verbose_name = _("e-health upload attempt")
        verbose_name_plural = _("e-health upload attempts")
        ordering = ["submission", "at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.outcome} @ {self.at}"
