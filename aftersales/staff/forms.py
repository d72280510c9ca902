"""The forms of a technician's page: record a grade, a certificate, a training course.  The services validate
again (and name the field); a refused form writes nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.organisation.choices import TechnicianGrade
from aftersales.staff.choices import CertificateKind, TrainingResult
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord

_G = GradeRecord._meta
_C = Certificate._meta
_T = TrainingRecord._meta
DATE = forms.DateInput(attrs={"type": "date"})


def _label(meta: Any, name: str) -> Any:
    return meta.get_field(name).verbose_name


class _ServiceErrors:
    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]


class GradeForm(_ServiceErrors, StyledForm):
    prefix = "grade"
    grade = forms.ChoiceField(label=_label(_G, "grade"), choices=TechnicianGrade.choices)
    effective_from = forms.DateField(label=_label(_G, "effective_from"), widget=DATE, validators=[dates.HAPPENED])
    evidence = forms.CharField(label=_label(_G, "evidence"), max_length=60, required=False)
    note = forms.CharField(label=_label(_G, "note"), max_length=200, required=False)


class CertificateForm(_ServiceErrors, StyledForm):
    prefix = "certificate"
    kind = forms.ChoiceField(label=_label(_C, "kind"), choices=CertificateKind.choices)
    name = forms.CharField(
        label=_label(_C, "name"), max_length=80, required=False, help_text=_("Only for another certificate.")
    )
    number = forms.CharField(label=_label(_C, "number"), max_length=60)
    issuer = forms.CharField(label=_label(_C, "issuer"), max_length=80)
    issued_on = forms.DateField(label=_label(_C, "issued_on"), widget=DATE, validators=[dates.HAPPENED])
    expires_on = forms.DateField(label=_label(_C, "expires_on"), widget=DATE, required=False)
    scan = forms.FileField(label=_label(_C, "scan"), required=False)


class TrainingForm(_ServiceErrors, StyledForm):
    prefix = "training"
    course = forms.CharField(label=_label(_T, "course"), max_length=120)
    hours = forms.DecimalField(label=_label(_T, "hours"), min_value=0.5, max_value=999, max_digits=4, decimal_places=1)
    finished_on = forms.DateField(label=_label(_T, "finished_on"), widget=DATE, validators=[dates.HAPPENED])
    result = forms.ChoiceField(label=_label(_T, "result"), choices=TrainingResult.choices)
    score = forms.IntegerField(label=_label(_T, "score"), min_value=0, max_value=100, required=False)
