"""Audits that check the standards (SPEC §4, issue 16): checklists per kind with weighted items, the quarter's audit
plan, audits (mystery shopper, internal, record and video spot checks) with an answer per item, the findings that
failed items become, and the reproducible samples spot checks are drawn from.

Score = Σ weights of passed items / Σ weights of applicable (pass or fail) items × 100.  The audited store sees an
audit only once it is submitted.  Written only by `audits.services`."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftersales.audits.choices import AnswerResult, AuditKind, AuditStatus, FindingStatus, MysteryChannel
from aftersales.core.models import BaseModel
from aftersales.core.models import person_fk as _person
from aftersales.core.scoping import ScopedQuerySet
from aftersales.feedback.models import Capa
from aftersales.organisation.models import DealerGroup, Store
from aftersales.service.models import RepairOrder
from aftersales.standards.choices import ProcedureStep


class AuditChecklist(BaseModel):
    """The group's checklist for one kind of audit; an audit keeps the checklist it was scored against."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=AuditKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    # A checklist some audit has answered never changes: saving it makes a new checklist that replaces it (this
    # one is retired, `is_active` false), so every audit stays scored against the items it was answered on.
    previous = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )

    class Meta:
        verbose_name = _("audit checklist")
        verbose_name_plural = _("audit checklists")
        ordering = ["group", "kind", "title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "kind", "title"],
                condition=Q(is_active=True),
                name="audits_checklist_title_unique",
            )
        ]

    def __str__(self) -> str:
        return self.title


