"""The parts clerk's forms.  Quantities and money stay text here: the services parse them and name the field."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core.forms import StyledForm
from aftersales.parts.choices import PartCategory
from aftersales.parts.models import Batch, Part, Stock

_B, _P, _S = Batch._meta, Part._meta, Stock._meta


class ServiceErrors:
    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]


def _scan_field() -> forms.CharField:
    # A barcode scanner types the code and Enter; the phone's keyboard stays plain text (codes have letters).
    return forms.CharField(
        label=_("Part code or barcode"),
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "enterkeyhint": "go"}),
    )


class ReceiveForm(ServiceErrors, StyledForm):
    code = _scan_field()
    quantity = forms.CharField(
        label=_B.get_field("quantity").verbose_name,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    batch_number = forms.CharField(label=_B.get_field("batch_number").verbose_name, max_length=40)
    supplier = forms.CharField(label=_B.get_field("supplier").verbose_name, max_length=120)
    source_voucher = forms.CharField(label=_B.get_field("source_voucher").verbose_name, max_length=60)
    unit_cost = forms.CharField(
        label=_B.get_field("unit_cost").verbose_name,
        max_length=14,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    received_on = forms.DateField(
        label=_B.get_field("received_on").verbose_name,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    manufacturer = forms.CharField(label=_B.get_field("manufacturer").verbose_name, max_length=120, required=False)
    production_date = forms.DateField(
        label=_B.get_field("production_date").verbose_name,
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    warranty_months = forms.IntegerField(
        label=_B.get_field("warranty_months").verbose_name, required=False, min_value=0, max_value=120
    )
    certificate_checked = forms.BooleanField(label=_("Product certificate (合格证) checked"), required=False)


class PartForm(ServiceErrors, StyledForm):
    code = forms.CharField(label=_P.get_field("code").verbose_name, max_length=40)
    name = forms.CharField(label=_P.get_field("name").verbose_name, max_length=120)
    category = forms.ChoiceField(label=_P.get_field("category").verbose_name, choices=PartCategory.choices)
    spec = forms.CharField(label=_P.get_field("spec").verbose_name, max_length=120, required=False)
    brand = forms.CharField(label=_P.get_field("brand").verbose_name, max_length=60, required=False)
    manufacturer = forms.CharField(label=_P.get_field("manufacturer").verbose_name, max_length=120, required=False)
    barcode = forms.CharField(label=_P.get_field("barcode").verbose_name, max_length=64, required=False)
    unit = forms.CharField(label=_P.get_field("unit").verbose_name, max_length=8, initial="件")
    is_core = forms.BooleanField(label=_P.get_field("is_core").verbose_name, required=False)


class StockSettingsForm(ServiceErrors, StyledForm):
    safety_stock = forms.CharField(
        label=_S.get_field("safety_stock").verbose_name,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    bin_location = forms.CharField(label=_S.get_field("bin_location").verbose_name, max_length=20, required=False)


class StocktakeForm(ServiceErrors, StyledForm):
    counted = forms.CharField(
        label=_("Counted on the shelf"), max_length=12, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
