"""Forms of the service pages: they check shape; services decide and write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core import clock, dates
from aftersales.core.forms import StyledForm
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.validators import normalize_mobile, normalize_plate
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, Membership, Store
from aftersales.service.choices import (
    DAMAGE_KINDS,
    DAMAGE_ZONES,
    AttachmentPurpose,
    BookingChannel,
    DecisionChannel,
    LineDecision,
    LineKind,
    PartGrade,
    RepairOrderStatus,
    ServiceType,
)
from aftersales.service.services.pickups import DRIVER_ROLES, NOT_A_DRIVER
from aftersales.standards import selectors as standards_selectors


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
    day = forms.DateField(label=_("Day"), validators=[dates.PLANNED], widget=forms.DateInput(attrs={"type": "date"}))
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
    advisor = forms.CharField(label=_("Your advisor"), max_length=12, required=False)
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

    @staticmethod
    def parse_start(raw: str) -> dt.datetime | None:
        """The slot start a page sent, or None when it is missing or not a time."""
        try:
            return _aware(raw) if raw and len(raw) <= 40 else None
        except ValueError:
            return None

    def chosen_start(self) -> dt.datetime | None:
        return self.parse_start(str(self.data.get("start", ""))) if self.is_bound else None

    def clean_advisor(self) -> Any:
        """Empty is "no preference"; whether the person is an advisor of the store is the booking service's
        decision (it names this field when not)."""
        raw = self.cleaned_data["advisor"].strip()
        if not raw:
            return None
        advisor = get_user_model().objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if advisor is None:
            raise ValidationError(_("Choose an advisor from the list, or no preference."))
        return advisor

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("pickup") and not data.get("pickup_address"):
            self.add_error("pickup_address", _("Enter the address where the car is picked up."))
        return data

    def booking_kwargs(self) -> dict[str, Any]:
        """The cleaned answers as `services.appointment_book_for_visitor` takes them."""
        data = self.cleaned_data
        # One field for brand and model on a phone: the first word is the brand.
        brand, _sep, model = data["model_name"].partition(" ")
        kwargs: dict[str, Any] = {
            "start": data["start"],
            "service_type": data["service_type"],
            "customer_words": data["customer_words"],
            "name": data["name"],
            "phone": data["phone"],
            "plate": data["plate"],
            "vin": data["vin"],
            "brand": brand,
            "model_name": model or brand,
            # Only the purposes the customer ticked: an unticked box is no answer, not a withdrawal.
            "consents": {purpose: True for purpose in ("surveys", "marketing") if data[f"consent_{purpose}"]},
            "advisor": data["advisor"],
        }
        if data["pickup"]:
            day = timezone.localtime(data["start"]).date()
            tz = timezone.get_current_timezone()
            kwargs["pickup_address"] = data["pickup_address"]
            for key in ("pickup_from", "pickup_to"):
                kwargs[key] = dt.datetime.combine(day, data[key], tzinfo=tz) if data[key] else None
        return kwargs


# ---------------------------------------------------------------------------------------------------------
# Staff pages (advisor desk, workshop, foreman).  Choices of people and bays are read once per form.
# ---------------------------------------------------------------------------------------------------------


STAFF_CHANNELS = [
    (BookingChannel.PHONE, BookingChannel.PHONE.label),
    (BookingChannel.WECHAT, BookingChannel.WECHAT.label),
    (BookingChannel.WALK_IN, BookingChannel.WALK_IN.label),
    (BookingChannel.ONLINE, BookingChannel.ONLINE.label),
]


def staff_choices(store_ids: set[int] | frozenset[int], roles: list[str] | None = None) -> dict[int, list[tuple]]:
    """{store_id: [(user_id, "Name · role · grade"), …]} in one query, for selects of people."""
    memberships = Membership.objects.filter(store_id__in=list(store_ids), user__is_active=True).select_related(
        "user__staff_profile"
    )
    if roles:
        memberships = memberships.filter(role__in=roles)
    result: dict[int, list[tuple]] = {sid: [] for sid in store_ids}
    seen: set[tuple[int, int]] = set()
    for membership in memberships.order_by("user__staff_profile__display_name", "user_id"):
        if (membership.store_id, membership.user_id) in seen:
            continue
        seen.add((membership.store_id, membership.user_id))
        profile = getattr(membership.user, "staff_profile", None)
        name = profile.display_name if profile else membership.user.get_username()
        label = f"{name} · {membership.get_role_display()}"
        if profile and profile.technician_grade:
            label += f" · {TechnicianGrade(profile.technician_grade).label}"
        result.setdefault(membership.store_id, []).append((membership.user_id, label))
    return result


def _staff_member(store: Store, user_id: Any, roles: list[str] | None = None) -> Any:
    members = Membership.objects.filter(store=store, user_id=user_id)
    if roles:
        members = members.filter(role__in=roles)
    if not str(user_id).isdigit() or not members.exists():
        return None
    return get_user_model().objects.select_related("staff_profile").filter(pk=user_id).first()


class StoreChoiceMixin:
    """Adds a store select when the user may act in several stores (and no store is chosen)."""

    def add_store_field(self, stores: list[Store]) -> None:
        self.stores = stores
        if len(stores) > 1:
            self.fields = {  # type: ignore[has-type]
                "store": forms.TypedChoiceField(label=_("Store"), choices=[(s.pk, s.name) for s in stores], coerce=int),
                **self.fields,  # type: ignore[has-type]
            }

    def chosen_store(self) -> Store:
        if len(self.stores) == 1:
            return self.stores[0]
        return next(s for s in self.stores if s.pk == self.cleaned_data["store"])  # type: ignore[attr-defined]


def _category_choices(store: Store | None) -> list[tuple[str, str]]:
    from aftersales.service.services.facts import concern_categories_for

    categories = concern_categories_for(store) if store is not None else []
    return [("", "—"), *[(c.code, c.name) for c in categories]]


class ArrivalFactsMixin:
    """The facts entered at registration (KPIS.md): the real arrival (default now, at most 12 h back), whether
    the one registering is the advisor taking the customer now (off by default: a registered customer waits in the
    reception queue until an advisor starts the reception; ticked, the arrival must be entered — the service
    refuses it empty), whether the customer waits, and the concern category (by code)."""

    FACT_FIELDS = ("arrived_at", "receive", "waits_on_site", "concern_category")

    def add_fact_fields(self, store: Store | None) -> None:
        fields = self.fields  # type: ignore[attr-defined]
        fields["arrived_at"] = forms.DateTimeField(
            label=_("Customer arrived at"),
            required=False,
            help_text=_(
                "When the customer came in: empty means now; may be earlier (at most 12 hours), never in the future."
            ),
            widget=forms.DateTimeInput(
                attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
            ),
        )
        fields["receive"] = forms.BooleanField(
            label=_("I am the advisor receiving the customer now"),
            required=False,
            initial=False,
            help_text=_(
                "Then enter when the customer came in. Otherwise the customer waits in the reception queue until an "
                "advisor presses “Start the reception”."
            ),
        )
        fields["waits_on_site"] = forms.BooleanField(label=_("The customer waits on site"), required=False)
        fields["concern_category"] = forms.ChoiceField(
            label=_("Concern category"),
            required=False,
            choices=_category_choices(store),
            widget=forms.Select(attrs={"class": "form-select"}),
        )

    def fact_values(self) -> dict[str, Any]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        return {
            "arrived_at": data.get("arrived_at"),
            "receive": bool(data.get("receive")),
            "waits_on_site": bool(data.get("waits_on_site")),
            "concern_category": data.get("concern_category") or "",
        }


class CheckInForm(ArrivalFactsMixin, _ServiceErrors, StyledForm):
    """The check-in of a booked car with its arrival facts (the one-click button sends none: arrival now, the
    customer waits in the reception queue until an advisor starts the reception)."""

    def __init__(self, *args: Any, store: Store, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_fact_fields(store)


class OrderFactsForm(ArrivalFactsMixin, _ServiceErrors, StyledForm):
    """Correct the reception facts on the order page (the arrival only while at reception)."""

    def __init__(self, *args: Any, store: Store, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_fact_fields(store)
        del self.fields["receive"]
        self.fields["arrived_at"].help_text = _("Only earlier, while at reception; empty keeps it.")


class WalkInForm(ArrivalFactsMixin, StoreChoiceMixin, _ServiceErrors, StyledForm):
    """Fast registration: the plate or the mobile first; the rest only for someone new."""

    plate = forms.CharField(label=_("Plate"), max_length=12, required=False)
    phone = forms.CharField(
        label=_("Mobile"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    service_type = forms.ChoiceField(label=_("Service"), choices=ServiceType.choices)
    customer_words = forms.CharField(
        label=_("What the customer says"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    name = forms.CharField(label=_("Name (new customer)"), max_length=60, required=False)
    vin = forms.CharField(label=_("VIN (new vehicle)"), max_length=20, required=False)
    brand = forms.CharField(label=_("Brand (new vehicle)"), max_length=40, required=False)
    model_name = forms.CharField(label=_("Model (new vehicle)"), max_length=60, required=False)

    def __init__(self, *args: Any, stores: list[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_store_field(stores)
        # The categories of the first store's group (a member's stores are of one group; the service checks).
        self.add_fact_fields(stores[0] if stores else None)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("plate") and not data.get("phone"):
            self.add_error("plate", _("Enter the plate or the customer's mobile number."))
        return data


class StaffBookingForm(_ServiceErrors, StyledForm):
    """A booking taken by staff (phone, WeChat, at the desk) for a known customer."""

    vehicle = forms.TypedChoiceField(label=_("Vehicle"), coerce=int)
    service_type = forms.ChoiceField(label=_("Service"), choices=ServiceType.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=STAFF_CHANNELS)
    advisor = forms.ChoiceField(label=_("Advisor (optional)"), required=False)
    day = forms.DateField(label=_("Day"), validators=[dates.PLANNED], widget=forms.DateInput(attrs={"type": "date"}))
    start = SlotField(label=_("Time"), required=False, widget=forms.HiddenInput)
    customer_words = forms.CharField(
        label=_("What the customer says"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    pickup_address = forms.CharField(label=_("Pick-up address (only for pick-up)"), max_length=200, required=False)
    pickup_from = forms.TimeField(
        label=_("Pick-up from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    pickup_to = forms.TimeField(
        label=_("Pick-up until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(
        self,
        *args: Any,
        customer: Customer,
        vehicles: list[Vehicle],
        advisors: list[tuple],
        store: Store | None = None,
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.customer = customer
        self.store = store or customer.store  # the store that books: a group customer may deal with several
        self.vehicles = {v.pk: v for v in vehicles}
        self.fields["vehicle"].choices = [(v.pk, f"{v.plate or v.vin} · {v.brand} {v.model_name}") for v in vehicles]
        self.fields["advisor"].choices = [("", _("Any advisor")), *advisors]

    def clean_start(self) -> dt.datetime:
        start = self.cleaned_data.get("start")
        if start is None:
            raise ValidationError(_("Choose a time from the list."))
        return start

    def clean_advisor(self) -> Any:
        raw = self.cleaned_data.get("advisor")
        if not raw:
            return None
        advisor = _staff_member(self.store, raw, [Role.ADVISOR])
        if advisor is None:
            raise ValidationError(_("This person is not an advisor of the store."))
        return advisor

    def booking_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        start = data["start"]
        tz = timezone.get_current_timezone()
        day = timezone.localtime(start).date()
        return {
            "store": self.store,
            "start": start,
            "service_type": data["service_type"],
            "channel": data["channel"],
            "customer": self.customer,
            "vehicle": self.vehicles[data["vehicle"]],
            "advisor": data["advisor"],
            "customer_words": data["customer_words"],
            "pickup_address": data["pickup_address"],
            "pickup_from": dt.datetime.combine(day, data["pickup_from"], tzinfo=tz) if data["pickup_from"] else None,
            "pickup_to": dt.datetime.combine(day, data["pickup_to"], tzinfo=tz) if data["pickup_to"] else None,
        }


class AppointmentCancelForm(_ServiceErrors, StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class DriverForm(_ServiceErrors, StyledForm):
    driver = forms.ChoiceField(label=_("Driver"))

    def __init__(self, *args: Any, store: Store, staff: list[tuple], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store = store
        self.fields["driver"].choices = [("", _("Choose…")), *staff]

    def clean_driver(self) -> Any:
        driver = _staff_member(self.store, self.cleaned_data["driver"], list(DRIVER_ROLES))
        if driver is None:
            raise ValidationError(_(NOT_A_DRIVER))
        return driver


class PickupMoveForm(_ServiceErrors, StyledForm):
    """A move of the driver's list: an optional photo of the car as it was handed over."""

    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


