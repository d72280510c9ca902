"""Schema helpers of the JSON API: output enums read from the models' choices (no drift between the model and
the document), and the finishing touches of the OpenAPI document that integrators read (request bodies carry
their schema's description and example)."""

from __future__ import annotations

import copy
from typing import Any, Literal

from django.db import models


def choices_of(model: type[models.Model], field_name: str) -> Any:
    """The closed set of a model field as a `Literal` type for an output schema: its choices, plus "" when the
    field may be blank, and `| None` when it may be null. Output validation refuses any other stored value."""
    field = model._meta.get_field(field_name)
    values: list[Any] = [str(value) for value, _label in field.flatchoices]  # type: ignore[union-attr]
    if not values:
        raise ValueError(f"{model.__name__}.{field_name} has no choices")
    if getattr(field, "blank", False) and "" not in values:
        values.insert(0, "")
    closed: Any = Literal[tuple(values)]  # type: ignore[valid-type]
    return closed | None if field.null else closed


def enum_values(model: type[models.Model], field_name: str) -> list[str]:
    """What the OpenAPI document should list for `choices_of(model, field_name)` (tests compare the two)."""
    field = model._meta.get_field(field_name)
    values = [str(value) for value, _label in field.flatchoices]  # type: ignore[union-attr]
    if getattr(field, "blank", False) and "" not in values:
        values.insert(0, "")
    return values


def document_request_bodies(schema: dict[str, Any]) -> None:
    """Each request body says what it is and shows an example: its component's description and example."""
    components = schema.get("components", {}).get("schemas", {})
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                component = components.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
                if "description" not in body and component.get("description"):
                    body["description"] = component["description"]
                if "example" not in media and "example" in component:
                    media["example"] = copy.deepcopy(component["example"])
