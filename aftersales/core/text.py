"""Free text from people: control characters (NUL above all, which PostgreSQL cannot store) are refused
with a message naming the field, instead of failing deep in the database."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def has_control_characters(value: object) -> bool:
    return isinstance(value, str) and any(ord(c) < 32 and c not in _ALLOWED_CONTROLS or ord(c) == 127 for c in value)


def refuse_control_characters(**values: object) -> None:
    """Raise ValidationError naming every field whose text holds control characters."""
    bad = {
        name: [_("Remove the invisible control characters from this value.")]
        for name, value in values.items()
        if has_control_characters(value)
    }
    if bad:
        raise ValidationError(bad)
