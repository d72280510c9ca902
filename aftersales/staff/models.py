"""Staff qualifications (SPEC §7, layer 3): each technician's grade history, certificates and training records.

The records belong to the person, not to a store: a technician who works in two stores of a group has one
history.  Who may read or write them follows the person's technician memberships (`selectors.people_for`).
Written only by `staff.services`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.organisation.choices import TechnicianGrade
from aftersales.staff.choices import CertificateKind, TrainingResult


class GradeRecord(BaseModel):
    """A grade a person holds from a day on; the grade on a day is the latest record effective by then."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.CASCADE, related_name="grade_records"
    )
    grade = models.CharField(_("technician grade"), max_length=20, choices=TechnicianGrade.choices)
    effective_from = models.DateField(_("effective from"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    evidence = models.CharField(
        _("evidence"), max_length=60, blank=True, help_text=_("The vocational qualification certificate number.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("grade record")
        verbose_name_plural = _("grade records")
        ordering = ["user", "-effective_from", "-id"]
        indexes = [models.Index(fields=["user", "effective_from"], name="staff_grade_user_day_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.grade} from {self.effective_from}"


class Certificate(BaseModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.CASCADE, related_name="certificates"
    )
    kind = models.CharField(_("certificate kind"), max_length=20, choices=CertificateKind.choices)
    name = models.CharField(_("certificate name"), max_length=80, blank=True, help_text=_("For another certificate."))
    number = models.CharField(_("certificate number"), max_length=60)
    issuer = models.CharField(_("issuer"), max_length=80)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True, help_text=_("Empty: does not expire."))
    scan = models.FileField(_("scan"), upload_to="staff/certificates/%Y/%m/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["user", "kind", "-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="staff_certificate_kind_number_unique"),
        ]
        indexes = [models.Index(fields=["expires_on"], name="staff_certificate_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class TrainingRecord(BaseModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        on_delete=models.CASCADE,
        related_name="training_records",
    )
    course = models.CharField(_("course"), max_length=120)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    finished_on = models.DateField(_("finished on"))
    result = models.CharField(_("result"), max_length=10, choices=TrainingResult.choices)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True, help_text=_("0–100, when examined."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
        ordering = ["user", "-finished_on", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.course}"


class CertificateAlert(BaseModel):
    """The claim of one expiry alert (a certificate, a threshold in days): the sweep raises each once."""

    certificate = models.ForeignKey(
        Certificate, verbose_name=_("certificate"), on_delete=models.CASCADE, related_name="alerts"
    )
    store = models.ForeignKey("organisation.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    days_ahead = models.PositiveSmallIntegerField(_("days ahead"), help_text=_("0: the alert on expiry."))
    expires_on = models.DateField(_("expires on"))

    class Meta:
        verbose_name = _("certificate expiry alert")
        verbose_name_plural = _("certificate expiry alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "store", "days_ahead", "expires_on"], name="staff_certificate_alert_unique"
            ),
        ]
