"""Base model and the audit trail shared by every app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core.scoping import ScopedQuerySet


class BaseModel(models.Model):
    """Every model has an indexed creation time and an update time."""

    # A default rather than auto_now_add, so imports and demo data can carry their real (past) times.
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """Who did what to which record, and when; written by services, never edited."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL
    )
    store_id = models.BigIntegerField(_("store"), null=True, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class IdempotencyRecord(BaseModel):
    """The first answer to a POST under /api/v1/ sent with an `Idempotency-Key` header (core/idempotency.py).

    `scope_hash` is the SHA-256 of the caller's Authorization header, so two callers never share a key;
    `request_hash` the SHA-256 of the method, path and body, so the same key with another request is refused.
    A row without `completed_at` is a request still running; a finished one holds the answer to replay.
    Rows expire 24 hours after `created_at` (the `core.idempotency_purge` task)."""

    scope_hash = models.CharField(_("caller (hash)"), max_length=64)
    key = models.CharField(_("idempotency key"), max_length=255)
    request_hash = models.CharField(_("request (hash)"), max_length=64)
    path = models.CharField(_("path"), max_length=500)
    started_at = models.DateTimeField(_("started at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    response_body = models.TextField(_("response body"), blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["scope_hash", "key"], name="idempotency_key_unique_per_caller")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'running'})"
