"""Form helpers shared by every app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms

from aftersales.core import dates
from aftersales.core.text import clean_text, text_problem


def _checked_to_python(field: forms.CharField, to_python: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The text rule of core/text.py around a text field's own parsing: controls and surrogates are looked
    for in the raw value (Django strips before any validator runs, which would hide some of them), then the
    field parses as before, then line breaks (outside text areas) and NFC."""
    multiline = isinstance(field.widget, forms.Textarea)

    def run(value: Any) -> Any:
        problem = text_problem(value)
        if problem is not None:
            raise problem
        result = to_python(value)
        if isinstance(result, str):
            result = clean_text(result, multiline=multiline, strip=False)
        elif isinstance(result, dt.date) and not any(isinstance(v, dates.DateBounds) for v in field.validators):
            dates.ANY_DAY(result)  # a text field that parses a date (a month, a slot's time)
        return result

    return run


class StyledForm(forms.Form):
    """Gives widgets Bootstrap's classes and marks fields with errors, so templates stay plain; holds every
    text field to the text rule (core/text.py) and every date field to date bounds (core/dates.py: the
    field's own when it declares a DateBounds validator, ANY_DAY otherwise)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    @staticmethod
    def apply_input_rules(field: forms.Field) -> None:
        """Applied when the form is cleaned, so fields a subclass adds in its __init__ are covered too."""
        if isinstance(field, forms.CharField) and not getattr(field.to_python, "text_rule", False):
            checked = _checked_to_python(field, field.to_python)
            checked.text_rule = True  # type: ignore[attr-defined]
            field.to_python = checked  # type: ignore[method-assign,assignment]
        if isinstance(field, forms.DateField | forms.DateTimeField) and not any(
            isinstance(v, dates.DateBounds) for v in field.validators
        ):
            field.validators.append(dates.ANY_DAY)

    def full_clean(self) -> None:
        for field in self.fields.values():
            self.apply_input_rules(field)
        super().full_clean()
        self.mark_invalid()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self.mark_invalid()

    def mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
