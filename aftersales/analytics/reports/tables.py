"""The records behind a KPI as a table for the report: a drill-down queryset (a model queryset annotated by the
catalogue with `meets` / `pending` / `seconds` …) becomes headings and rows of plain values.

Rows are read with one `values_list` query streamed in chunks (`iterator(chunk_size=…)`): no model instances, no
query per row — a related record's number or code is joined in the same query.  What a report must not carry is
left out: encrypted columns and search hashes, free text and JSON; plates are masked unless the reader may see
them in full (SEE_PLATES in every store of the report).  A group's report (SPEC §10: group-wide analytics work on
masked or pseudonymised data) carries no customer's name: each customer becomes a pseudonym (`customer_pseudonym`,
stable within the report so a customer's records can be followed, meaningless outside it); order numbers and store
codes stay."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.analytics.periods import LOCAL_TZ
from aftersales.customers.models import Customer
from aftersales.customers.validators import mask_plate

CHUNK = 2000
# A related record is shown by the first of these fields it has (joined in the same query), else by its id.
_NAMING_FIELDS = ("number", "reference", "code", "display_name", "plate", "name")
_SKIPPED_TYPES = (models.TextField, models.JSONField, models.FileField, models.BinaryField, models.UUIDField)
_SKIPPED_SUFFIXES = ("_hash", "_encrypted", "_token", "_digest")
_SKIPPED_NAMES = {"updated_at", "dedupe_key", "search_text", "password"}
# The catalogue's annotations on drill-down records, with their headings.
_ANNOTATION_HEADINGS = {
    "meets": gettext_noop("Counts in the numerator"),
    "pending": gettext_noop("Pending (left out)"),
    "seconds": gettext_noop("Seconds"),
}


@dataclass(frozen=True)
class Column:
    lookup: str  # a values_list lookup
    heading: str
    choices: dict[Any, str] | None = None  # stored value → label in the report's language
    plate: bool = False
    pseudonym: bool = False  # the value is a customer's id, written as `customer_pseudonym(id, salt)`


def customer_pseudonym(customer_id: int, salt: str) -> str:
    """A customer's stand-in in a group report: a keyed hash of the id, salted per report (the same customer has
    the same pseudonym within the report, another in the next one; the id cannot be read back from it)."""
    digest = hmac.new(
        f"{settings.SECRET_KEY}:report-pseudonym:{salt}".encode(), str(customer_id).encode(), hashlib.sha256
    ).hexdigest()
    return f"C-{digest[:10].upper()}"


def _heading(text: Any) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]


def _skip(field: models.Field) -> bool:
    name = field.name
    return (
        isinstance(field, _SKIPPED_TYPES)
        or name in _SKIPPED_NAMES
        or name.endswith(_SKIPPED_SUFFIXES)
        or not field.concrete
    )


def _related_lookup(field: models.ForeignKey) -> tuple[str, models.Field] | None:
    related = field.related_model._meta
    for name in _NAMING_FIELDS:
        try:
            target = related.get_field(name)
        except FieldDoesNotExist:
            continue  # try the next naming field
        if target.concrete and not _skip(target):
            return f"{field.name}__{name}", target
    return None


def columns_for(records: QuerySet[Any], *, pseudonymise: bool = False) -> list[Column]:
    """The columns of a drill-down: the record's own fields, its related records by number/code, then the
    catalogue's annotations (does the record count, is it pending, its duration).  `pseudonymise` (a group's
    report): a customer is shown by a pseudonym instead of their name."""
    meta = records.model._meta
    columns = [Column("pk", _heading(_("ID")))]
    for field in meta.concrete_fields:
        if field.primary_key or _skip(field):
            continue
        if pseudonymise and records.model is Customer and field.name == "name":
            columns.append(Column("pk", _heading(_("Customer (pseudonym)")), pseudonym=True))
            continue
        if pseudonymise and isinstance(field, models.ForeignKey) and field.related_model is Customer:
            columns.append(Column(field.attname, _heading(field.verbose_name), pseudonym=True))
            continue
        if isinstance(field, models.ForeignKey):
            related = _related_lookup(field)
            if related is None:
                continue
            lookup, target = related
            columns.append(Column(lookup, _heading(field.verbose_name), plate=target.name == "plate"))
            continue
        choices = {value: str(label) for value, label in field.flatchoices} if field.choices else None
        columns.append(Column(field.attname, _heading(field.verbose_name), choices, plate=field.name == "plate"))
    for name in records.query.annotation_select:
        heading = _ANNOTATION_HEADINGS.get(name)
        columns.append(Column(name, _heading(_(heading) if heading else name.replace("_", " "))))
    return columns


def _cell(value: Any) -> Any:
    """A value xlsxwriter and the PDF can write: local naive times (Excel has no time zones), floats for decimals."""
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(LOCAL_TZ)
        return value.replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return value


def rows_for(records: QuerySet[Any], columns: list[Column], *, see_plates: bool, salt: str = "") -> Iterator[list[Any]]:
    """The rows, streamed: one query (chunked server-side on PostgreSQL), no instance per row."""
    lookups = [column.lookup for column in columns]
    for raw in records.order_by("pk").values_list(*lookups).iterator(chunk_size=CHUNK):
        row: list[Any] = []
        for column, value in zip(columns, raw, strict=True):
            if column.pseudonym:
                value = customer_pseudonym(value, salt) if value is not None else None
            elif column.choices is not None and value in column.choices:
                value = column.choices[value]
            elif column.plate and value and not see_plates:
                value = mask_plate(value)
            row.append(_cell(value))
        yield row
