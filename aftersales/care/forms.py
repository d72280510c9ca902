"""The care forms: the group's playbook and one line of the service-suggestion table."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from aftersales.care.models import CarePlaybook, SuggestionRule
from aftersales.core.forms import StyledForm

_P = CarePlaybook._meta
_R = SuggestionRule._meta


def _switch(name: str) -> forms.BooleanField:
    field: Any = _P.get_field(name)
    return forms.BooleanField(label=field.verbose_name, required=False)


def _text(name: str) -> forms.CharField:
    field: Any = _P.get_field(name)
    return forms.CharField(label=field.verbose_name, max_length=field.max_length)


class _ServiceErrors:
    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]


class PlaybookForm(_ServiceErrors, StyledForm):
    a_advisor = _switch("a_advisor")
    a_benefits = _switch("a_benefits")
    a_benefits_text = _text("a_benefits_text")
    b_suggestions = _switch("b_suggestions")
    b_upgrade = _switch("b_upgrade")
    b_upgrade_text = _text("b_upgrade_text")
    c_welcome = _switch("c_welcome")
    c_welcome_text = _text("c_welcome_text")
    d_recall = _switch("d_recall")
    d_call = _switch("d_call")
    d_win_back = _switch("d_win_back")


class SuggestionRuleForm(_ServiceErrors, StyledForm):
    item = forms.CharField(label=_R.get_field("item").verbose_name, max_length=60)
    at_km = forms.IntegerField(
        label=_R.get_field("at_km").verbose_name, min_value=1000, max_value=500_000, required=False
    )
    at_months = forms.IntegerField(
        label=_R.get_field("at_months").verbose_name, min_value=1, max_value=240, required=False
    )
    is_active = forms.BooleanField(label=_R.get_field("is_active").verbose_name, required=False, initial=True)
