"""A customer's copy of their data (PIPL arts. 45, 45 para. 3): everything the dealer group holds about them, as
JSON (machine-readable, for portability) and as a readable PDF in their language.

The rows that belong to a customer are listed once, in `CUSTOMER_ROWS` (model label → how its rows reach the
customer); the erasure (privacy/erasure.py) walks the same list.  Every row is exported with all its fields but
the secrets that open links (`SECRET_FIELDS`); encrypted columns are decrypted under their plain name
(`phone_encrypted` → `phone`), nothing is masked: it is the customer's own data.  The test
`test_export_completeness.py` proves that every personal field of the data inventory (customers/inventory.py)
appears for a customer who has a value in it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.fields.files import FieldFile
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.customers import crypto
from aftersales.customers.models import Customer
from aftersales.customers.selectors import acting_store_id
from aftersales.organisation.permissions import Capability
from aftersales.privacy.models import RightsRequest

FORMAT_VERSION = 1

# Values that open something (a signed link's nonce, a campaign link's token, a request's hashes): never copied
# out, not even to the customer (a copy of the export must not become a key).
SECRET_FIELDS = frozenset({"link_nonce", "link_token", "scope_hash", "request_hash", "dedupe_key"})


def _json_forms(value: str) -> list[str]:
    """The text as stored in a text column and as a JSON encoder with ensure_ascii writes it (SQLite's JSON)."""
    escaped = json.dumps(value)[1:-1]
    return [value] if escaped == value else [value, escaped]


def _names_customer(value: Any, customer: Customer) -> bool:
    """Whether a JSON answer is about this customer: an object with their id and name, or naming them as
    `customer` (by id or as an object with their id) — never merely a name that contains theirs."""
    if isinstance(value, list):
        return any(_names_customer(item, customer) for item in value)
    if not isinstance(value, dict):
        return False
    if value.get("id") == customer.pk and value.get("name") == customer.name:
        return True
    named = value.get("customer")
    if named == customer.pk or (isinstance(named, dict) and named.get("id") == customer.pk):
        return True
    return any(_names_customer(item, customer) for item in value.values())


def _idempotency_rows(customer: Customer) -> QuerySet[Any]:
    """A cached API answer (kept 24 hours) has no key to the customer: it is theirs when its JSON shows their id
    with their name (API answers hold the name, never an unmasked mobile).  The name narrows it in SQL; the
    JSON decides, so another customer whose name contains this one's is never taken for them."""
    model = apps.get_model("core", "IdempotencyRecord")
    if not customer.name:
        return model._default_manager.none()
    condition = Q()
    for form in _json_forms(customer.name):
        condition |= Q(response_body__contains=form)
    mine = []
    for pk, body in model._default_manager.filter(condition).values_list("pk", "response_body"):
        try:
            parsed = json.loads(body)
        except (TypeError, ValueError):
            continue
        if _names_customer(parsed, customer):
            mine.append(pk)
    return model._default_manager.filter(pk__in=mine)


def _unmasking_log(customer: Customer) -> QuerySet[Any]:
    model = apps.get_model("core", "AuditEntry")
    return model._default_manager.filter(
        action="customer.reveal", object_type="customers.customer", object_id=str(customer.pk)
    )


def _by(lookup: str) -> Callable[[Customer], Q]:
    return lambda customer: Q(**{lookup: customer.pk})


# model label → the rows of the customer (a Q on that model, or a function returning the queryset itself).
# Order = the order of the sections in the PDF.
CUSTOMER_ROWS: tuple[tuple[str, Callable[[Customer], Q] | Callable[[Customer], QuerySet[Any]], bool], ...] = (
    # (label, rows, is_queryset_function)
    ("customers.Customer", _by("pk"), False),
    ("customers.CustomerStoreLink", _by("customer"), False),
    ("customers.Vehicle", _by("customer"), False),
    ("customers.Consent", _by("customer"), False),
    ("customers.ConsentEvent", _by("customer"), False),
    ("service.Appointment", _by("customer"), False),
    ("service.PickupEvent", _by("appointment__customer"), False),
    ("service.RepairOrder", _by("customer"), False),
    ("service.Estimate", _by("order__customer"), False),
    ("service.EstimateLine", _by("estimate__order__customer"), False),
    ("service.DeferredWork", _by("vehicle__customer"), False),
    ("feedback.FollowUp", _by("order__customer"), False),
    ("feedback.CallAttempt", _by("follow_up__order__customer"), False),
    ("feedback.SurveyResponse", _by("customer"), False),
    ("feedback.SurveyAnswer", _by("response__customer"), False),
    ("feedback.RecoveryTask", _by("order__customer"), False),
    ("feedback.Complaint", _by("customer"), False),
    ("feedback.ComplaintEvent", _by("complaint__customer"), False),
    ("feedback.Suggestion", _by("customer"), False),
    ("messaging.OutboxMessage", _by("customer"), False),
    ("messaging.InboundMessage", _by("customer"), False),
    ("reminders.Reminder", _by("customer"), False),
    ("campaigns.CampaignMember", _by("customer"), False),
    ("care.CareAdvisor", _by("customer"), False),
    ("care.CareAction", _by("customer"), False),
    ("crm.TierChange", _by("customer"), False),
    ("analytics.CommentIssue", _by("customer"), False),
    ("rescue.RescueRequest", _by("customer"), False),
    ("telematics.OdometerDay", _by("vehicle__customer"), False),
    ("telematics.VehicleEvent", _by("vehicle__customer"), False),
    ("telematics.VehicleAlert", _by("vehicle__customer"), False),
    ("privacy.RightsRequest", _by("customer"), False),
    ("core.IdempotencyRecord", _idempotency_rows, True),
    ("core.AuditEntry", _unmasking_log, True),
)


def customer_querysets(customer: Customer) -> list[tuple[type[models.Model], QuerySet[Any]]]:
    """Every model's rows that belong to the customer (the export's sections, the erasure's scope)."""
    found = []
    for label, rows, is_queryset in CUSTOMER_ROWS:
        model = apps.get_model(label)
        if is_queryset:
            queryset = cast(QuerySet[Any], rows(customer))
        else:
            queryset = model._default_manager.filter(cast(Q, rows(customer)))
        found.append((model, queryset.order_by("pk")))
    return found


def _key(field: models.Field[Any, Any]) -> str:
    return field.name.removesuffix("_encrypted") if field.name.endswith("_encrypted") else field.name


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)  # a UUID, a duration


