"""The SOP library (SPEC §4 流程固化, issue 16): one standard operating procedure per step of the service process,
as the group's default or a store's variant, each with numbered versions (text, checklist items, effective date,
author, approver) and the staff's acknowledgements of each published version.

Where a step is done (the walk-around form, the QC checklist, the delivery card, the follow-up script) the items
come from the current version (`selectors.current_version`); without any version in the database the built-in
default of `defaults.py` stands in.  Written only by `standards.services`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.models import person_fk as _person
from aftersales.organisation.models import DealerGroup, Store
from aftersales.standards.choices import ProcedureStep, VersionStatus


class Procedure(BaseModel):
    """The SOP of one step: the group's default (no store) or one store's variant, which replaces the default in
    that store from its first published version on."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: the group's default for every store without its own variant."),
    )
    step = models.CharField(_("step"), max_length=12, choices=ProcedureStep.choices)
    code = models.CharField(_("code"), max_length=30, help_text=_("e.g. SOP-QC, or SOP-QC-SH01 for a store's variant"))
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        verbose_name = _("standard operating procedure")
        verbose_name_plural = _("standard operating procedures")
        ordering = ["group", "step", "store", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "step"], condition=Q(store__isnull=True), name="standards_one_default_per_step"
            ),
            models.UniqueConstraint(
                fields=["store", "step"], condition=Q(store__isnull=False), name="standards_one_variant_per_step"
            ),
            models.UniqueConstraint(fields=["group", "code"], name="standards_code_unique_in_group"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class ProcedureVersion(BaseModel):
    """One version of a procedure.  A draft may change; a published version never does (a change is a new
    version).  `effective_from` may lie ahead: the previous version stays current until that day."""

    procedure = models.ForeignKey(
        Procedure, verbose_name=_("procedure"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    text = models.TextField(_("procedure"), help_text=_("The procedure in words: who does what, when, and why."))
    text_en = models.TextField(_("procedure in English"), blank=True)
    change_note = models.CharField(_("what changed"), max_length=300, blank=True)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    author = _person(_("author"))
    approver = _person(_("approved by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("procedure version")
        verbose_name_plural = _("procedure versions")
        ordering = ["procedure", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="standards_version_number_unique"),
            models.CheckConstraint(
                condition=Q(status=VersionStatus.DRAFT)
                | (Q(effective_from__isnull=False) & Q(published_at__isnull=False) & Q(approver__isnull=False)),
                name="standards_published_is_approved",
            ),
        ]
        indexes = [models.Index(fields=["procedure", "status", "effective_from"], name="standards_current_idx")]

    def __str__(self) -> str:
        return f"{self.procedure.code} v{self.number}"

    @property
    def body(self) -> str:
        """The procedure in the reader's language: the English text when there is one and English is active."""
        if self.text_en and (get_language() or "").startswith("en"):
            return self.text_en
        return self.text


class ProcedureItem(models.Model):
    """One checklist item of a version.  `key` is stable from version to version (the QC checklist records its
    ticks by key); `customer_facing` items are what a mystery shopper scores."""

    version = models.ForeignKey(
        ProcedureVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    key = models.SlugField(_("key"), max_length=40)
    text = models.CharField(_("item"), max_length=300)
    text_en = models.CharField(_("item in English"), max_length=300, blank=True)
    customer_facing = models.BooleanField(_("the customer sees it"), default=False)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["version", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="standards_item_key_unique")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The item in the reader's language: the English wording when there is one and English is active."""
        if self.text_en and (get_language() or "").startswith("en"):
            return self.text_en
        return self.text


class Acknowledgement(models.Model):
    """A member of staff affected by a published version is asked to read it (through their inbox, when it is
    published) and acknowledges it; the share acknowledged is one of the quality numbers."""

    version = models.ForeignKey(
        ProcedureVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="+"
    )
    asked_at = models.DateTimeField(_("asked at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        ordering = ["version", "user"]
        indexes = [models.Index(fields=["user", "acknowledged_at"], name="standards_ack_pending_idx")]
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="standards_ack_once")]

    def __str__(self) -> str:
        return f"{self.version_id} {self.user_id}"
