"""Forms of the service pages: they check shape; services decide and write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core import clock
from aftersales.core.forms import StyledForm
from aftersales.customers import crypto
from aftersales.customers import services as customer_services
from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.validators import normalize_mobile, normalize_plate
from aftersales.organisation.models import Store
from aftersales.service import services
from aftersales.service.choices import ServiceType
from aftersales.service.models import Appointment


class _ServiceErrors:
    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]

    def chosen_day(self) -> dt.date:
        raw = self.data.get("day") if self.is_bound else self.initial.get("day")  # type: ignore[attr-defined]
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            return clock.today() + dt.timedelta(days=1)


def _aware(raw: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(raw)
    return value if timezone.is_aware(value) else timezone.make_aware(value)


class SlotField(forms.CharField):
    """The chosen slot's start, sent as an ISO 8601 time with its offset."""

    def to_python(self, value: Any) -> dt.datetime | None:
        value = super().to_python(value)
        if not value:
            return None
        try:
            return _aware(value)
        except ValueError as exc:
            raise ValidationError(_("Choose a time from the list.")) from exc


class RescheduleForm(_ServiceErrors, StyledForm):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    start = SlotField(label=_("Time"), widget=forms.HiddenInput)

    def __init__(self, *args: Any, store: Store, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_start(self) -> dt.datetime:
        start = self.cleaned_data.get("start")
        if start is None:
            raise ValidationError(_("Choose a time from the list."))
        return start


class CustomerBookingForm(RescheduleForm):
    service_type = forms.ChoiceField(label=_("Service"), choices=ServiceType.choices, widget=forms.RadioSelect)
    name = forms.CharField(label=_("Your name"), max_length=60)
    phone = forms.CharField(label=_("Mobile"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    plate = forms.CharField(label=_("Plate"), max_length=12)
    vin = forms.CharField(
        label=_("VIN (on your vehicle licence, only for a car new to us)"), max_length=20, required=False
    )
    model_name = forms.CharField(label=_("Brand and model (only for a car new to us)"), max_length=60, required=False)
    customer_words = forms.CharField(
        label=_("What should we look at?"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    pickup = forms.BooleanField(label=_("Pick my car up and bring it back"), required=False)
    pickup_address = forms.CharField(label=_("Pick-up address"), max_length=200, required=False)
    pickup_from = forms.TimeField(
        label=_("Pick-up from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    pickup_to = forms.TimeField(
        label=_("Pick-up until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    consent_surveys = forms.BooleanField(label=_("You may ask me about my satisfaction afterwards"), required=False)
    consent_marketing = forms.BooleanField(label=_("You may send me care offers and reminders"), required=False)

    def clean_phone(self) -> str:
        try:
            return normalize_mobile(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    def clean_plate(self) -> str:
        try:
            return normalize_plate(self.cleaned_data["plate"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    @transaction.atomic
    def book(self, *, channel: str) -> Appointment:
        """Find or register the customer and the car, then book; all or nothing."""
        data = self.cleaned_data
        customer = Customer.objects.filter(
            store=self.store, phone_hash=crypto.search_hash("phone", data["phone"])
        ).first()
        consents = {}
        if data["consent_surveys"]:
            consents["surveys"] = True
        if data["consent_marketing"]:
            consents["marketing"] = True
        if customer is None:
            customer = customer_services.customer_create(
                store=self.store,
                by=None,
                name=data["name"],
                phone=data["phone"],
                consents=consents,
                consent_channel=ConsentChannel.CUSTOMER_LINK,
            )
        else:
            for purpose, granted in consents.items():
                customer_services.consent_set(
                    customer=customer, purpose=purpose, granted=granted, channel=ConsentChannel.CUSTOMER_LINK, by=None
                )
        vehicle = Vehicle.objects.filter(store=self.store, customer=customer, plate=data["plate"]).first()
        if vehicle is None:
            if Vehicle.objects.filter(store=self.store, plate=data["plate"]).exists():
                raise ValidationError({"plate": [_("This plate is registered to another customer; please call us.")]})
            if not data["vin"] or not data["model_name"]:
                raise ValidationError({"vin": [_("For a car new to us, enter its VIN and model.")]})
            brand, _sep, model = data["model_name"].partition(" ")
            vehicle = customer_services.vehicle_create(
                customer=customer, by=None, vin=data["vin"], plate=data["plate"], brand=brand, model_name=model or brand
            )
        pickup: dict[str, Any] = {}
        if data["pickup"]:
            day = data["start"].date() if data.get("start") else self.chosen_day()
            tz = timezone.get_current_timezone()
            pickup = {
                "pickup_address": data["pickup_address"],
                "pickup_from": dt.datetime.combine(day, data["pickup_from"], tzinfo=tz)
                if data["pickup_from"]
                else None,
                "pickup_to": dt.datetime.combine(day, data["pickup_to"], tzinfo=tz) if data["pickup_to"] else None,
            }
            if not data["pickup_address"]:
                pickup["pickup_address"] = ""
                raise ValidationError({"pickup_address": [_("Enter the address where the car is picked up.")]})
        return services.appointment_book(
            store=self.store,
            start=data["start"],
            service_type=data["service_type"],
            channel=channel,
            customer=customer,
            vehicle=vehicle,
            customer_words=data["customer_words"],
            **pickup,
        )