def _row(row: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in row._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        if field.is_relation:
            data[field.name] = getattr(row, field.attname)  # the id (the PDF shows the related record's name)
            continue
        value = getattr(row, field.attname)
        if field.name.endswith("_encrypted"):
            value = crypto.decrypt(value)
        data[_key(field)] = _plain(value)
    return data


def customer_export_data(customer: Customer) -> dict[str, Any]:
    """Everything the group holds about the customer, JSON-able: {"format", "customer_id", "exported_at",
    "records": {model label: [row, …]}} (a pure read)."""
    records: dict[str, list[dict[str, Any]]] = {}
    for model, queryset in customer_querysets(customer):
        records[model._meta.label] = [_row(row) for row in queryset]
    return {
        "format": FORMAT_VERSION,
        "customer_id": customer.pk,
        "exported_at": timezone.localtime(clock.now()).isoformat(),
        "records": records,
    }


# ---------------------------------------------------------------------------------------------------- the PDF


def _shown(row: models.Model, field: models.Field[Any, Any]) -> str:
    """A field's value in words for the PDF (choices by their label, related records by their name)."""
    if field.is_relation:
        related = getattr(row, field.name, None)
        if related is None:
            return ""
        if isinstance(related, User):
            return related.get_full_name() or related.get_username()
        return str(related)
    value = getattr(row, field.attname)
    if field.name.endswith("_encrypted"):
        return crypto.decrypt(value)
    if field.choices and value not in (None, ""):
        return str(getattr(row, f"get_{field.name}_display")())
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    if isinstance(value, FieldFile):
        return value.name or ""
    return "" if value is None else str(value)


# The PDF's headings where a model's plural name reads badly as a heading.
SECTION_TITLES: dict[str, Any] = {
    "customers.Customer": gettext_lazy("Profile"),
    "customers.CustomerStoreLink": gettext_lazy("Stores you deal with"),
    "customers.Consent": gettext_lazy("Your consents"),
    "customers.ConsentEvent": gettext_lazy("History of your consents"),
    "service.RepairOrder": gettext_lazy("Repair orders (visits)"),
    "service.Estimate": gettext_lazy("Estimates and bills"),
    "service.EstimateLine": gettext_lazy("Work and parts on the estimates and bills"),
    "messaging.OutboxMessage": gettext_lazy("Messages sent to you"),
    "messaging.InboundMessage": gettext_lazy("Messages from you"),
    "core.IdempotencyRecord": gettext_lazy("Answers of the API kept for retries (24 hours)"),
    "core.AuditEntry": gettext_lazy("Who saw your personal data in full (unmasking log)"),
}

# Not shown in the readable copy (they are in the JSON): keys, bookkeeping times and the search hashes, which
# mean nothing to a reader.
_PDF_HIDDEN = frozenset({"id", "customer", "created_at", "updated_at", "group"})


def _label(field: models.Field[Any, Any]) -> str:
    """The field's name for a reader: an encrypted column is shown decrypted, so its "(encrypted)" goes."""
    label = str(field.verbose_name)
    return label.replace(str(_(" (encrypted)")), "").replace("（加密）", "").replace(" (encrypted)", "")


def _sections(customer: Customer) -> list[dict[str, Any]]:
    sections = []
    for model, queryset in customer_querysets(customer):
        rows = []
        for row in queryset:
            fields = [
                {"label": _label(field), "value": _shown(row, field)}
                for field in row._meta.concrete_fields
                if field.name not in SECRET_FIELDS
                and field.name not in _PDF_HIDDEN
                and not field.name.endswith("_hash")
            ]
            rows.append({"title": f"{model._meta.verbose_name} #{row.pk}", "fields": [f for f in fields if f["value"]]})
        title = SECTION_TITLES.get(model._meta.label) or model._meta.verbose_name_plural
        sections.append({"title": str(title), "label": model._meta.label, "rows": rows})
    return sections


def export_html(customer: Customer, *, language: str) -> str:
    """The readable copy as HTML in `language`: the PDF's source (and what a test can read)."""
    with translation.override(language):
        return render_to_string(
            "privacy/export_pdf.html",
            {
                "customer": customer,
                "language": language,
                "exported_at": timezone.localtime(clock.now()),
                "sections": _sections(customer),
            },
        )


def export_pdf(customer: Customer, *, language: str) -> bytes:
    from weasyprint import HTML  # imported here: pango is needed only where a PDF is rendered

    return bytes(HTML(string=export_html(customer, language=language)).write_pdf())


# ---------------------------------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class CustomerExport:
    json_bytes: bytes
    pdf_bytes: bytes
    filename_stem: str


def export_customer(
    *, customer: Customer, by: User, language: str, rights_request: RightsRequest | None = None
) -> CustomerExport:
    """The customer's data as JSON and PDF, for a rights request or at the desk; refused (PermissionDenied) unless
    `by` handles rights requests in a store the customer is linked to.  Audited (which formats, which request),
    never what was exported."""
    store_id = acting_store_id(by, Capability.HANDLE_RIGHTS_REQUESTS, customer)
    if store_id is None:
        raise PermissionDenied(_("Your role may not export this customer's data."))
    if rights_request is not None:
        # A copy goes to the person whose identity was checked, never to whoever filed a request in their name.
        if rights_request.customer_id != customer.pk:
            raise ValidationError({"rights_request": [_("This request is about another customer.")]})
        if rights_request.identity_checked_at is None:
            raise ValidationError(
                {"rights_request": [_("Check the customer's identity on the request before exporting their data.")]}
            )
    data = customer_export_data(customer)
    json_bytes = json.dumps(data, ensure_ascii=False, indent=2).encode()
    pdf_bytes = export_pdf(customer, language=language or "zh-hans")
    audit_record(
        actor=by,
        action="customer.export",
        obj=customer,
        store_id=store_id,
        changes={"rights_request": rights_request.pk if rights_request else None, "language": language},
    )
    stem = f"customer-{customer.pk}-{timezone.localdate(clock.now()):%Y%m%d}"
    return CustomerExport(json_bytes=json_bytes, pdf_bytes=pdf_bytes, filename_stem=stem)
