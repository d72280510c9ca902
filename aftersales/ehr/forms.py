"""The endpoint form of the e-health page (the secret is write-only: empty keeps the stored one)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core.forms import StyledForm
from aftersales.ehr.choices import AdapterKind

SCOPE_STORE, SCOPE_GROUP = "store", "group"


class EndpointForm(StyledForm):
    scope = forms.ChoiceField(
        label=_("Applies to"), choices=[(SCOPE_STORE, _("This store")), (SCOPE_GROUP, _("The whole group"))]
    )
    kind = forms.ChoiceField(label=_("Endpoint shape"), choices=AdapterKind.choices)
    token_url = forms.URLField(label=_("Token URL"), max_length=300, assume_scheme="https")
    record_url = forms.URLField(
        label=_("Record URL"), max_length=300, assume_scheme="https", help_text=_("For a batch endpoint: its URL.")
    )
    company_code = forms.CharField(label=_("Repair business code"), max_length=40)
    client_id = forms.CharField(label=_("Platform account"), max_length=80)
    secret = forms.CharField(
        label=_("Platform secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Never shown again. Leave empty to keep the stored one."),
    )
    enabled = forms.BooleanField(label=_("Upload settled orders"), required=False, initial=True)

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