class AuditChecklistItem(models.Model):
    """One weighted item; `step` (and `sop_item_key`) tie it to the standard it checks."""

    checklist = models.ForeignKey(
        AuditChecklist, verbose_name=_("checklist"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text = models.CharField(_("item"), max_length=300)
    text_en = models.CharField(_("item in English"), max_length=300, blank=True)
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=2, validators=[MinValueValidator(0)], default=1
    )
    allows_na = models.BooleanField(_("may be not applicable"), default=True)
    step = models.CharField(_("step"), max_length=12, choices=ProcedureStep.choices, blank=True)
    sop_item_key = models.SlugField(_("SOP item"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("audit checklist item")
        verbose_name_plural = _("audit checklist items")
        ordering = ["checklist", "position", "id"]
        constraints = [models.CheckConstraint(condition=Q(weight__gt=0), name="audits_item_weight_positive")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.text_en and (get_language() or "").startswith("en"):
            return self.text_en
        return self.text


class AuditPlan(BaseModel):
    """The group's audit plan of one quarter: its planned audits say which stores, kinds and auditors."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    note = models.TextField(_("note"), blank=True)
    created_by = _person(_("created by"))

    class Meta:
        verbose_name = _("audit plan")
        verbose_name_plural = _("audit plans")
        ordering = ["group", "-year", "-quarter"]
        constraints = [
            models.UniqueConstraint(fields=["group", "year", "quarter"], name="audits_plan_quarter_unique"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="audits_plan_quarter_range"),
        ]

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"


class SpotCheckSample(BaseModel):
    """A random, reproducible draw of one store's orders of one month for spot checks: the seed and the population
    are stored, so anyone can draw it again and get the same orders."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=AuditKind.choices)
    month = models.DateField(_("month"), help_text=_("The first day of the month the orders were delivered in."))
    seed = models.BigIntegerField(_("seed"))
    size = models.PositiveSmallIntegerField(_("sample size"))
    population = models.PositiveIntegerField(_("orders to draw from"))
    order_ids = models.JSONField(_("orders drawn"), default=list)
    drawn_by = _person(_("drawn by"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("spot-check sample")
        verbose_name_plural = _("spot-check samples")
        ordering = ["-month", "store", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "kind", "month"], name="audits_one_sample_per_month")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.kind} {self.month:%Y-%m}"


class Audit(BaseModel):
    """One audit of one store: planned, filled in by its auditor (on a phone for a mystery shopper), submitted —
    only then the audited store sees it — and scored."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=AuditKind.choices)
    checklist = models.ForeignKey(
        AuditChecklist, verbose_name=_("checklist"), on_delete=models.PROTECT, related_name="audits"
    )
    status = models.CharField(_("status"), max_length=12, choices=AuditStatus.choices, default=AuditStatus.PLANNED)
    plan = models.ForeignKey(
        AuditPlan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.SET_NULL, related_name="audits"
    )
    auditor = _person(_("auditor"), related_name="audits")
    due_date = models.DateField(_("due date"), null=True, blank=True)
    order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The sampled order a spot check looks at."),
    )
    sample = models.ForeignKey(
        SpotCheckSample,
        verbose_name=_("sample"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audits",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=MysteryChannel.choices, blank=True)
    performed_at = models.DateTimeField(_("visited or called at"), null=True, blank=True)
    video_reference = models.CharField(
        _("video reference"),
        max_length=500,
        blank=True,
        help_text=_("Where the store's recording is (a link, the camera and time codes): no video is stored here."),
    )
    summary = models.TextField(_("summary"), blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=300, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2, null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_by = _person(_("created by"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("audit")
        verbose_name_plural = _("audits")
        ordering = ["-submitted_at", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "kind", "submitted_at"], name="audits_store_kind_done_idx"),
            models.Index(fields=["auditor", "status"], name="audits_auditor_status_idx"),
            models.Index(fields=["updated_at"], name="audits_audit_upd_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=AuditStatus.SUBMITTED) | (Q(submitted_at__isnull=False) & Q(score__isnull=False)),
                name="audits_submitted_is_scored",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="audits_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"AUD-{self.pk:06d}" if self.pk else "AUD-new"


class AuditAnswer(models.Model):
    """The auditor's verdict on one item, with a note (and photos)."""

    audit = models.ForeignKey(Audit, verbose_name=_("audit"), on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(
        AuditChecklistItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="answers"
    )
    result = models.CharField(_("result"), max_length=4, choices=AnswerResult.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "audit__store_id"

    class Meta:
        verbose_name = _("audit answer")
        verbose_name_plural = _("audit answers")
        ordering = ["audit", "item__position", "id"]
        constraints = [models.UniqueConstraint(fields=["audit", "item"], name="audits_answer_once_per_item")]

    def __str__(self) -> str:
        return f"{self.audit_id}/{self.item_id} {self.result}"


class AuditPhoto(BaseModel):
    """A photo the auditor took for an answer (e.g. the dirty waiting area)."""

    answer = models.ForeignKey(AuditAnswer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("photo"), upload_to="audits/%Y/%m/")

    objects = ScopedQuerySet.as_manager()
    store_lookup = "answer__audit__store_id"

    class Meta:
        verbose_name = _("audit photo")
        verbose_name_plural = _("audit photos")
        ordering = ["answer", "id"]


class Finding(BaseModel):
    """A failed item of a submitted audit: the store's owner puts it right by the due date, or a CAPA takes it
    (several alike may share one CAPA)."""

    audit = models.ForeignKey(Audit, verbose_name=_("audit"), on_delete=models.CASCADE, related_name="findings")
    answer = models.OneToOneField(
        AuditAnswer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="finding"
    )
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    text = models.CharField(_("finding"), max_length=300)
    text_en = models.CharField(_("finding in English"), max_length=300, blank=True)
    owner = _person(_("owner"), related_name="audit_findings")
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=8, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    resolution = models.CharField(_("what was done"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = _person(_("closed by"))
    capa = models.ForeignKey(
        Capa, verbose_name=_("CAPA"), null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_findings"
    )
    # When the owner was told the finding fell due still open (once; the sweep claims it by setting this).
    overdue_alerted_at = models.DateTimeField(_("owner alerted at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["store", "status", "due_date"], name="audits_finding_open_idx")]

    def __str__(self) -> str:
        return self.text

    @property
    def label(self) -> str:
        """The failed item in the reader's language (the wording of the item when the audit was submitted)."""
        if self.text_en and (get_language() or "").startswith("en"):
            return self.text_en
        return self.text
