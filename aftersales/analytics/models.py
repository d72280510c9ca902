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


# ------------------------------------------------------------------------------------- service-quality evaluation


class EvaluationPreset(models.TextChoices):
    SERVQUAL = "servqual", _("SERVQUAL's five dimensions")
    JD_POWER = "jd_power", _("J.D. Power China CSI factors")
    OWN = "own", _("The store's own")


class EvaluationModel(BaseModel):
    """The index hierarchy (评价体系, SPEC §8) of a store, or of the group (store null: every store without its
    own): criteria, each with its indicators (1–5 survey items), weighted by AHP from the pairwise matrices.  The
    global weights are what CSI weighs its items by and what the fuzzy evaluation of a store uses.  Written only
    by `analytics.quality.services`."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=80, blank=True)  # blank: the preset's name, in the reader's language
    preset = models.CharField(_("started from"), max_length=12, choices=EvaluationPreset.choices)
    method = models.CharField(_("weighting method"), max_length=12, default="eigenvector")
    ri_table = models.CharField(_("RI table"), max_length=20, default="chinese_textbook")

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("evaluation model")
        verbose_name_plural = _("evaluation models")
        constraints = [
            models.UniqueConstraint(
                fields=["store"], condition=Q(store__isnull=False), name="evaluation_one_per_store"
            ),
            models.UniqueConstraint(fields=["group"], condition=Q(store__isnull=True), name="evaluation_one_per_group"),
        ]

    def __str__(self) -> str:
        return str(self.title)

    @property
    def title(self) -> str:
        return self.name or str(self.get_preset_display())


class EvaluationNode(BaseModel):
    """A criterion (parent null) or one of its indicators (reading the 1–5 survey item `item_key`).  The weights
    are written by the services from the matrices: local within its parent, global = criterion × local."""

    model = models.ForeignKey(EvaluationModel, verbose_name=_("model"), on_delete=models.CASCADE, related_name="nodes")
    parent = models.ForeignKey(
        "self", verbose_name=_("criterion"), null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    code = models.SlugField(_("code"), max_length=40)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    item_key = models.SlugField(_("survey item"), max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    local_weight = models.DecimalField(_("local weight"), max_digits=8, decimal_places=6, null=True, blank=True)
    global_weight = models.DecimalField(_("global weight"), max_digits=8, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = _("evaluation criterion or indicator")
        verbose_name_plural = _("evaluation criteria and indicators")
        ordering = ["model", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "code"], name="evaluation_node_code_once"),
            # an indicator reads a survey item; a criterion does not
            models.CheckConstraint(
                condition=Q(parent__isnull=True, item_key="") | Q(parent__isnull=False) & ~Q(item_key=""),
                name="evaluation_indicator_reads_an_item",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def name(self, language: str) -> str:
        return self.name_en if language.startswith("en") else self.name_zh_hans


class PairwiseMatrix(BaseModel):
    """One expert's pairwise comparisons (Saaty 1–9) of the criteria (parent null) or of one criterion's
    indicators, in the nodes' order; entries as typed ("3", "1/5", "0.5").  Only consistent matrices are stored
    (CR < 0.10); the weights come from the geometric mean of the experts' matrices (group AHP)."""

    model = models.ForeignKey(
        EvaluationModel, verbose_name=_("model"), on_delete=models.CASCADE, related_name="matrices"
    )
    parent = models.ForeignKey(
        EvaluationNode,
        verbose_name=_("criterion"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="matrices",
    )
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("expert"), on_delete=models.PROTECT, related_name="+"
    )
    codes = models.JSONField(_("items compared"), default=list)  # the node codes, in the matrix's order
    values = models.JSONField(_("comparisons"), default=list)
    cr = models.DecimalField(_("CR"), max_digits=7, decimal_places=4)

    class Meta:
        verbose_name = _("pairwise comparison matrix")
        verbose_name_plural = _("pairwise comparison matrices")
        constraints = [
            models.UniqueConstraint(
                fields=["model", "parent", "expert"], condition=Q(parent__isnull=False), name="pairwise_once_per_node"
            ),
            models.UniqueConstraint(
                fields=["model", "expert"], condition=Q(parent__isnull=True), name="pairwise_once_for_criteria"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}/{self.parent_id or 'criteria'}/{self.expert_id}"


# ------------------------------------------------------------------------------- frequent issues from free text


class CommentSource(models.TextChoices):
    """Where a customer's free text was written (the texts `comment_issues.py` reads)."""

    SURVEY = "survey", _("Survey comment")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    CALL_NOTE = "call_note", _("Follow-up call note")
    RECOVERY_NOTE = "recovery", _("Service-recovery note")


class CommentIssue(models.Model):
    """One issue (a lexicon code, textmining/lexicon.py) raised by one free text, with the sentence that raises
    it as the example quote (long digit runs masked).  Written only by `comment_issues.comments_scan`, which
    rewrites a store-month's rows from its texts, so a rescan is idempotent; pages count these rows in SQL."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    # The customer who wrote (or said) it: their comments go when they do (PIPL erasure).
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_kind = models.CharField(_("source"), max_length=12, choices=CommentSource.choices)
    source_id = models.PositiveBigIntegerField(_("source record"))
    record_id = models.PositiveBigIntegerField(_("page record"))  # the record whose page shows the text
    written_at = models.DateTimeField(_("written at"))
    month = models.CharField(_("month"), max_length=7)  # YYYY-MM of written_at in the store's time zone
    issue = models.CharField(_("issue"), max_length=40)
    term = models.CharField(_("matched words"), max_length=60)
    quote = models.CharField(_("quote"), max_length=300)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("issue found in a comment")
        verbose_name_plural = _("issues found in comments")
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "source_id", "issue"], name="comment_issue_once"),
        ]
        indexes = [
            models.Index(fields=["store", "month", "issue"]),
            models.Index(fields=["store", "month", "advisor"]),
        ]

    def __str__(self) -> str:
        return f"{self.source_kind}#{self.source_id} {self.issue}"


class CommentMonth(models.Model):
    """A store-month whose texts were read: how many comments (the emerging terms' N) and when, so the nightly
    job knows what changed since and a page can tell "not read yet" from "nothing found"."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    month = models.CharField(_("month"), max_length=7)
    comments = models.PositiveIntegerField(_("comments read"))
    scanned_at = models.DateTimeField(_("comments read at"))
    # Read by the nightly job (its latest `scanned_at` is where the next run starts), not on request.
    by_sweep = models.BooleanField(_("read by the nightly job"), default=False)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("month of comments read")
        verbose_name_plural = _("months of comments read")
        constraints = [models.UniqueConstraint(fields=["store", "month"], name="comment_month_once")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month}: {self.comments}"


class CommentTerm(models.Model):
    """How many of a store-month's comments contain a word (document frequency, textmining/emerging.py): the
    emerging terms of any store or group and month are summed from these rows, never re-segmented."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    month = models.CharField(_("month"), max_length=7)
    term = models.CharField(_("word"), max_length=40)
    documents = models.PositiveIntegerField(_("comments containing it"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("word count of a month's comments")
        verbose_name_plural = _("word counts of months' comments")
        constraints = [models.UniqueConstraint(fields=["store", "month", "term"], name="comment_term_once")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month} {self.term}={self.documents}"
