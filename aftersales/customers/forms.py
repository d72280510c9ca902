"""Forms check the shape of input; the services do the business validation and the writing."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.core.forms import StyledForm
from aftersales.customers.choices import ConsentChannel, ConsentPurpose, Gender, Powertrain


class CustomerForm(StyledForm):
    store = forms.TypedChoiceField(label=_("Store"), coerce=int, required=False)
    name = forms.CharField(label=_("Name"), max_length=60)
    phone = forms.CharField(
        label=_("Mobile"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"})
    )
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, required=False)
    birthday = forms.CharField(label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    is_priority = forms.BooleanField(label=_("Priority lane (tier A)"), required=False)
    referred_by_phone = forms.CharField(
        label=_("Referred by (customer's mobile)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    referred_by_staff = forms.CharField(label=_("Referred by (staff username)"), max_length=150, required=False)

    def __init__(
        self,
        *args: object,
        store_choices: list[tuple[int, str]] | None = None,
        personal_optional: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        if personal_optional:  # editing: who referred the customer is recorded at registration only
            del self.fields["referred_by_phone"], self.fields["referred_by_staff"]
        if store_choices and len(store_choices) > 1:
            self.fields["store"].choices = store_choices
            self.fields["store"].required = True
        else:
            del self.fields["store"]
        if personal_optional:
            # On edit, an empty personal field means "unchanged": the form never shows the clear value.
            for name in ("phone", "id_number", "address"):
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave empty to keep the current value.")


class ConsentForm(StyledForm):
    """One consent question, answered by the customer. Nothing is pre-selected."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label=_("Answer"),
        choices=[("yes", _("Agrees")), ("no", _("Refuses"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    channel = forms.ChoiceField(label=_("How the customer answered"), choices=ConsentChannel.choices)


class NewCustomerConsentForm(StyledForm):
    """Consents asked when a customer is registered: three explicit answers, none ticked in advance."""

    ANSWERS = [("", _("Not asked")), ("yes", _("Agrees")), ("no", _("Refuses"))]
    marketing = forms.ChoiceField(label=ConsentPurpose.MARKETING.label, choices=ANSWERS, required=False)
    surveys = forms.ChoiceField(label=ConsentPurpose.SURVEYS.label, choices=ANSWERS, required=False)
    vehicle_data = forms.ChoiceField(label=ConsentPurpose.VEHICLE_DATA.label, choices=ANSWERS, required=False)
    consent_channel = forms.ChoiceField(
        label=_("How the customer answered"), choices=ConsentChannel.choices, initial=ConsentChannel.DESK
    )

    def answers(self) -> dict[str, bool]:
        return {p: self.cleaned_data[p] == "yes" for p in ConsentPurpose.values if self.cleaned_data.get(p)}


class VehicleForm(StyledForm):
    vin = forms.CharField(label=_("VIN"), max_length=20)
    plate = forms.CharField(label=_("Plate"), max_length=12, required=False)
    brand = forms.CharField(label=_("Brand"), max_length=40)
    model_name = forms.CharField(label=_("Model"), max_length=60)
    powertrain = forms.ChoiceField(label=_("Powertrain"), choices=Powertrain.choices)
    purchase_date = forms.CharField(
        label=_("Purchase date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    purchase_price = forms.CharField(
        label=_("Purchase price (CNY)"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    mileage_km = forms.CharField(
        label=_("Mileage (km)"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    insurance_expires_on = forms.CharField(
        label=_("Insurance expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    inspection_due_on = forms.CharField(
        label=_("Annual inspection due on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def apply_errors(form: forms.Form, error_dict: dict[str, list[str]]) -> None:
    """Put a service's field errors on the form; errors for fields the form lacks go to the top."""
    for field, messages in error_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
