"""Forms of the complaint and suggestion pages: they check shape; the feedback services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.feedback.choices import (
    ComplaintCategory,
    ComplaintPriority,
    FeedbackChannel,
    SuggestionDecision,
)

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
SATISFACTION_CHOICES = [
    (5, _("5 · very satisfied")),
    (4, _("4 · satisfied")),
    (3, _("3 · neutral")),
    (2, _("2 · dissatisfied")),
    (1, _("1 · very dissatisfied")),
]


class ServiceErrorsMixin:
    """Puts a service's ValidationError (a dict keyed by field) next to the matching fields."""

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]


def _received_at_field() -> forms.DateTimeField:
    # A phone complaint is often typed in later: any past time is fine, the service refuses the future.
    return forms.DateTimeField(
        label=_("Received at"),
        required=False,
        validators=[dates.HAPPENED],
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("When the customer complained; earlier than now if you type it in later."),
    )


class ComplaintForm(ServiceErrorsMixin, StyledForm):
    """Intake by staff for a known customer (chosen before the form is shown)."""

    order = forms.TypedChoiceField(label=_("Repair order (optional)"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(label=_("Channel"), choices=FeedbackChannel.choices)
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=ComplaintPriority.choices, initial=ComplaintPriority.GENERAL
    )
    description = forms.CharField(
        label=_("What the customer complains about"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    received_at = _received_at_field()

    def __init__(self, *args: Any, orders: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orders = {o.pk: o for o in orders}
        self.fields["order"].choices = [
            ("", _("— none —")),
            *((o.pk, f"{o.number} · {timezone.localtime(o.arrived_at):%Y-%m-%d}") for o in orders),
        ]

    def chosen_order(self) -> Any:
        return self.orders.get(self.cleaned_data.get("order"))


class SuggestionForm(ServiceErrorsMixin, StyledForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=FeedbackChannel.choices)
    description = forms.CharField(
        label=_("The customer's suggestion"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    received_at = _received_at_field()


class NoteForm(ServiceErrorsMixin, StyledForm):
    """Acknowledge and record contact: an optional note for the timeline."""

    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)


class ResolveForm(ServiceErrorsMixin, StyledForm):
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was done for the customer (repair, refund, apology, goodwill)."),
    )


class CloseForm(ServiceErrorsMixin, StyledForm):
    """The service checks the confirmation and the score, so its messages land on these fields."""

    customer_confirmed = forms.BooleanField(
        label=_("The customer confirmed that the problem is resolved"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Customer's satisfaction with the handling"),
        choices=SATISFACTION_CHOICES,
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)


class ReopenForm(ServiceErrorsMixin, StyledForm):
    reason = forms.CharField(label=_("Why is it reopened?"), max_length=500)


class TransferForm(ServiceErrorsMixin, StyledForm):
    to = forms.TypedChoiceField(label=_("Hand over to"), coerce=int)
    reason = forms.CharField(label=_("Reason for the hand-over"), max_length=300)

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [("", _("Choose a colleague")), *staff]


class DecideForm(ServiceErrorsMixin, StyledForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=SuggestionDecision.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    note = forms.CharField(
        label=_("Why (told to the customer)"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
