"""External references: the id a record has in the system it came from (a call-centre ticket, a review on
Dianping), so an integrator that posts the same record twice gets the first one back instead of a duplicate.

A reference is a pair: `external_source` names the system (`callcenter`, `dianping`: lower-case letters, digits,
`.`, `-`, `_`; at most 40) and `external_ref` the record's id there (one line, at most 100 characters).  Both or
neither.  Each app keeps them unique per source within the dealer group (the integrator's space of ids) and
answers a second record with the same pair by `duplicate_external_ref` (409, `existing_id` naming the first)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import text_problem

SOURCE_MAX = 40
REF_MAX = 100
SOURCE_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
CODE_DUPLICATE = "duplicate_external_ref"

SOURCE_INVALID = gettext_noop(
    "A source is at most 40 lower-case letters, digits, dots, hyphens or underscores, e.g. callcenter."
)
REF_INVALID = gettext_noop("A reference is one line of at most 100 characters.")
SOURCE_MISSING = gettext_noop("Name the system the reference comes from (external_source), e.g. callcenter.")
REF_MISSING = gettext_noop("Give the record's reference in that system (external_ref).")
DUPLICATE = gettext_noop("A record from {source} with the reference {ref} exists already: #{id}.")


def clean_external_ref(source: Any, ref: Any) -> tuple[str, str, dict[str, str]]:
    """(source, ref, errors by field): the source lower-cased, both stripped; ("", "", {}) when neither is given."""
    errors: dict[str, str] = {}
    clean_source = source.strip().lower() if isinstance(source, str) else ""
    clean_ref = unicodedata.normalize("NFC", ref.strip()) if isinstance(ref, str) else ""
    if source is not None and not isinstance(source, str):
        errors["external_source"] = _(SOURCE_INVALID)
    elif clean_source and (len(clean_source) > SOURCE_MAX or not SOURCE_PATTERN.fullmatch(clean_source)):
        errors["external_source"] = _(SOURCE_INVALID)
    if ref is not None and not isinstance(ref, str):
        errors["external_ref"] = _(REF_INVALID)
    elif (problem := text_problem(ref, multiline=True) or text_problem(clean_ref, multiline=False)) is not None:
        errors["external_ref"] = str(problem.messages[0])
    elif len(clean_ref) > REF_MAX:
        errors["external_ref"] = _(REF_INVALID)
    if clean_ref and not clean_source and "external_source" not in errors:
        errors["external_source"] = _(SOURCE_MISSING)
    if clean_source and not clean_ref and "external_ref" not in errors:
        errors["external_ref"] = _(REF_MISSING)
    return clean_source, clean_ref, errors


def duplicate_external_ref(*, source: str, ref: str, existing_id: int) -> ApplicationError:
    """The refusal of a second record with the same reference: 409 naming the first record's id."""
    return ApplicationError(
        _(DUPLICATE).format(source=source, ref=ref, id=existing_id),
        {"code": CODE_DUPLICATE, "existing_id": existing_id},
    )


def filter_by_external_ref(rows: QuerySet[Any], *, source: str | None = None, ref: str | None = None) -> QuerySet[Any]:
    """A list's `external_source` / `external_ref` filters: the rows with that source, that reference, or both."""
    if source:
        rows = rows.filter(external_source=source.strip().lower())
    if ref:
        rows = rows.filter(external_ref=ref.strip())
    return rows
