"""The telematics forms: one line of a group's alert-rule table."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from aftersales.core.forms import StyledForm
from aftersales.telematics.choices import RuleAction, RuleKind
from aftersales.telematics.models import AlertRule

_R = AlertRule._meta


class AlertRuleForm(StyledForm):
    kind = forms.ChoiceField(label=_R.get_field("kind").verbose_name, choices=RuleKind.choices)
    threshold = forms.DecimalField(
        label=_R.get_field("threshold").verbose_name,
        required=False,
        min_value=0,
        max_value=100_000,
        max_digits=7,
        decimal_places=1,
    )
    dtc_prefix = forms.CharField(
        label=_R.get_field("dtc_prefix").verbose_name,
        required=False,
        max_length=7,
        help_text=_R.get_field("dtc_prefix").help_text,
    )
    action = forms.ChoiceField(label=_R.get_field("action").verbose_name, choices=RuleAction.choices)
    is_active = forms.BooleanField(label=_R.get_field("is_active").verbose_name, required=False, initial=True)

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
