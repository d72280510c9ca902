"""The rescue forms: a request taken by staff, the customer's own request, dispatch, a move with a reason, a
store's rescue base.  The services validate again and name the field of every problem."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core.forms import StyledForm
from aftersales.rescue.choices import RoadType


class _ServiceErrors:
    # The service's field names (lat, lon) and the form's may differ; `aliases` maps them.
    aliases: dict[str, str] = {}

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            name = self.aliases.get(field or "", field)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)  # type: ignore[attr-defined]


def _coordinate(label: Any, limit: int, *, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=required, max_digits=9, decimal_places=6, min_value=-limit, max_value=limit
    )


class RescueRequestForm(_ServiceErrors, StyledForm):
    """Staff taking a call (or reading a connected-car alarm): where, what, which car."""

    aliases = {"lat": "latitude", "lon": "longitude"}

    latitude = _coordinate(_("latitude"), 90)
    longitude = _coordinate(_("longitude"), 180)
    address = forms.CharField(
        label=_("location described"),
        max_length=200,
        required=False,
        help_text=_("Without coordinates: the road, the kilometre post or a landmark."),
    )
    road_type = forms.ChoiceField(label=_("road type"), choices=RoadType.choices)
    fault = forms.CharField(label=_("fault"), max_length=500)
    plate = forms.CharField(label=_("plate"), max_length=12, required=False)
    vin = forms.CharField(label=_("VIN"), max_length=20, required=False)
    location_consent = forms.BooleanField(
        label=_("The customer agreed that their location is used for this rescue"), required=False
    )


class CustomerRescueForm(_ServiceErrors, StyledForm):
    """The customer's phone page: the browser fills the coordinates after the consent box is ticked."""

    aliases = {"lat": "latitude", "lon": "longitude"}

    plate = forms.CharField(label=_("plate"), max_length=12)
    road_type = forms.ChoiceField(label=_("Where are you?"), choices=RoadType.choices, widget=forms.RadioSelect)
    fault = forms.CharField(label=_("What happened?"), max_length=500)
    location_consent = forms.BooleanField(
        label=_("I agree that my location is used to send help (kept only as long as needed, then made imprecise)."),
        required=False,
    )
    latitude = _coordinate(_("latitude"), 90)
    longitude = _coordinate(_("longitude"), 180)
    address = forms.CharField(
        label=_("Or describe where you are"),
        max_length=200,
        required=False,
        help_text=_("The road, the direction, a kilometre post or a landmark."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["latitude"].widget = forms.HiddenInput()
        self.fields["longitude"].widget = forms.HiddenInput()


class LocateForm(_ServiceErrors, StyledForm):
    """Where a waiting request really stands, learnt by calling the customer back."""

    aliases = {"lat": "latitude", "lon": "longitude"}

    latitude = _coordinate(_("latitude"), 90, required=True)
    longitude = _coordinate(_("longitude"), 180, required=True)
    road_type = forms.ChoiceField(label=_("road type"), choices=RoadType.choices)
    address = forms.CharField(label=_("location described"), max_length=200, required=False)


class MatchForm(_ServiceErrors, StyledForm):
    store = forms.ChoiceField(label=_("store"), required=False)

    def __init__(self, *args: Any, stores: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("Nearest store with a free crew")), *stores]  # type: ignore[attr-defined]


class DispatchForm(_ServiceErrors, StyledForm):
    crew = forms.CharField(label=_("crew"), max_length=80, help_text=_("Crew and rescue vehicle."))
    crew_lead = forms.ChoiceField(label=_("crew lead"), required=False)

    def __init__(self, *args: Any, staff: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["crew_lead"].choices = [("", "—"), *staff]  # type: ignore[attr-defined]


class ReasonForm(_ServiceErrors, StyledForm):
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class RescueBaseForm(_ServiceErrors, StyledForm):
    latitude = _coordinate(_("latitude"), 90, required=True)
    longitude = _coordinate(_("longitude"), 180, required=True)
    crews = forms.IntegerField(
        label=_("rescue crews"),
        min_value=0,
        max_value=50,
        help_text=_("Crews (with their vehicles) that can be out on rescues at the same time."),
    )
    is_active = forms.BooleanField(label=_("takes rescue requests"), required=False)
    note = forms.CharField(label=_("note"), max_length=200, required=False)
