"""The SOP forms: a version's text, change note and checklist items (one row per item: the key stays, the texts may
change, a blank row adds an item, a ticked "remove" drops it), and publishing with its effective date.  The services
validate again and name the field; a refused form writes nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.standards.choices import ProcedureStep

BLANK_ROWS = 3
MAX_ROWS = 40


class ServiceErrors:
    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)  # type: ignore[attr-defined]


class VersionForm(ServiceErrors, StyledForm):
    """The draft's text, change note and items.  `items` (initial) are dicts with key, text, text_en and
    customer_facing; the posted rows come back through `items()`."""

    text = forms.CharField(label=_("Procedure"), widget=forms.Textarea(attrs={"rows": 6}), max_length=8000)
    change_note = forms.CharField(
        label=_("What changed and why"),
        max_length=300,
        required=False,
        help_text=_("Required from version 2 on; shown in the version history and in the staff's inbox."),
    )

    def __init__(self, *args: Any, items: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else None
        if data is not None:
            count = min(int(data.get("rows") or 0) if str(data.get("rows") or "").isdigit() else 0, MAX_ROWS)
        else:
            count = len(items or []) + BLANK_ROWS
        self.row_count = count
        initial = items or []
        for index in range(count):
            row = initial[index] if index < len(initial) else {}
            self.fields[f"key_{index}"] = forms.CharField(
                required=False, max_length=40, initial=row.get("key", ""), widget=forms.HiddenInput
            )
            self.fields[f"text_{index}"] = forms.CharField(
                label=_("Item"), required=False, max_length=300, initial=row.get("text", "")
            )
            self.fields[f"text_en_{index}"] = forms.CharField(
                label=_("Item in English"), required=False, max_length=300, initial=row.get("text_en", "")
            )
            self.fields[f"customer_facing_{index}"] = forms.BooleanField(
                label=_("The customer sees it"), required=False, initial=bool(row.get("customer_facing"))
            )
            self.fields[f"remove_{index}"] = forms.BooleanField(label=_("Remove"), required=False)

    def rows(self) -> list[dict[str, Any]]:
        """The item rows for the template: each row's bound fields."""
        return [
            {
                "index": index,
                "key": self[f"key_{index}"],
                "text": self[f"text_{index}"],
                "text_en": self[f"text_en_{index}"],
                "customer_facing": self[f"customer_facing_{index}"],
                "remove": self[f"remove_{index}"],
                "key_value": self[f"key_{index}"].value() or "",
            }
            for index in range(self.row_count)
        ]

    def items(self) -> list[dict[str, Any]]:
        """The posted items in their order: blank and removed rows left out."""
        result = []
        for index in range(self.row_count):
            data = self.cleaned_data
            text = (data.get(f"text_{index}") or "").strip()
            if not text or data.get(f"remove_{index}"):
                continue
            result.append(
                {
                    "key": (data.get(f"key_{index}") or "").strip(),
                    "text": text,
                    "text_en": (data.get(f"text_en_{index}") or "").strip(),
                    "customer_facing": bool(data.get(f"customer_facing_{index}")),
                }
            )
        return result


class PublishForm(ServiceErrors, StyledForm):
    effective_from = forms.DateField(
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[dates.ANY_DAY],
        help_text=_("Today or a later day; until then the previous version stays in force."),
    )


class VariantForm(ServiceErrors, StyledForm):
    """Open a store's own variant of a step (its first draft starts from what is in force there)."""

    step = forms.ChoiceField(label=_("Step"), choices=ProcedureStep.choices)
    store = forms.ChoiceField(label=_("Store"), choices=())

    def __init__(self, *args: Any, stores: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(s.code, f"{s.code} {s.name}") for s in stores or []]
