"""Form helpers shared by every app."""

from __future__ import annotations

from typing import Any

from django import forms


class StyledForm(forms.Form):
    """Gives widgets Bootstrap's classes and marks fields with errors, so templates stay plain."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
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
