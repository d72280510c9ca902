"""Stored results of the catalogue: KPI figures of closed periods, advisor scorecards with their review, early
warnings raised (one row per breach, so a sweep never alerts twice) and report runs with their progress.

Figures are always computed by the catalogue (catalogue.py); these rows only keep what was computed, when, and
what people did with it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.organisation.models import DealerGroup, Store

FIGURE: dict = {"max_digits": 14, "decimal_places": 2}


class KpiSnapshot(models.Model):
    """One KPI of one closed period for a store (store set) or a whole group (store null).  Written by the
    snapshot job; a row whose `computed_at` is older than a change to its source records is recomputed."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(_("period"), max_length=8)  # 2026-05, 2026-Q2, 2026
    key = models.CharField(_("KPI"), max_length=64)
    value = models.DecimalField(_("value"), null=True, blank=True, **FIGURE)
    numerator = models.DecimalField(_("numerator"), **FIGURE)
    denominator = models.PositiveIntegerField(_("denominator"))
    pending = models.PositiveIntegerField(_("pending"), default=0)
    target = models.DecimalField(_("target"), null=True, blank=True, **FIGURE)
    status = models.CharField(_("status"), max_length=8, blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("KPI figure")
        verbose_name_plural = _("KPI figures")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "period", "key"], condition=Q(store__isnull=False), name="kpi_snapshot_store_once"
            ),
            models.UniqueConstraint(
                fields=["group", "period", "key"], condition=Q(store__isnull=True), name="kpi_snapshot_group_once"
            ),
        ]
        indexes = [models.Index(fields=["store", "key", "period"]), models.Index(fields=["group", "key", "period"])]

    def __str__(self) -> str:
        return f"{self.store_id or self.group_id} {self.period} {self.key}={self.value}"


class ScorecardStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (not reviewed)")
    FINAL = "final", _("Reviewed")


class Scorecard(BaseModel):
    """An advisor's scorecard for a period (SPEC §7): the components with their attainment, the weights in force,
    the score; final only once a manager has written the explanation and marked it reviewed (SPEC §10)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(_("period"), max_length=8)
    score = models.DecimalField(_("score"), null=True, blank=True, max_digits=6, decimal_places=2)
    components = models.JSONField(_("components"), default=list)  # [{key, value, target, attainment, weight, points}]
    computed_at = models.DateTimeField(_("computed at"))
    status = models.CharField(_("status"), max_length=8, choices=ScorecardStatus.choices, default=ScorecardStatus.DRAFT)
    explanation = models.TextField(_("explanation"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    star = models.BooleanField(_("service star of the quarter"), default=False)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("advisor scorecard")
        verbose_name_plural = _("advisor scorecards")
        ordering = ["store", "period", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["store", "advisor", "period"], name="scorecard_once_per_period"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="scorecard_final_is_reviewed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.advisor_id} {self.period}: {self.score}"


class KpiAlertKind(models.TextChoices):
    RED = "red", _("Entered red")
    FALLING = "falling", _("Worse three periods in a row")


class KpiAlert(models.Model):
    """An early warning (危机预警) raised once for a KPI of a store (or of a group: store null) in a period."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("KPI"), max_length=64)
    period = models.CharField(_("period"), max_length=8)
    kind = models.CharField(_("kind"), max_length=8, choices=KpiAlertKind.choices)
    value = models.DecimalField(_("value"), null=True, blank=True, **FIGURE)
    target = models.DecimalField(_("target"), null=True, blank=True, **FIGURE)
    raised_at = models.DateTimeField(_("raised at"))
    capa_id = models.PositiveIntegerField(_("CAPA opened"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("early warning")
        verbose_name_plural = _("early warnings")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "key", "period", "kind"], condition=Q(store__isnull=False), name="kpi_alert_store_once"
            ),
            models.UniqueConstraint(
                fields=["group", "key", "period", "kind"], condition=Q(store__isnull=True), name="kpi_alert_group_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id or self.group_id} {self.key} {self.period} {self.kind}"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being produced")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", "XLSX"
    PDF = "pdf", "PDF"


class ReportRun(BaseModel):
    """A monthly, quarterly or yearly report of a store (or of a group: store null), produced by the worker."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(_("period"), max_length=8)
    format = models.CharField(_("format"), max_length=4, choices=ReportFormat.choices)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    status = models.CharField(_("status"), max_length=8, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("current step"), max_length=120, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    file = models.FileField(_("file"), upload_to="reports/%Y/%m/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    sent_to_managers = models.BooleanField(_("sent to the managers"), default=False)
    # Whether the file holds plates in full (its requester held SEE_PLATES over its stores): only such a reader
    # may download it; others ask for their own, masked copy.
    plates_in_full = models.BooleanField(_("holds plates in full"), default=False)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id or self.group_id} {self.period} {self.format}"
