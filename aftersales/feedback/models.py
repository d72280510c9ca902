"""Follow-ups, surveys, service recovery, complaints, suggestions and CAPA (SPEC §3.7, §4).

Statuses change only through the services (`services/`), which check the tables in `transitions.py`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.models import Customer
from aftersales.feedback.choices import (
    CallOutcome,
    CapaStatus,
    ComplaintCategory,
    ComplaintClock,
    ComplaintPriority,
    ComplaintStatus,
    EscalationLevel,
    FeedbackChannel,
    FollowUpStatus,
    ItemKind,
    RecoveryOutcome,
    RecoveryStatus,
    SuggestionDecision,
    SuggestionStatus,
    SurveyChannel,
)
from aftersales.organisation.models import Store
from aftersales.service.models import RepairOrder

USER = settings.AUTH_USER_MODEL


def _staff_fk(verbose: Any, related: str = "+", **extra: Any) -> models.ForeignKey:
    return models.ForeignKey(
        USER, verbose_name=verbose, null=True, blank=True, on_delete=models.SET_NULL, related_name=related, **extra
    )


# ------------------------------------------------------------------------------------------------ surveys


class SurveyInstrument(BaseModel):
    """A questionnaire (the instrument of SPEC §4 by default): its items, scales and wording in both
    languages are data, so a group can change them without a release."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(_("default instrument"), default=False)

    class Meta:
        verbose_name = _("survey instrument")
        verbose_name_plural = _("survey instruments")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_instrument")
        ]

    def __str__(self) -> str:
        return self.name


class SurveyItem(BaseModel):
    """One question.  `overall` and `recommend` are the 0–10 items behind CSAT and NPS; attribute items use
    the 1–5 scale; `asks_expectation` adds an expectation question for SERVQUAL gaps."""

    instrument = models.ForeignKey(
        SurveyInstrument, verbose_name=_("instrument"), on_delete=models.CASCADE, related_name="items"
    )
    key = models.SlugField(_("key"), max_length=40)
    kind = models.CharField(_("kind"), max_length=12, choices=ItemKind.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    wording_zh_hans = models.CharField(_("wording (Chinese)"), max_length=200)
    wording_en = models.CharField(_("wording (English)"), max_length=200)
    required = models.BooleanField(_("required"), default=False)
    asks_expectation = models.BooleanField(_("also asks the expectation (SERVQUAL)"), default=False)
    dimension = models.CharField(
        _("SERVQUAL dimension"),
        max_length=20,
        blank=True,
        help_text=_("tangibles, reliability, responsiveness, assurance or empathy"),
    )

    class Meta:
        verbose_name = _("survey item")
        verbose_name_plural = _("survey items")
        ordering = ["instrument", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["instrument", "key"], name="survey_item_unique_key")]

    def __str__(self) -> str:
        return self.key

    def wording(self, language: str) -> str:
        return self.wording_en if language.startswith("en") else self.wording_zh_hans


