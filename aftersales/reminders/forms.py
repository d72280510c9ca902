"""The service-interval rule form (the snooze takes one number and needs no form)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from aftersales.core.forms import StyledForm
from aftersales.reminders.choices import IntervalScope
from aftersales.reminders.models import ServiceInterval

_F = ServiceInterval._meta


class ServiceIntervalForm(StyledForm):
    scope = forms.ChoiceField(label=_F.get_field("scope").verbose_name, choices=IntervalScope.choices)
    brand = forms.CharField(label=_F.get_field("brand").verbose_name, max_length=40, required=False)
    model_pattern = forms.CharField(label=_F.get_field("model_pattern").verbose_name, max_length=60, required=False)
    every_km = forms.IntegerField(label=_F.get_field("every_km").verbose_name, min_value=1000, max_value=100_000)
    every_months = forms.IntegerField(label=_F.get_field("every_months").verbose_name, min_value=1, max_value=60)
    first_km = forms.IntegerField(label=_F.get_field("first_km").verbose_name, min_value=500, max_value=100_000)
    first_months = forms.IntegerField(label=_F.get_field("first_months").verbose_name, min_value=1, max_value=60)

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
