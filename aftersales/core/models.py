"""Base model and the audit trail shared by every app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core.scoping import ScopedQuerySet


def person_fk(verbose_name: Any, related_name: str = "+") -> models.ForeignKey:
    """An optional link to a member of staff (who logged, owns, approved …) that survives the person's account
    being deleted (SET_NULL): the record keeps what happened, the name goes."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name=related_name,
    )


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


class OfficialCalendarYear(models.Model):
    """One year of China's official calendar as the State Council's notice gives it, entered by an administrator
    (`aftersales calendar import`, /settings/calendar/).  The working-day clocks (`core.calendar`) read an entered
    year before the `chinese-calendar` package's data.  Dates are ISO strings ("2027-02-05"), sorted."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    holidays = models.JSONField(_("public holidays"), default=list)
    workdays = models.JSONField(_("make-up working days"), default=list)
    notice = models.CharField(_("notice"), max_length=120, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta:
        verbose_name = _("official calendar year")
        verbose_name_plural = _("official calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarGap(models.Model):
    """A working-day clock reached into `year` while neither an entered year nor the package knew it, so it
    counted Monday–Friday (or, with no `first_reached_at`, December came and next year still has no calendar).
    The December job alerts the administrators once (`alerted_at`, claimed by a conditional UPDATE); the settings
    page shows a banner while the year still has no calendar."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    # None: no clock reached the year yet; the December check made the row to claim its alert.
    first_reached_at = models.DateTimeField(_("first reached by a clock at"), null=True, blank=True)
    alerted_at = models.DateTimeField(_("administrators alerted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("year without a calendar")
        verbose_name_plural = _("years without a calendar")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)