class SurveyResponse(BaseModel):
    """One filled-in survey of one visit through one channel.  The delivery score and the follow-up score
    are separate responses (the repair order's own delivery rating stays on the order)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_responses",
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="survey_responses"
    )
    instrument = models.ForeignKey(
        SurveyInstrument, verbose_name=_("instrument"), on_delete=models.PROTECT, related_name="responses"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=SurveyChannel.choices)
    overall = models.PositiveSmallIntegerField(_("overall satisfaction (0–10)"), null=True, blank=True)
    recommend = models.PositiveSmallIntegerField(_("likelihood to recommend (0–10)"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), db_index=True)
    recorded_by = _staff_fk(_("recorded by"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["store", "submitted_at"]),
            models.Index(fields=["updated_at"], name="feedback_response_updated_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "channel"], condition=Q(order__isnull=False), name="survey_response_once_per_channel"
            ),
            models.CheckConstraint(condition=Q(overall__isnull=True) | Q(overall__lte=10), name="survey_overall_0_10"),
            models.CheckConstraint(
                condition=Q(recommend__isnull=True) | Q(recommend__lte=10), name="survey_recommend_0_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.overall}"


class SurveyAnswer(models.Model):
    """The answer to one item: a score (`value`), optionally the expectation, or free text."""

    response = models.ForeignKey(
        SurveyResponse, verbose_name=_("response"), on_delete=models.CASCADE, related_name="answers"
    )
    item = models.ForeignKey(SurveyItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="answers")
    value = models.PositiveSmallIntegerField(_("value"), null=True, blank=True)
    expectation = models.PositiveSmallIntegerField(_("expectation"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "response__store_id"

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["response", "item__position"]
        constraints = [models.UniqueConstraint(fields=["response", "item"], name="survey_answer_once_per_item")]

    def __str__(self) -> str:
        return f"{self.item_id}={self.value if self.value is not None else self.text[:20]}"


# ---------------------------------------------------------------------------------------------- follow-ups


class FollowUp(BaseModel):
    """The follow-up (回访) of one delivered repair order: due `follow_up_due_hours` after delivery, called
    by a customer-service agent up to `follow_up_max_attempts` times.  Created by `follow_up_sweep`."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    order = models.OneToOneField(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="follow_up"
    )
    due_at = models.DateTimeField(_("due at"), db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    attempts = models.PositiveSmallIntegerField(_("call attempts"), default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = _staff_fk(_("closed by"))
    response = models.OneToOneField(
        SurveyResponse,
        verbose_name=_("survey response"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up",
    )
    # The version of the follow-up SOP whose call script the agent followed (recorded with the call's outcome).
    script_version = models.ForeignKey(
        "standards.ProcedureVersion",
        verbose_name=_("call script version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["store", "status", "due_at"]),
            models.Index(fields=["updated_at"], name="feedback_followup_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"


class CallAttempt(models.Model):
    """One call of a follow-up and how it went."""

    follow_up = models.ForeignKey(
        FollowUp, verbose_name=_("follow-up"), on_delete=models.CASCADE, related_name="call_attempts"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=CallOutcome.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    at = models.DateTimeField(_("time"))
    by = _staff_fk(_("agent"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "follow_up__store_id"

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        ordering = ["follow_up", "number"]
        constraints = [models.UniqueConstraint(fields=["follow_up", "number"], name="call_attempt_unique_number")]

    def __str__(self) -> str:
        return f"{self.follow_up_id}#{self.number} {self.outcome}"


# ---------------------------------------------------------------------------------------- service recovery


class RecoveryTask(BaseModel):
    """Service recovery (服务补救): a low overall score is answered by the order's advisor within
    `recovery_due_minutes`.  A breach alerts the store manager; a second window without an outcome alerts the
    group (each once: the `escalated_*` columns are claimed with a conditional UPDATE)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    response = models.OneToOneField(
        SurveyResponse, verbose_name=_("survey response"), on_delete=models.CASCADE, related_name="recovery"
    )
    order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recovery_tasks",
    )
    advisor = _staff_fk(_("advisor"), "recovery_tasks")
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"), db_index=True)
    status = models.CharField(_("status"), max_length=8, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=12, choices=RecoveryOutcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = _staff_fk(_("closed by"))
    escalated_store_at = models.DateTimeField(_("escalated to the store manager at"), null=True, blank=True)
    escalated_group_at = models.DateTimeField(_("escalated to the group at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("recovery task")
        verbose_name_plural = _("recovery tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["store", "status", "due_at"]),
            models.Index(fields=["updated_at"], name="feedback_recovery_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"recovery {self.pk} ({self.status})"

    @property
    def in_time(self) -> bool | None:
        return None if self.closed_at is None else self.closed_at <= self.due_at


# -------------------------------------------------------------------------------------------- complaints


class Complaint(BaseModel):
    """A complaint (投诉).  Its clocks start at receipt (`received_at`, which may be earlier than the time
    it was logged) and their due times are fixed then.  The first person who takes it owns it until it is
    closed (首问负责制); a transfer names the reason.  Status changes only through the services."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="complaints"
    )
    order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=FeedbackChannel.choices)
    category = models.CharField(_("category"), max_length=12, choices=ComplaintCategory.choices)
    priority = models.CharField(_("priority"), max_length=12, choices=ComplaintPriority.choices)
    description = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=16, choices=ComplaintStatus.choices, default=ComplaintStatus.NEW, db_index=True
    )
    received_at = models.DateTimeField(_("received at"), db_index=True)
    logged_at = models.DateTimeField(_("logged at"))
    logged_by = _staff_fk(_("logged by"))
    owner = _staff_fk(_("owner"), "owned_complaints")
    acknowledge_due = models.DateTimeField(_("acknowledge by"))
    contact_due = models.DateTimeField(_("contact the customer by"))
    resolve_due = models.DateTimeField(_("resolve by"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    contacted_at = models.DateTimeField(_("customer contacted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    customer_confirmed_at = models.DateTimeField(_("customer confirmed at"), null=True, blank=True)
    satisfaction_with_handling = models.PositiveSmallIntegerField(
        _("satisfaction with the handling (1–5)"), null=True, blank=True
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    breach_count = models.PositiveSmallIntegerField(_("clocks breached"), default=0)
    # Its id in the system it came from (core/external_refs.py): unique per source in the dealer group (the
    # service checks the group under a lock; the constraint holds it per store).
    external_source = models.CharField(_("external source"), max_length=40, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["store", "received_at"]),
            models.Index(fields=["updated_at"], name="feedback_complaint_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction_with_handling__isnull=True)
                | Q(satisfaction_with_handling__gte=1, satisfaction_with_handling__lte=5),
                name="complaint_satisfaction_1_5",
            ),
            models.CheckConstraint(condition=Q(logged_at__gte=models.F("received_at")), name="complaint_logged_after"),
            models.UniqueConstraint(
                fields=["store", "external_source", "external_ref"],
                condition=~Q(external_ref=""),
                name="complaint_external_ref_unique_per_store",
            ),
            models.CheckConstraint(
                condition=Q(external_ref="", external_source="") | (~Q(external_ref="") & ~Q(external_source="")),
                name="complaint_external_ref_with_source",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"

    def due_of(self, clock: str) -> dt.datetime:
        due: dict[str, dt.datetime] = {
            ComplaintClock.ACKNOWLEDGE: self.acknowledge_due,
            ComplaintClock.CONTACT: self.contact_due,
            ComplaintClock.RESOLVE: self.resolve_due,
        }
        return due[clock]

    def done_of(self, clock: str) -> dt.datetime | None:
        done: dict[str, dt.datetime | None] = {
            ComplaintClock.ACKNOWLEDGE: self.acknowledged_at,
            ComplaintClock.CONTACT: self.contacted_at,
            ComplaintClock.RESOLVE: self.resolved_at,
        }
        return done[clock]


class ComplaintEvent(models.Model):
    """One state change of a complaint: from, to, who, when, why."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="events"
    )
    from_status = models.CharField(_("from"), max_length=16, choices=ComplaintStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=ComplaintStatus.choices)
    at = models.DateTimeField(_("time"))
    by = _staff_fk(_("by"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "complaint__store_id"

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.from_status} → {self.to_status}"


class ComplaintTransfer(models.Model):
    """A hand-over of a complaint from one owner to another, with the reason."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="transfers"
    )
    from_owner = _staff_fk(_("from"))
    to_owner = _staff_fk(_("to"))
    reason = models.CharField(_("reason"), max_length=300)
    at = models.DateTimeField(_("time"))
    by = _staff_fk(_("by"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "complaint__store_id"

    class Meta:
        verbose_name = _("complaint transfer")
        verbose_name_plural = _("complaint transfers")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.from_owner_id} → {self.to_owner_id}"


class ComplaintEscalation(models.Model):
    """A breached complaint clock, escalated once: the first breached clock of a complaint goes to the store
    manager, every later one to the group.  Unique per (complaint, clock), so a rerun sends nothing."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="escalations"
    )
    clock = models.CharField(_("clock"), max_length=12, choices=ComplaintClock.choices)
    level = models.CharField(_("escalated to"), max_length=8, choices=EscalationLevel.choices)
    due_at = models.DateTimeField(_("was due at"))
    at = models.DateTimeField(_("escalated at"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "complaint__store_id"

    class Meta:
        verbose_name = _("complaint escalation")
        verbose_name_plural = _("complaint escalations")
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["complaint", "clock"], name="complaint_escalation_once")]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.clock} → {self.level}"


# ------------------------------------------------------------------------------------------- suggestions


class Suggestion(BaseModel):
    """A suggestion (建议): decided (adopt or not) within `suggestion_decision_working_days` working days of
    receipt on China's official calendar and the store's closed days, and the customer told."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="suggestions"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=FeedbackChannel.choices)
    description = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=8, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN, db_index=True
    )
    received_at = models.DateTimeField(_("received at"), db_index=True)
    logged_at = models.DateTimeField(_("logged at"))
    logged_by = _staff_fk(_("logged by"))
    decision_due = models.DateTimeField(_("decide by"))
    decision = models.CharField(_("decision"), max_length=12, choices=SuggestionDecision.choices, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = _staff_fk(_("decided by"))
    customer_told_at = models.DateTimeField(_("customer told at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # As on a complaint: unique per source in the dealer group.
    external_source = models.CharField(_("external source"), max_length=40, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["updated_at"], name="feedback_suggestion_upd_idx")]  # API sync
        constraints = [
            models.CheckConstraint(condition=Q(logged_at__gte=models.F("received_at")), name="suggestion_logged_after"),
            models.UniqueConstraint(
                fields=["store", "external_source", "external_ref"],
                condition=~Q(external_ref=""),
                name="suggestion_external_ref_unique_per_store",
            ),
            models.CheckConstraint(
                condition=Q(external_ref="", external_source="") | (~Q(external_ref="") & ~Q(external_source="")),
                name="suggestion_external_ref_with_source",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.description[:30]}"


# ------------------------------------------------------------------------------------------------- CAPA


class Capa(BaseModel):
    """A corrective and preventive action (CAPA, 纠正预防措施), opened by a manager from one complaint, from a
    frequent-issue cluster (a category in a month) or from a KPI's early warning: root cause, actions,
    verification with a KPI's figure before and after, and the standard-procedure change."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=CapaStatus.choices, default=CapaStatus.OPEN)
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("from complaint"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="capas",
    )
    cluster_category = models.CharField(
        _("frequent-issue category"), max_length=12, choices=ComplaintCategory.choices, blank=True
    )
    cluster_month = models.DateField(_("frequent-issue month"), null=True, blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    kpi_name = models.CharField(_("KPI used to verify"), max_length=80, blank=True)
    kpi_before = models.DecimalField(_("KPI before"), max_digits=12, decimal_places=2, null=True, blank=True)
    kpi_after = models.DecimalField(_("KPI after"), max_digits=12, decimal_places=2, null=True, blank=True)
    # The catalogue KPI (analytics) the CAPA is verified with: set when it was opened from an early warning or
    # when its verification was recorded from the catalogue, with the periods the figures are of.  Without a
    # key, `kpi_name` and the figures are a measure outside the catalogue typed by the manager (older CAPAs).
    kpi_key = models.CharField(_("catalogue KPI"), max_length=64, blank=True)
    kpi_before_period = models.CharField(_("period before"), max_length=8, blank=True)
    kpi_after_period = models.CharField(_("period after"), max_length=8, blank=True)
    kpi_verified_at = models.DateTimeField(_("verified from the catalogue at"), null=True, blank=True)
    procedure_change = models.TextField(_("standard-procedure change"), blank=True)
    # The new version of the standard operating procedure the CAPA drafted: closing the CAPA (a manager's move)
    # approves and publishes it, so the procedure really changes (流程固化).  The version lists its CAPAs back.
    procedure_version = models.ForeignKey(
        "standards.ProcedureVersion",
        verbose_name=_("new procedure version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="capas",
    )
    # Opened from audit findings (the audits app, a layer above, links its findings to the CAPA): which ones.
    findings_ref = models.CharField(_("from audit findings"), max_length=200, blank=True)
    opened_by = _staff_fk(_("opened by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("CAPA")
        verbose_name_plural = _("CAPAs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["updated_at"], name="feedback_capa_upd_idx")]  # API sync: updated_since
        constraints = [
            models.CheckConstraint(
                condition=Q(complaint__isnull=False)
                | (~Q(cluster_category="") & Q(cluster_month__isnull=False))
                | ~Q(kpi_key="")
                | ~Q(findings_ref=""),
                name="capa_has_a_source",
            )
        ]

    def __str__(self) -> str:
        return self.title


class CapaAction(BaseModel):
    """One corrective action of a CAPA, with its owner and due date."""

    capa = models.ForeignKey(Capa, verbose_name=_("CAPA"), on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(_("action"), max_length=300)
    owner = _staff_fk(_("owner"))
    due_date = models.DateField(_("due date"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # When the owner was told the action fell due undone (once; the sweep claims it by setting this).
    due_alerted_at = models.DateTimeField(_("owner alerted at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "capa__store_id"

    class Meta:
        verbose_name = _("CAPA action")
        verbose_name_plural = _("CAPA actions")
        ordering = ["capa", "due_date", "id"]

    def __str__(self) -> str:
        return self.description


class CapaEvent(models.Model):
    """One state change of a CAPA."""

    capa = models.ForeignKey(Capa, verbose_name=_("CAPA"), on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=12, choices=CapaStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=CapaStatus.choices)
    at = models.DateTimeField(_("time"))
    by = _staff_fk(_("by"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "capa__store_id"

    class Meta:
        verbose_name = _("CAPA event")
        verbose_name_plural = _("CAPA events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.capa_id}: {self.from_status} → {self.to_status}"
