"""The campaign form: shape only (the service checks the rules and names the bad field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.campaigns.choices import CampaignPurpose
from aftersales.campaigns.services import MARKETING_ONLY, CampaignInput
from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.customers.choices import Tier

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
AUDIENCE_FIELDS = (
    "tiers",
    "nev",
    "model_contains",
    "last_visit_from",
    "last_visit_to",
    "mileage_min",
    "mileage_max",
    "open_deferred",
)
NEV = [("", _("Any vehicle")), ("nev", _("New-energy (NEV) only")), ("non_nev", _("Not NEV"))]
TEXT_HELP = _("Put {link} where the personal booking link goes. Marketing messages get the opt-out added.")


class CampaignForm(StyledForm):
    store = forms.TypedChoiceField(label=_("Store"), coerce=int)
    name = forms.CharField(label=_("Campaign name"), max_length=120)
    # Marketing is the only choice (services.MARKETING_ONLY says why); anything else is refused on the field.
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=CampaignPurpose.choices,
        initial=CampaignPurpose.MARKETING,
        error_messages={"invalid_choice": MARKETING_ONLY},
    )
    tiers = forms.MultipleChoiceField(
        label=_("Tiers"),
        choices=Tier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    nev = forms.ChoiceField(label=_("Vehicle type"), choices=NEV, required=False)
    model_contains = forms.CharField(label=_("Model contains"), max_length=60, required=False)
    last_visit_from = forms.DateField(
        label=_("Last visit from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    last_visit_to = forms.DateField(
        label=_("Last visit to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    mileage_min = forms.IntegerField(label=_("Mileage from (km)"), required=False, min_value=0)
    mileage_max = forms.IntegerField(label=_("Mileage to (km)"), required=False, min_value=0)
    open_deferred = forms.BooleanField(
        label=_("Has declined work still open"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    text_zh = forms.CharField(
        label=_("Message (Chinese)"), widget=forms.Textarea(attrs={"rows": 3}), help_text=TEXT_HELP
    )
    text_en = forms.CharField(label=_("Message (English)"), widget=forms.Textarea(attrs={"rows": 3}))
    scheduled_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        validators=[dates.PLANNED],
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = stores
        if len(stores) == 1:
            self.fields["store"].widget = forms.HiddenInput()
            self.fields["store"].initial = stores[0][0]

    def audience(self) -> dict[str, Any]:
        data = self.cleaned_data
        raw = {key: data.get(key) for key in AUDIENCE_FIELDS}
        for key in ("last_visit_from", "last_visit_to"):
            raw[key] = raw[key].isoformat() if raw[key] else None
        return raw

    def as_input(self) -> CampaignInput:
        data = self.cleaned_data
        return CampaignInput(
            name=data["name"],
            purpose=data["purpose"],
            audience=self.audience(),
            text_zh=data["text_zh"],
            text_en=data["text_en"],
            scheduled_at=data.get("scheduled_at"),
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """The service's errors next to their fields ("audience.tiers" → tiers)."""
        for key, messages in errors.items():
            name = key.removeprefix("audience.")
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


def initial_from(campaign: Any) -> dict[str, Any]:
    audience = dict(campaign.audience or {})
    return {
        "store": campaign.store_id,
        "name": campaign.name,
        "purpose": campaign.purpose,
        "text_zh": campaign.text_zh,
        "text_en": campaign.text_en,
        "scheduled_at": campaign.scheduled_at,
        **{key: audience.get(key) for key in AUDIENCE_FIELDS},
    }
