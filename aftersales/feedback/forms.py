"""Forms of the follow-up, survey and service-recovery pages: they check shape; the services decide and write.

The survey's items are data (SurveyInstrument), so the survey fields are built from the items at run time:
one field per item named by its key (`overall`, `attitude`, …) and `expect_<key>` for an expectation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from aftersales.core.forms import StyledForm
from aftersales.feedback.choices import CallOutcome, ComplaintCategory, ItemKind, RecoveryOutcome
from aftersales.feedback.models import SurveyItem
from aftersales.feedback.services.surveys import SCALES, TEXT_MAX

EXPECT_PREFIX = "expect_"


@dataclass(frozen=True)
class SurveyRow:
    """One item as the survey partial draws it: the wording, the scale's buttons and the bound fields."""

    item: SurveyItem
    wording: str
    field: BoundField
    choices: list[str]
    value: str
    expect: BoundField | None
    expect_value: str


def _score_field(kind: str) -> forms.TypedChoiceField:
    low, high = SCALES[kind]
    return forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in range(low, high + 1)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class SurveyFieldsForm(StyledForm):
    """The survey items as form fields.  Which items are required is the service's rule (it names the item),
    so every field is optional here and only the scale is checked."""

    def __init__(self, *args: Any, items: list[SurveyItem], language: str, **kwargs: Any) -> None:
        self.items = items
        self.language = language
        super().__init__(*args, **kwargs)
        for item in items:
            if item.kind == ItemKind.TEXT:
                field: forms.Field = forms.CharField(
                    max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3})
                )
            else:
                field = _score_field(item.kind)
            field.label = item.wording(language)
            self.fields[item.key] = field
            if item.asks_expectation:
                self.fields[EXPECT_PREFIX + item.key] = _score_field(ItemKind.SCALE_1_5)
        # The survey fields come before the form's own fields would; keep the subclass's fields first.
        self.order_fields(self.leading_fields())

    def leading_fields(self) -> list[str]:
        return []

    def answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {i.key: data[i.key] for i in self.items if data.get(i.key) not in (None, "")}

    def expectations(self) -> dict[str, int]:
        data = self.cleaned_data
        return {
            i.key: data[EXPECT_PREFIX + i.key]
            for i in self.items
            if i.asks_expectation and data.get(EXPECT_PREFIX + i.key) is not None
        }

    def survey_rows(self) -> list[SurveyRow]:
        rows = []
        for item in self.items:
            bound = self[item.key]
            expect = self[EXPECT_PREFIX + item.key] if item.asks_expectation else None
            choices = [] if item.kind == ItemKind.TEXT else [str(n) for n in range(*_bounds(item.kind))]
            rows.append(
                SurveyRow(
                    item=item,
                    wording=item.wording(self.language),
                    field=bound,
                    choices=choices,
                    value=_text(bound.value()),
                    expect=expect,
                    expect_value=_text(expect.value()) if expect is not None else "",
                )
            )
        return rows

    def apply_service_errors(self, exc: ValidationError) -> None:
        """`answers.<key>` → the item's field, `expectations.<key>` → its expectation, others by name."""
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages in errors.items():
            name = key
            if key and key.startswith("answers."):
                name = key.removeprefix("answers.")
            elif key and key.startswith("expectations."):
                name = EXPECT_PREFIX + key.removeprefix("expectations.")
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


def _bounds(kind: str) -> tuple[int, int]:
    low, high = SCALES[kind]
    return low, high + 1


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class FollowUpCallForm(SurveyFieldsForm):
    """The agent's record of one call: how it went and, when the customer was reached, the survey."""

    outcome = forms.ChoiceField(label=_("How did the call go?"), choices=CallOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    consent = forms.BooleanField(
        label=_("The customer agrees to satisfaction surveys (asked on this call)"), required=False
    )

    def __init__(self, *args: Any, consent_on_file: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consent_on_file = consent_on_file
        if consent_on_file:  # nothing to ask: the consent is recorded already
            del self.fields["consent"]

    def leading_fields(self) -> list[str]:
        return ["outcome", "consent", "note"]

    def reached(self) -> bool:
        return self.cleaned_data.get("outcome") == CallOutcome.REACHED


class CustomerSurveyForm(SurveyFieldsForm):
    """The customer's own survey page.  Without a survey consent on file the customer ticks the box (never
    pre-ticked, SPEC §10); the service records that consent with the channel "customer link"."""

    consent = forms.BooleanField(
        label=_("I agree that the store may ask me about my satisfaction with its service."), required=False
    )

    def __init__(self, *args: Any, consent_on_file: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consent_on_file = consent_on_file
        if consent_on_file:
            del self.fields["consent"]


class CustomerComplaintForm(StyledForm):
    """ "Something went wrong? Tell us" on the customer's survey page: the customer's words and, optionally,
    what it was about (staff re-classify it when they take it)."""

    category = forms.ChoiceField(
        label=_("What was it about?"),
        choices=ComplaintCategory.choices,
        initial=ComplaintCategory.OTHER,
        required=False,
    )
    description = forms.CharField(
        label=_("What went wrong?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_category(self) -> str:
        return self.cleaned_data.get("category") or ComplaintCategory.OTHER


class RecoveryOutcomeForm(StyledForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=RecoveryOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("What was said and agreed"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages in errors.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