class SopChecklist:
    """Checkboxes for the items of a standard operating procedure's version (standards app), named
    `<prefix><key>`; `sop_ticks()` answers {key: ticked}.  Without items: the built-in default of `sop_step`."""

    sop_prefix = "sop_"
    sop_step = ""

    def add_sop_items(self, items: list[Any] | None) -> None:
        if items is None:
            version = standards_selectors.built_in_version(group_id=0, step=self.sop_step)
            items = standards_selectors.version_items(version)
        self.sop_keys = [item.key for item in items]
        for item in items:
            self.fields[f"{self.sop_prefix}{item.key}"] = forms.BooleanField(  # type: ignore[attr-defined]
                label=item.label, required=False
            )

    def sop_fields(self) -> list[Any]:
        return [self[f"{self.sop_prefix}{key}"] for key in self.sop_keys]  # type: ignore[index]

    def sop_ticks(self) -> dict[str, bool]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        return {key: bool(data.get(f"{self.sop_prefix}{key}")) for key in self.sop_keys}


class InspectionForm(SopChecklist, _ServiceErrors, StyledForm):
    """The walk-around: mileage, fuel or battery, damage marks per zone of the car, valuables, words, and the
    reception SOP's checklist."""

    sop_step = "reception"

    mileage_in = forms.IntegerField(label=_("Mileage (km)"), widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    fuel_level = forms.IntegerField(
        label=_("Fuel / battery level (%)"), widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 5})
    )
    valuables_reminded = forms.BooleanField(label=_("Customer reminded to take valuables"), required=False)
    customer_words = forms.CharField(
        label=_("The customer's words"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, items: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_sop_items(items)  # the reception SOP's items, ticked at the walk-around
        kinds = [("", "—"), *DAMAGE_KINDS]
        for zone, label in DAMAGE_ZONES:
            self.fields[f"damage_{zone}"] = forms.ChoiceField(
                label=label, choices=kinds, required=False, widget=forms.Select(attrs={"class": "form-select-sm"})
            )
            self.fields[f"damage_{zone}"].widget.attrs["class"] += " form-select"

    @classmethod
    def initial_for(cls, order: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "mileage_in": order.mileage_in,
            "fuel_level": order.fuel_level,
            "valuables_reminded": order.valuables_reminded,
            "customer_words": order.customer_words,
        }
        for mark in order.damage_marks or []:
            initial[f"damage_{mark.get('zone')}"] = mark.get("kind")
        for key, ticked in (order.reception_checklist or {}).items():
            initial[f"{cls.sop_prefix}{key}"] = bool(ticked)
        return initial

    def zone_fields(self) -> list[Any]:
        return [self[f"damage_{zone}"] for zone, _label in DAMAGE_ZONES]

    def plain_fields(self) -> list[Any]:
        return [self[name] for name in ("mileage_in", "fuel_level", "customer_words", "valuables_reminded")]

    def marks(self) -> list[dict[str, str]]:
        return [
            {"zone": zone, "kind": self.cleaned_data[f"damage_{zone}"]}
            for zone, _label in DAMAGE_ZONES
            if self.cleaned_data.get(f"damage_{zone}")
        ]


class AttachmentForm(_ServiceErrors, StyledForm):
    file = forms.FileField(
        label=_("Photo or short video"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,video/*", "capture": "environment"}),
    )
    purpose = forms.ChoiceField(
        label=_("For"), choices=AttachmentPurpose.choices, required=False, widget=forms.HiddenInput
    )
    line = forms.TypedChoiceField(label=_("Estimate line"), coerce=int, required=False, empty_value=None)
    caption = forms.CharField(label=_("Caption"), max_length=120, required=False)

    def __init__(self, *args: Any, lines: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.lines = {line.pk: line for line in lines}
        self.fields["line"].choices = [("", "—"), *[(line.pk, line.description) for line in lines]]


class EstimateLineForm(_ServiceErrors, StyledForm):
    """One labour, part or fee line; the service computes the amount and checks what each kind needs."""

    kind = forms.ChoiceField(choices=LineKind.choices, widget=forms.HiddenInput)
    alternative_to = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.HiddenInput)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    operation_code = forms.CharField(label=_("Operation code"), max_length=32, required=False)
    standard_hours = forms.DecimalField(label=_("Standard hours"), required=False, min_value=Decimal("0"))
    hourly_rate = forms.DecimalField(
        label=_("Hourly rate (CNY)"), required=False, help_text=_("Empty: the store's rate.")
    )
    min_grade = forms.ChoiceField(
        label=_("Minimum technician grade"), choices=[("", "—"), *TechnicianGrade.choices], required=False
    )
    capability = forms.ChoiceField(
        label=_("Bay equipment needed"), choices=[("", "—"), *BayCapability.choices], required=False
    )
    high_voltage = forms.BooleanField(label=_("High-voltage work (HV certificate needed)"), required=False)
    part_number = forms.CharField(label=_("Part number"), max_length=40, required=False)
    grade = forms.ChoiceField(label=_("Grade"), choices=[("", "—"), *PartGrade.choices], required=False)
    unit_price = forms.DecimalField(label=_("Unit price (CNY)"), required=False)
    quantity = forms.DecimalField(label=_("Quantity"), required=False, initial=1)
    amount = forms.DecimalField(label=_("Amount (CNY)"), required=False)

    FIELDS_BY_KIND = {
        LineKind.LABOUR: (
            "description",
            "operation_code",
            "standard_hours",
            "hourly_rate",
            "min_grade",
            "capability",
            "high_voltage",
        ),
        LineKind.PART: ("description", "part_number", "grade", "unit_price", "quantity"),
        LineKind.FEE: ("description", "amount"),
    }

    def __init__(self, *args: Any, alternatives: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.alternatives = {line.pk: line for line in alternatives}
        self.fields["alternative_to"].choices = [("", "—"), *[(pk, pk) for pk in self.alternatives]]

    def visible(self) -> list[Any]:
        kind = self.data.get(self.add_prefix("kind")) if self.is_bound else self.initial.get("kind")
        return [self[name] for name in self.FIELDS_BY_KIND.get(kind, ())]

    def service_kwargs(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        data["alternative_to"] = self.alternatives.get(self.cleaned_data.get("alternative_to"))
        data.setdefault("description", "")
        return data


class LineDecisionForm(_ServiceErrors, StyledForm):
    decision = forms.ChoiceField(
        choices=[(LineDecision.APPROVED, _("Approved")), (LineDecision.DECLINED, _("Declined"))]
    )
    channel = forms.ChoiceField(
        choices=[
            (DecisionChannel.DESK, DecisionChannel.DESK.label),
            (DecisionChannel.PHONE, DecisionChannel.PHONE.label),
        ]
    )
    reason = forms.CharField(label=_("Reason (when declined)"), max_length=200, required=False)


class DispatchForm(_ServiceErrors, StyledForm):
    """派工: a technician of the store (with their grade) and a bay (with what it can take)."""

    technician = forms.ChoiceField(label=_("Technician"), required=False)
    bay = forms.ChoiceField(label=_("Bay"), required=False)

    def __init__(self, *args: Any, store: Store, technicians: list[tuple], bays: list[Bay], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.store = store
        self.bays = {b.pk: b for b in bays}
        self.fields["technician"].choices = [("", "—"), *technicians]
        self.fields["bay"].choices = [("", "—")] + [
            (b.pk, f"{b.code} {b.name} · {', '.join(b.capability_labels()) or _('general')}") for b in bays
        ]

    def clean_technician(self) -> Any:
        raw = self.cleaned_data.get("technician")
        if not raw:
            return None
        technician = _staff_member(self.store, raw, [Role.TECHNICIAN, Role.FOREMAN])
        if technician is None:
            raise ValidationError(_("This person is not a technician of the store."))
        return technician

    def clean_bay(self) -> Bay | None:
        raw = self.cleaned_data.get("bay")
        return self.bays.get(int(raw)) if raw else None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors and data.get("technician") is None and data.get("bay") is None:
            raise ValidationError(_("Choose a technician, a bay or both."))
        return data


class TransitionForm(_ServiceErrors, StyledForm):
    to = forms.ChoiceField(choices=RepairOrderStatus.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class QualityCheckForm(SopChecklist, _ServiceErrors, StyledForm):
    """The QC checklist: the items of the QC SOP in force in the order's store (`items`), by key."""

    sop_prefix = "check_"
    sop_step = "qc"
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("1", _("Passed")), ("0", _("Failed: back to work"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(label=_("Notes (what failed)"), max_length=300, required=False)
    skip_washing = forms.BooleanField(label=_("Skip washing (customer declined)"), required=False)

    def __init__(self, *args: Any, items: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_sop_items(items)

    def check_fields(self) -> list[Any]:
        return self.sop_fields()

    def checklist(self) -> dict[str, bool]:
        return self.sop_ticks()


class PartTraceForm(_ServiceErrors, StyledForm):
    batch_number = forms.CharField(label=_("Batch"), max_length=40, required=False)
    origin = forms.CharField(label=_("Origin"), max_length=60, required=False)
    production_date = forms.DateField(
        label=_("Production date"),
        required=False,
        validators=[dates.HAPPENED],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    warranty_months = forms.IntegerField(label=_("Warranty (months)"), required=False)


class DeliveryForm(SopChecklist, _ServiceErrors, StyledForm):
    """The hand-over: explanation, next maintenance, rating, and the delivery SOP's checklist."""

    sop_step = "delivery"

    def __init__(self, *args: Any, items: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_sop_items(items)

    explanation = forms.CharField(
        label=_("What was explained to the customer"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_service_date = forms.DateField(
        label=_("Next maintenance date"),
        required=False,
        validators=[dates.PLANNED],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    next_service_km = forms.IntegerField(label=_("Next maintenance mileage (km)"), required=False, min_value=0)
    rating = forms.IntegerField(
        label=_("Customer's rating (0–10)"), required=False, widget=forms.NumberInput(attrs={"min": 0, "max": 10})
    )
    confirm_pending_batches = forms.BooleanField(
        label=_("Deliver although the batch of the parts listed above is not recorded yet"), required=False
    )
