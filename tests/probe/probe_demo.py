"""Security probe of a *running* demo: cross-store reads and writes, existence oracles, 5xx, forged customer
decisions, login throttling.

Run it in the same environment as the demo (the same ``AFTERSALES_DATA_DIR`` or ``DATABASE_URL``, and
``SECRET_KEY`` if set), because it reads sample ids from the demo's database, issues (and afterwards revokes) API
tokens for the demo users, signs customer links and lifts the lock it provokes::

    AFTERSALES_DATA_DIR=/tmp/as-demo aftersales demo --port 8765 &
    AFTERSALES_DATA_DIR=/tmp/as-demo .venv/bin/python -m tests.probe.probe_demo --base http://127.0.0.1:8765

Options: ``--prepare`` first adds what the demo data lacks, through the real services and kept for later runs: a
second dealer group (code ``probe-other``, store ``PX01``, one object of every kind) so that the group manager's
isolation is probed too, a CAPA with an action in HZ01 and a photo on an open order of SH01 and HZ01;
``--only api,pages,links,throttle`` runs some parts; ``--verbose`` prints every request.

What it does, as every demo user (advisor, technician, agent, parts, manager, group, admin):

* API: every operation of /api/v1/openapi.json with ids of the user's store, of another store (HZ01 for store
  roles, the other group's store for the group roles) and ids that do not exist (also own parent + foreign child,
  huge, zero and negative ids); ids and store codes of another store in bodies; malformed bodies (wrong types,
  missing fields, lone surrogate escapes, huge strings, huge numbers, invalid and deeply nested JSON, 2 MB).
* Pages: every staff URL pattern with an id (Django's URL resolver), GET and POST, same ids, plus malformed forms.
* Customer links: tampered order, appointment and survey tokens; another order's token with this order's line;
  a decision posted from a staff session; ``customer_link`` in API answers for roles that do not send links.
* Log-in throttling: six wrong passwords for one user from one address lock it (also against the right password,
  not from another address); ``aftersales axes_reset_username`` lifts it.

Checks: no 5xx ever; another store's id answers exactly like a missing one (same status, same body once the ids
are blanked); nothing of another store changes; tampered links are refused (4xx); no decision is recorded from a
staff session; no customer link for technician, parts clerk and group manager. Prints a summary (requests per
check, every finding with method, path, role, status, body excerpt); exit code 0 without findings, 1 with.
Public POSTs are spread over loopback addresses 127.0.0.2-254 (their rate limit is per address) when the base
URL is on 127.0.0.1.  Runs in a few minutes; it writes to the demo's own store (SH01) like a user would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "aftersales-demo"
ROLES = ("advisor", "technician", "agent", "parts", "manager", "group", "admin")
GROUP_WIDE = ("group", "admin")  # see every store of the demo group
NO_LINK_ROLES = ("technician", "parts", "group")
HOME, NEIGHBOUR = "SH01", "HZ01"
OTHER_GROUP, OTHER_STORE = "probe-other", "PX01"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"{([^}]+)}")
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"|csrf[-_]?token[^>]{0,40}content="[^"]*"', re.I)
LINK_IN_TEXT = re.compile(r"/(?:r|a|feedback/survey)/[A-Za-z0-9_\-:.]{20,}/")
TWO_MB = 2 * 1024 * 1024

# API path parameter → kind of object; a new parameter is a finding until it is mapped here.
API_PARAMS = {
    "customer_id": "customer",
    "vehicle_id": "vehicle",
    "appointment_id": "appointment",
    "order_id": "order",
    "line_id": "line",
    "complaint_id": "complaint",
    "suggestion_id": "suggestion",
    "follow_up_id": "follow_up",
    "response_id": "response",
    "recovery_id": "recovery",
    "capa_id": "capa",
    "action_id": "action",
}
# Integer body fields that name another record → kind (staff:<role> = a member of staff with that role).
BODY_REFS = {
    "customer": "customer",
    "vehicle": "vehicle",
    "order": "delivered_order",
    "complaint": "complaint",
    "alternative_to": "line",
    "bay": "bay",
    "advisor": "staff:advisor",
    "technician": "staff:technician",
    "owner": "staff:advisor",
    "to": "staff:advisor",
}
# Staff page URL name → kinds of its arguments ("phone" is a literal).  A page with an argument that is not here
# and not a customer link is a finding, so new pages are noticed.
PAGE_ARGS: dict[str, tuple[str, ...]] = {
    "customers:customer-detail": ("customer",),
    "customers:customer-edit": ("customer",),
    "customers:customer-reveal": ("customer", "=phone"),
    "customers:consent-update": ("customer",),
    "customers:vehicle-create": ("customer",),
    "customers:vehicle-edit": ("vehicle",),
    "service:appointment-reschedule": ("appointment",),
    "service:appointment-cancel": ("appointment",),
    "service:appointment-driver": ("appointment",),
    "service:appointment-check-in": ("appointment",),
    "service:order-detail": ("order",),
    "service:order-inspection": ("order",),
    "service:order-attachment-add": ("order",),
    "service:estimate-line-add": ("order",),
    "service:order-assign": ("order",),
    "service:order-transition": ("order",),
    "service:order-quality-check": ("order",),
    "service:order-deliver": ("order",),
    "service:order-bill": ("order",),
    "service:deferred-add-to-order": ("order", "deferred"),
    "service:estimate-line-remove": ("line",),
    "service:estimate-line-decide": ("line",),
    "service:estimate-choice-decide": ("order",),
    "service:part-trace": ("line",),
    "service:estimate-send": ("estimate",),
    "service:file": ("attachment",),
    "service:deferred-dismiss": ("deferred",),
    "service:customer-history": ("customer",),
    "feedback:follow-up-call": ("follow_up",),
    "feedback:survey-detail": ("response",),
    "feedback:recovery-detail": ("recovery",),
    "feedback:order-survey-qr": ("delivered_order",),
    "feedback:complaint-detail": ("complaint",),
    "feedback:complaint-acknowledge": ("complaint",),
    "feedback:complaint-contact": ("complaint",),
    "feedback:complaint-resolve": ("complaint",),
    "feedback:complaint-close": ("complaint",),
    "feedback:complaint-reopen": ("complaint",),
    "feedback:complaint-transfer": ("complaint",),
    "feedback:suggestion-detail": ("suggestion",),
    "feedback:suggestion-decide": ("suggestion",),
    "feedback:suggestion-tell": ("suggestion",),
    "feedback:capa-detail": ("capa",),
    "feedback:capa-update": ("capa",),
    "feedback:capa-action-add": ("capa",),
    "feedback:capa-action-done": ("capa", "action"),
    "feedback:capa-transition": ("capa",),
}
# Customer pages: a signed token or a store code, probed by the links part.
LINK_PAGES = {
    "service:customer-book",
    "service:customer-book-slots",
    "service:customer-appointment",
    "service:customer-order",
    "service:customer-order-decide",
    "service:customer-order-choose",
    "service:customer-order-rate",
    "service:customer-order-file",
    "service:customer-order-bill",
    "feedback:customer-survey",
}
# Pages without an id that the pages part does not fetch: log-out would end the session, the rest are not staff pages.
PLAIN_SKIP = {"logout", "login", "set_language", "store-switch"}
# Children whose parent is the previous argument: "mixed" = own parent with a foreign child.
CHILD_OF = {"line": "order", "action": "capa", "deferred": "order"}
# Form fields posted to staff pages: valid values, so only the store check can stop a write.
FORM = {
    "reason": "probe",
    "note": "probe",
    "description": "probe",
    "title": "probe",
    "resolution": "probe",
    "explanation": "probe",
    "decision": "approved",
    "outcome": "refused",
    "to": "waiting",
    "channel": "desk",
    "mileage_in": "1000",
    "fuel_level": "50",
    "passed": "on",
    "satisfaction": "5",
    "customer_confirmed": "on",
    "name": "探针",
    "kind": "fee",
    "amount": "1",
}
# Fields that background sweeps may change at any time.
VOLATILE = {"updated_at", "efficiency_warned_at", "escalation_level", "escalated_at", "overdue_at"}


# ----------------------------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Http:
    """A tiny client (http.client) that can bind a source address and keeps cookies."""

    def __init__(self, base: str, source: str | None = None, timeout: float = 60) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.source, self.timeout = source, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Answer:
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout, source_address=(self.source, 0) if self.source else None
        )
        sent = {"Host": f"{self.host}:{self.port}", "Accept-Language": "en", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method.upper(), path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            return Answer(599, {}, f"no answer: {exc!r}".encode())
        finally:
            connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if "max-age=0" in value.lower() or val in ("", '""'):
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val.strip()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def form(self, path: str, data: dict | bytes, extra: dict | None = None) -> Answer:
        body = data if isinstance(data, bytes) else urllib.parse.urlencode(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(extra or {})}
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return self.request("POST", path, body, headers)


def csrf_of(html: bytes) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1).decode() if found else ""


# ----------------------------------------------------------------------------------------------------------------
# Findings


@dataclass
class Finding:
    check: str
    problem: str
    method: str
    path: str
    role: str
    status: int
    excerpt: str
    expected: str = ""
    minor: bool = False  # bad-input hygiene, not one of the issue's "Done when" properties


@dataclass
class Report:
    verbose: bool = False
    requests: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, check: str, method: str, path: str, role: str, answer: Answer) -> Answer:
        self.requests[check] += 1
        if self.verbose:
            print(f"  {check:<10} {role:<10} {method.upper():<6} {answer.status} {path[:120]}", flush=True)
        if answer.status >= 500:
            self.add(check, "5xx", method, path, role, answer, expected="no 5xx")
        return answer

    def add(self, check, problem, method, path, role, answer: Answer | None, expected="", minor=False) -> None:
        excerpt = re.sub(r"\s+", " ", answer.text())[:300] if answer else ""
        status = answer.status if answer else 0
        self.findings.append(Finding(check, problem, method.upper(), path, role, status, excerpt, expected, minor))


def blank(body: bytes, ids: set[str]) -> bytes:
    """The body with the request's own ids, store codes and CSRF tokens blanked, for comparing two answers."""
    body = CSRF.sub(b"csrf", body)
    for value in sorted(ids, key=len, reverse=True):
        body = re.sub(rb"(?<![0-9A-Za-z])" + re.escape(value.encode()) + rb"(?![0-9A-Za-z])", b"<id>", body)
    return body


# ----------------------------------------------------------------------------------------------------------------
# The demo's database (read ids, issue tokens, sign links, snapshot another store's records)


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.config.settings")
    import django

    django.setup()


def make_other_group() -> None:
    """A second dealer group with one store and one object of every kind, through the real services."""
    from aftersales.config.testing import make_group, make_store, make_user
    from aftersales.organisation.choices import Role
    from aftersales.organisation.models import DealerGroup
    from tests.test_api_isolation import objects_of_store

    if DealerGroup.objects.filter(code=OTHER_GROUP).exists():
        return
    group = make_group(OTHER_GROUP, "探针外部集团")
    store = make_store(group, OTHER_STORE, "探针外部门店")
    advisor = make_user("probe-px01-advisor", Role.ADVISOR, store=store)
    make_user("probe-px01-technician", Role.TECHNICIAN, store=store)
    objects_of_store(store, advisor, "沪A")  # plates are unique per store


def fill_gaps(note: Any) -> None:
    """What the demo data lacks for a complete probe, through the real services: a photo on an open order of SH01
    and HZ01, a CAPA with an action in HZ01."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from aftersales.feedback import services as feedback_services
    from aftersales.feedback.models import Capa
    from aftersales.organisation.models import Membership, Store
    from aftersales.service import services
    from aftersales.service.models import Attachment, RepairOrder

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for code in (HOME, NEIGHBOUR):
        store = Store.objects.get(code=code)
        advisor = Membership.objects.filter(store=store, role="advisor").order_by("user_id").first().user
        if not Attachment.objects.filter(order__store=store).exists():
            open_orders = RepairOrder.objects.filter(store=store).exclude(status__in=["delivered", "cancelled"])
            for order in open_orders.order_by("pk")[:5]:
                try:
                    services.attachment_add(
                        order=order, by=advisor, upload=SimpleUploadedFile("probe.png", png), purpose="inspection"
                    )
                    break
                except Exception as exc:  # noqa: BLE001 - try the next order; say why at the end
                    note(f"prepare: no photo on {order.number}: {exc}")
        manager = Membership.objects.filter(store=store, role="manager").order_by("user_id").first()
        if manager and not Capa.objects.filter(store=store).exists():
            capa = feedback_services.capa_open(
                store=store,
                by=manager.user,
                title="探针CAPA",
                cluster_category="waiting",
                cluster_month=dt.date.today().replace(day=1),
            )
            feedback_services.capa_action_add(
                capa=capa,
                by=manager.user,
                description="探针措施",
                owner=advisor,
                due_date=dt.date.today() + dt.timedelta(days=30),
            )


def _first(queryset: Any) -> int | None:
    row = queryset.order_by("pk").values_list("pk", flat=True).first()
    return int(row) if row is not None else None


def sample_ids(code: str) -> dict[str, int | None]:
    """One id of every kind in store `code`, preferring records in a state where most moves are possible."""
    from aftersales.customers.models import Customer, Vehicle
    from aftersales.feedback.models import (
        Capa,
        CapaAction,
        Complaint,
        FollowUp,
        RecoveryTask,
        Suggestion,
        SurveyResponse,
    )
    from aftersales.organisation.models import Bay, Membership, Store
    from aftersales.service.models import Appointment, Attachment, DeferredWork, Estimate, EstimateLine, RepairOrder

    store = Store.objects.get(code=code)
    orders = RepairOrder.objects.filter(store=store)
    order = _first(orders.exclude(status__in=["delivered", "cancelled"]).filter(estimates__lines__isnull=False))
    order = order or _first(orders)
    capas = Capa.objects.filter(store=store)
    capa = _first(capas.filter(actions__isnull=False)) or _first(capas)
    appointments = Appointment.objects.filter(store=store)
    deferred = DeferredWork.objects.filter(store=store)
    ids: dict[str, int | None] = {
        "customer": _first(Customer.objects.filter(store=store, vehicles__isnull=False)),
        "vehicle": _first(Vehicle.objects.filter(store=store)),
        "appointment": _first(appointments.filter(status="booked")) or _first(appointments),
        "order": order,
        "line": _first(EstimateLine.objects.filter(estimate__order_id=order)),
        "estimate": _first(Estimate.objects.filter(order_id=order)),
        "attachment": _first(Attachment.objects.filter(order__store=store)),
        "deferred": _first(deferred.filter(status="open")) or _first(deferred),
        "delivered_order": _first(orders.filter(status="delivered")),
        "complaint": _first(Complaint.objects.filter(store=store)),
        "suggestion": _first(Suggestion.objects.filter(store=store)),
        "follow_up": _first(FollowUp.objects.filter(store=store)),
        "response": _first(SurveyResponse.objects.filter(store=store)),
        "recovery": _first(RecoveryTask.objects.filter(store=store)),
        "capa": capa,
        "action": _first(CapaAction.objects.filter(capa_id=capa)),
        "bay": _first(Bay.objects.filter(store=store)),
    }
    for role in ("advisor", "technician", "agent", "manager"):
        member = Membership.objects.filter(store=store, role=role).order_by("user_id").first()
        ids[f"staff:{role}"] = member.user_id if member else None
    return ids


# Kinds sampled together (a child must belong to its parent).
RELATED = (("order", "line", "estimate"), ("capa", "action"))


def merged(samples: list[dict[str, int | None]]) -> dict[str, int | None]:
    """The first sample's ids, with kinds it lacks taken from the next samples (related kinds together)."""
    result = dict(samples[0])
    for sample in samples[1:]:
        for kinds in [*RELATED, *[(k,) for k in result if not any(k in group for group in RELATED)]]:
            if any(result.get(k) is None for k in kinds) and all(sample.get(k) is not None for k in kinds):
                result.update({k: sample[k] for k in kinds})
    return result


def missing_ids() -> dict[str, int]:
    """Ids that exist nowhere: far above the largest id of each table."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max

    from aftersales.customers.models import Customer, Vehicle
    from aftersales.feedback.models import (
        Capa,
        CapaAction,
        Complaint,
        FollowUp,
        RecoveryTask,
        Suggestion,
        SurveyResponse,
    )
    from aftersales.organisation.models import Bay
    from aftersales.service.models import Appointment, Attachment, DeferredWork, Estimate, EstimateLine, RepairOrder

    models = {
        "customer": Customer,
        "vehicle": Vehicle,
        "appointment": Appointment,
        "order": RepairOrder,
        "delivered_order": RepairOrder,
        "line": EstimateLine,
        "estimate": Estimate,
        "attachment": Attachment,
        "deferred": DeferredWork,
        "complaint": Complaint,
        "suggestion": Suggestion,
        "follow_up": FollowUp,
        "response": SurveyResponse,
        "recovery": RecoveryTask,
        "capa": Capa,
        "action": CapaAction,
        "bay": Bay,
    }
    found = {kind: (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 900_000 for kind, model in models.items()}
    top = (get_user_model().objects.aggregate(m=Max("pk"))["m"] or 0) + 900_000
    found.update({f"staff:{role}": top for role in ("advisor", "technician", "agent", "manager")})
    return found


def snapshot(codes: list[str], id_sets: list[dict]) -> dict[str, Any]:
    """Counts per store of the stores `codes`, and the sampled records `id_sets` with their children's counts."""
    from django.forms.models import model_to_dict

    from aftersales.core.models import AuditEntry
    from aftersales.customers.models import ConsentEvent, Customer, Vehicle
    from aftersales.feedback.models import (
        CallAttempt,
        Capa,
        CapaAction,
        CapaEvent,
        Complaint,
        ComplaintEvent,
        ComplaintTransfer,
        FollowUp,
        RecoveryTask,
        Suggestion,
        SurveyResponse,
    )
    from aftersales.organisation.models import Store
    from aftersales.service.models import (
        Appointment,
        Attachment,
        DeferredWork,
        EstimateLine,
        RepairOrder,
        RepairOrderEvent,
    )

    per_store = (Customer, Vehicle, Appointment, RepairOrder, Complaint, Suggestion, Capa, SurveyResponse, FollowUp)
    records = {
        "customer": Customer,
        "vehicle": Vehicle,
        "appointment": Appointment,
        "order": RepairOrder,
        "line": EstimateLine,
        "deferred": DeferredWork,
        "complaint": Complaint,
        "suggestion": Suggestion,
        "follow_up": FollowUp,
        "recovery": RecoveryTask,
        "capa": Capa,
        "action": CapaAction,
    }
    state: dict[str, Any] = {}
    for code in codes:
        store = Store.objects.get(code=code)
        for model in per_store:
            state[f"{code} count {model.__name__}"] = model.objects.filter(store=store).count()
        state[f"{code} count AuditEntry"] = AuditEntry.objects.filter(store_id=store.pk).count()
        state[f"{code} count EstimateLine"] = EstimateLine.objects.filter(estimate__order__store=store).count()
        state[f"{code} count Attachment"] = Attachment.objects.filter(order__store=store).count()
    for number, ids in enumerate(id_sets):
        code = f"sample {number}"
        children = {
            "RepairOrderEvent": RepairOrderEvent.objects.filter(order_id=ids["order"]),
            "ComplaintEvent": ComplaintEvent.objects.filter(complaint_id=ids["complaint"]),
            "ComplaintTransfer": ComplaintTransfer.objects.filter(complaint_id=ids["complaint"]),
            "CapaEvent": CapaEvent.objects.filter(capa_id=ids["capa"]),
            "CallAttempt": CallAttempt.objects.filter(follow_up_id=ids["follow_up"]),
            "ConsentEvent": ConsentEvent.objects.filter(customer_id=ids["customer"]),
        }
        for name, queryset in children.items():
            state[f"{code} children {name}"] = queryset.count()
        for kind, model in records.items():
            if ids.get(kind):
                row = model.objects.filter(pk=ids[kind]).first()
                values = {k: v for k, v in model_to_dict(row).items() if k not in VOLATILE} if row else None
                state[f"{code} {kind} #{ids[kind]}"] = repr(values)
    return state


def issue_tokens() -> tuple[dict[str, str], list[int]]:
    from aftersales.organisation.services import api_token_issue

    tokens, records = {}, []
    for role in ROLES:
        token, record = api_token_issue(username=role, name="probe_demo")
        tokens[role] = token
        records.append(record.pk)
    return tokens, records


def revoke_tokens(pks: list[int]) -> None:
    from django.utils import timezone

    from aftersales.organisation.models import ApiToken

    ApiToken.objects.filter(pk__in=pks).update(revoked_at=timezone.now())


# ----------------------------------------------------------------------------------------------------------------
# Bodies from the OpenAPI document

PLAUSIBLE = {
    "name": "探针客户",
    "phone": "13800009999",
    "plate": "沪A9P001",
    "vin": "LSVAB12C0T0000009",
    "brand": "大众",
    "model_name": "帕萨特",
    "description": "probe",
    "reason": "probe",
    "note": "probe",
    "explanation": "probe",
    "resolution": "probe",
    "title": "probe",
    "customer_words": "probe",
}


def resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def non_null(schema: dict, components: dict) -> dict:
    schema = resolve(schema, components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if resolve(o, components).get("type") != "null"]
            return non_null(options[0], components) if options else {"type": "null"}
    return schema


def example(schema: dict, components: dict, name: str = "") -> Any:
    """A value the schema accepts (required properties only), plausible for the field's name."""
    schema = non_null(schema, components)
    if "enum" in schema:
        return next((v for v in schema["enum"] if v), schema["enum"][0])
    kind = schema.get("type")
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    if kind == "object":
        props = schema.get("properties", {})
        return {key: example(props[key], components, key) for key in schema.get("required", []) if key in props}
    if kind == "array":
        return []
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if schema.get("format") == "date-time":
        return f"{tomorrow.isoformat()}T10:00:00+08:00"
    if schema.get("format") == "date":
        return (dt.date.today() + dt.timedelta(days=30)).isoformat()
    if name == "store":
        return HOME
    return PLAUSIBLE.get(name, "probe")


def properties(schema: dict, components: dict) -> dict[str, dict]:
    return {k: non_null(v, components) for k, v in non_null(schema, components).get("properties", {}).items()}


def wrong_type(prop: dict) -> Any:
    kind = prop.get("type")
    if kind == "string":
        return 12345
    if kind in ("integer", "number"):
        return "not-a-number"
    if kind == "boolean":
        return "maybe"
    if kind == "object":
        return ["not", "an", "object"]
    if kind == "array":
        return {"not": "a list"}
    return None


def malformed_bodies(base: dict, props: dict[str, dict]) -> list[tuple[str, bytes, str]]:
    """(name, raw body, content type): every kind of bad input once."""
    strings = [k for k, p in props.items() if p.get("type") == "string" and "enum" not in p]
    numbers = [k for k, p in props.items() if p.get("type") in ("integer", "number")]
    cases: list[tuple[str, bytes, str]] = []
    if props:
        cases.append(("wrong types", json.dumps({k: wrong_type(p) for k, p in props.items()}).encode(), "json"))
    cases.append(("missing fields", b"{}", "json"))
    if strings:
        text = json.dumps({**base, **dict.fromkeys(strings, "x@@SURROGATE@@")})
        cases.append(("lone surrogate", text.replace("@@SURROGATE@@", "\\ud800").encode(), "json"))
        text = json.dumps({**base, **dict.fromkeys(strings, "a@@SURROGATE@@b")})
        cases.append(("low surrogate", text.replace("@@SURROGATE@@", "\\udfff").encode(), "json"))
        cases.append(
            ("control chars", json.dumps({**base, **dict.fromkeys(strings, "a\x00b\x7f\x9b")}).encode(), "json")
        )
        cases.append(("huge string", json.dumps({**base, strings[0]: "長" * 300_000}).encode(), "json"))
    if numbers:
        cases.append(("huge number", json.dumps({**base, **dict.fromkeys(numbers, 2**70)}).encode(), "json"))
        cases.append(("float for int", json.dumps({**base, **dict.fromkeys(numbers, 1e308)}).encode(), "json"))
        cases.append(("NaN", json.dumps({**base, **dict.fromkeys(numbers, float("nan"))}).encode(), "json"))
    cases += [
        ("invalid JSON", b'{"broken": ', "json"),
        ("not an object", b"[1, 2, 3]", "json"),
        ("null", b"null", "json"),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "json"),
        ("invalid UTF-8", b'{"x": "\xed\xa0\x80\xff"}', "json"),
        ("form instead of JSON", b"a=1&b=2", "form"),
        ("2 MB body", b'{"x": "' + b"a" * TWO_MB + b'"}', "json"),
    ]
    return cases


# ----------------------------------------------------------------------------------------------------------------
# The probe


class Probe:
    def __init__(self, args: argparse.Namespace) -> None:
        self.base = args.base.rstrip("/")
        self.strict = args.strict
        self.report = Report(verbose=args.verbose)
        host = urllib.parse.urlsplit(self.base).hostname or ""
        self.loopback = host in ("127.0.0.1", "localhost")
        self.pool = itertools.cycle(f"127.0.0.{n}" for n in range(2, 255)) if self.loopback else None
        self.staff_source = "127.0.0.1" if self.loopback else None
        self.tokens: dict[str, str] = {}
        self.token_pks: list[int] = []
        self.sessions: dict[str, Http] = {}
        self.ids: dict[str, dict[str, Any]] = {}
        self.missing: dict[str, int] = {}
        self.public_posts = 0

    # -- helpers --------------------------------------------------------------------------------------------------

    def anonymous(self) -> Http:
        """A cookie-less visitor; each gets the next loopback address, so public POST rate limits never mix in."""
        return Http(self.base, source=next(self.pool) if self.pool else None)

    def home_of(self, role: str) -> str:
        return HOME

    def foreign_stores(self, role: str) -> list[str]:
        """Stores the role must not see, present in this database."""
        if role == "admin":
            return []  # the administrator sees everything
        if role in GROUP_WIDE:
            return [label for label in self.ids if label == OTHER_STORE]
        return [label for label in self.ids if label != HOME]

    def api(self, role: str, method: str, path: str, body: bytes | None = None, kind: str = "json", check="api"):
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        if body is not None:
            headers["Content-Type"] = "application/json" if kind == "json" else "application/x-www-form-urlencoded"
        answer = Http(self.base, source=self.staff_source).request(method, path, body, headers)
        self.report.count(check, method, path, role, answer)
        if 400 <= answer.status < 500 and answer.json() is None and answer.status != 405:
            self.report.add(check, "API error that is not JSON", method, path, role, answer, "JSON", minor=True)
        return answer

    def page(self, role: str, method: str, path: str, data: dict | bytes | None = None, check="pages") -> Answer:
        client = self.sessions[role]
        if method == "get":
            answer = client.request("GET", path)
        else:
            answer = client.form(path, data if data is not None else {})
        return self.report.count(check, method, path, role, answer)

    def same(self, check, role, method, path_other, path_missing, theirs: Answer, nothing: Answer, ids: set[str]):
        """Another store's id must answer exactly like a missing one."""
        if theirs.status != nothing.status:
            self.report.add(
                check,
                f"existence oracle: another store's id answers {theirs.status}, a missing id {nothing.status}",
                method,
                path_other,
                role,
                theirs,
                f"{nothing.status} like {path_missing}",
            )
        elif blank(theirs.body, ids) != blank(nothing.body, ids):
            self.report.add(
                check,
                "existence oracle: same status but a different body for another store's id and a missing id",
                method,
                path_other,
                role,
                theirs,
                f"the body of {path_missing}: {' '.join(nothing.text().split())[:200]}",
            )
        if 200 <= theirs.status < 400 and theirs.status != nothing.status:
            self.report.add(
                check, "cross-store access: another store's record answered", method, path_other, role, theirs, "404"
            )

    # -- set-up ---------------------------------------------------------------------------------------------------

    def login(self, role: str, source: str | None) -> Http:
        client = Http(self.base, source=source)
        page = client.request("GET", "/accounts/login/")
        answer = client.form(
            "/accounts/login/",
            {"username": role, "password": PASSWORD, "csrfmiddlewaretoken": csrf_of(page.body)},
            {"Referer": self.base + "/accounts/login/"},
        )
        self.report.count("login", "post", "/accounts/login/", role, answer)
        if answer.status != 302 or "sessionid" not in client.cookies:
            raise SystemExit(f"cannot log in as {role}: {answer.status} {answer.text()[:200]}")
        return client

    def setup(self, prepare: bool) -> None:
        if prepare:
            make_other_group()
            fill_gaps(self.report.notes.append)
        from aftersales.organisation.models import Store

        home = Store.objects.get(code=HOME)
        self.neighbours = list(
            Store.objects.filter(group=home.group).exclude(pk=home.pk).order_by("code").values_list("code", flat=True)
        )
        self.neighbours.sort(key=lambda code: code != NEIGHBOUR)  # HZ01 first, the others fill its gaps
        self.ids = {HOME: sample_ids(HOME), NEIGHBOUR: merged([sample_ids(code) for code in self.neighbours])}
        if Store.objects.filter(code=OTHER_STORE).exists():
            self.ids[OTHER_STORE] = sample_ids(OTHER_STORE)
        self.missing = missing_ids()
        for code, ids in self.ids.items():
            empty = sorted(kind for kind, pk in ids.items() if pk is None)
            if empty:
                self.report.notes.append(f"{code} has no record of kind {', '.join(empty)}: those cases are skipped")
        if OTHER_STORE not in self.ids:
            self.report.notes.append(
                "only one dealer group: the group manager's isolation is not probed (use --prepare)"
            )
        self.tokens, self.token_pks = issue_tokens()
        for role in ROLES:
            self.sessions[role] = self.login(role, self.staff_source)

    # -- API ------------------------------------------------------------------------------------------------------

    def openapi(self) -> dict:
        answer = Http(self.base).request("GET", "/api/v1/openapi.json")
        if answer.status != 200:
            raise SystemExit(f"/api/v1/openapi.json answered {answer.status}")
        return json.loads(answer.body)

    def fill(self, template: str, values: dict[str, Any]) -> str:
        return PARAM.sub(lambda m: urllib.parse.quote(str(values[m.group(1)]), safe=""), template)

    def probe_api(self) -> None:
        document = self.openapi()
        components = document.get("components", {}).get("schemas", {})
        operations = []
        for template, item in document["paths"].items():
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                params = PARAM.findall(template)
                unmapped = [p for p in params if p not in API_PARAMS]
                if unmapped:
                    self.report.add(
                        "api", f"unmapped path parameter {unmapped}: add it to API_PARAMS", method, template, "-", None
                    )
                    continue
                schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
                query = [x["name"] for x in operation.get("parameters", []) if x.get("in") == "query"]
                operations.append((method, template, params, schema, query))
        print(f"API: {len(operations)} operations", flush=True)
        for role in ROLES:
            started = time.monotonic()
            for method, template, params, schema, query in operations:
                self.api_operation(role, method, template, params, schema, components)
                if query:
                    self.api_query(
                        role, method, self.fill(template, {p: self.ids[HOME][API_PARAMS[p]] for p in params}), query
                    )
            print(f"  {role}: done in {time.monotonic() - started:.0f} s", flush=True)
        # Without a token, or with a wrong one, everything is 401 and nothing else.
        for method, template, params, _schema, _query in operations:
            path = self.fill(template, {p: self.ids[HOME][API_PARAMS[p]] or 1 for p in params})
            for label, headers in (("no token", {}), ("wrong token", {"Authorization": "Bearer as_wrong"})):
                answer = Http(self.base).request(method, path, b"{}" if method != "get" else None, headers)
                self.report.count("api-auth", method, path, label, answer)
                if answer.status != 401:
                    self.report.add("api-auth", "not 401", method, path, label, answer, "401")

    def visible(self, role: str) -> set[str] | None:
        """Store codes whose records the role may list (None: any)."""
        if role == "admin":
            return None
        return {HOME, *self.neighbours} if role in GROUP_WIDE else {HOME}

    def api_query(self, role: str, method: str, path: str, query: list[str]) -> None:
        """Lists: only visible stores' records; another store's code or order answers like a missing one; odd
        values never a 5xx."""
        answer = self.api(role, method, path, check="api-query")
        self.check_items(role, method, path, answer)
        if "store" in query:
            for code in self.foreign_stores(role):
                store_code = OTHER_STORE if code == OTHER_STORE else NEIGHBOUR
                a = self.api(role, method, f"{path}?store={store_code}", check="api-query")
                b = self.api(role, method, f"{path}?store=ZZ99", check="api-query")
                self.same(
                    "api-query",
                    role,
                    method,
                    f"{path}?store={store_code}",
                    f"{path}?store=ZZ99",
                    a,
                    b,
                    {store_code, "ZZ99"},
                )
                self.check_items(role, method, f"{path}?store={store_code}", a)
        if "order" in query:
            for code in self.foreign_stores(role):
                theirs, missing = self.ids[code].get("delivered_order"), self.missing["delivered_order"]
                if theirs:
                    a = self.api(role, method, f"{path}?order={theirs}", check="api-query")
                    b = self.api(role, method, f"{path}?order={missing}", check="api-query")
                    self.same(
                        "api-query",
                        role,
                        method,
                        f"{path}?order={theirs}",
                        f"{path}?order={missing}",
                        a,
                        b,
                        {str(theirs), str(missing)},
                    )
        odd = {
            "limit": ["-1", "0", str(2**70)],
            "offset": ["-5", str(2**70)],
            "q": ["%ED%A0%80", "x" * 3000, "%00"],
            "date": ["2024-13-45", "99999-01-01"],
            "month": ["x", "2024-13"],
            "store": ["%ED%A0%80", "x" * 300],
            "order": [str(2**70), "-1"],
            "status": ["nope"],
        }
        for name in query:
            for value in odd.get(name, ["%ED%A0%80"]):
                self.api(role, method, f"{path}?{name}={value}", check="api-query")

    def check_items(self, role: str, method: str, path: str, answer: Answer) -> None:
        data, visible = answer.json(), self.visible(role)
        if visible is None or not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return
        foreign = sorted({i.get("store") for i in data["items"] if isinstance(i, dict) and i.get("store")} - visible)
        if foreign:
            self.report.add(
                "api-query",
                f"cross-store read: the list holds records of {foreign}",
                method,
                path,
                role,
                answer,
                f"only {sorted(visible)}",
            )

    def api_operation(self, role, method, template, params, schema, components) -> None:
        base_body = example(schema, components) if schema else None
        raw = json.dumps(base_body).encode() if schema else None
        kinds = [API_PARAMS[p] for p in params]
        own = {p: self.ids[HOME][k] for p, k in zip(params, kinds, strict=True)}
        if None in own.values():
            return
        # Own store: anything but a 5xx.
        answer = self.api(role, method, self.fill(template, own), raw)
        if role in NO_LINK_ROLES and LINK_IN_TEXT.search(answer.text()):
            self.report.add(
                "links",
                "customer link given to a role that does not send links",
                method,
                self.fill(template, own),
                role,
                answer,
                "no customer link",
            )
        if params:
            missing = {p: self.missing[k] for p, k in zip(params, kinds, strict=True)}
            path_missing = self.fill(template, missing)
            nothing = self.api(role, method, path_missing, raw, check="api-ids")
            for code in self.foreign_stores(role):
                theirs_ids = {p: self.ids[code][k] for p, k in zip(params, kinds, strict=True)}
                if None in theirs_ids.values():
                    continue
                path_other = self.fill(template, theirs_ids)
                theirs = self.api(role, method, path_other, raw, check="api-ids")
                blanks = {str(v) for v in [*theirs_ids.values(), *missing.values()]}
                self.same("api-ids", role, method, path_other, path_missing, theirs, nothing, blanks)
                if len(params) == 2:  # own parent, foreign child
                    mixed = {params[0]: own[params[0]], params[1]: theirs_ids[params[1]]}
                    mixed_missing = {params[0]: own[params[0]], params[1]: missing[params[1]]}
                    a = self.api(role, method, self.fill(template, mixed), raw, check="api-ids")
                    b = self.api(role, method, self.fill(template, mixed_missing), raw, check="api-ids")
                    blanks = {str(theirs_ids[params[1]]), str(missing[params[1]])}
                    self.same(
                        "api-ids",
                        role,
                        method,
                        self.fill(template, mixed),
                        self.fill(template, mixed_missing),
                        a,
                        b,
                        blanks,
                    )
            for odd in (2**64, 0, -1):
                self.api(role, method, self.fill(template, dict.fromkeys(params, odd)), raw, check="api-ids")
        if not schema:
            return
        props = properties(schema, components)
        # Ids and store codes of another store inside the body answer like missing ones.
        for name, prop in props.items():
            ref = "store" if name == "store" and prop.get("type") == "string" else BODY_REFS.get(name)
            if not ref or (ref != "store" and prop.get("type") != "integer"):
                continue
            for code in self.foreign_stores(role):
                if ref == "store":
                    theirs_value, missing_value = code, "ZZ99"
                else:
                    theirs_value, missing_value = self.ids[code].get(ref), self.missing[ref]
                if theirs_value is None:
                    continue
                path = self.fill(template, own)
                theirs = self.api(
                    role, method, path, json.dumps({**base_body, name: theirs_value}).encode(), check="api-body"
                )
                nothing = self.api(
                    role, method, path, json.dumps({**base_body, name: missing_value}).encode(), check="api-body"
                )
                self.same(
                    "api-body",
                    role,
                    method,
                    f"{path} {{{name}: {theirs_value}}}",
                    f"{{{name}: {missing_value}}}",
                    theirs,
                    nothing,
                    {str(theirs_value), str(missing_value)},
                )
        # Malformed bodies: a clear 4xx, never a 5xx; the 2 MB body 413.
        path = self.fill(template, own)
        for label, body, kind in malformed_bodies(base_body or {}, props):
            answer = self.api(role, method, path, body, kind, check="api-bad")
            if label == "2 MB body" and answer.status != 413:
                self.report.add("api-bad", "2 MB body not refused with 413", method, path, role, answer, "413")
            elif label not in ("missing fields",) and 200 <= answer.status < 300 and label != "huge number":
                if label in (
                    "lone surrogate",
                    "low surrogate",
                    "control chars",
                    "invalid JSON",
                    "invalid UTF-8",
                    "deep nesting",
                    "not an object",
                    "null",
                    "wrong types",
                ):
                    self.report.add(
                        "api-bad",
                        f"{label} accepted",
                        method,
                        path,
                        role,
                        answer,
                        "4xx",
                        minor=label in ("not an object", "null"),
                    )

    # -- pages ----------------------------------------------------------------------------------------------------

    def page_patterns(self) -> list[tuple[str, str, list[str]]]:
        """(url name, route with {0}, {1} … for its arguments, argument names) for every page with an argument."""
        from django.urls import URLPattern, URLResolver, get_resolver

        found = []

        def walk(resolver, prefix, namespace):
            for pattern in resolver.url_patterns:
                route = prefix + str(pattern.pattern)
                if isinstance(pattern, URLResolver):
                    if pattern.namespace in ("admin", "api"):
                        continue
                    inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                    walk(pattern, route, inner)
                elif isinstance(pattern, URLPattern):
                    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
                    template = route
                    for index, arg in enumerate(names):
                        template = re.sub(r"<(?:\w+:)?" + arg + ">", "{" + str(index) + "}", template, count=1)
                    found.append((f"{namespace}{pattern.name}", "/" + template.lstrip("^"), names))

        walk(get_resolver(), "", "")
        return found

    def probe_pages(self) -> None:
        patterns = self.page_patterns()
        staff, plain = [], []
        for name, template, args in patterns:
            if name in LINK_PAGES or name in PLAIN_SKIP:
                continue
            if not args:
                plain.append(template)
                continue
            if name not in PAGE_ARGS:
                self.report.add("pages", "page with an id not mapped in PAGE_ARGS", "GET", template, "-", None)
                continue
            staff.append((name, template, PAGE_ARGS[name]))
        print(f"Pages: {len(staff)} staff URL patterns with an id", flush=True)
        for role in ROLES:
            started = time.monotonic()
            for name, template, kinds in staff:
                self.page_pattern(role, name, template, kinds)
            for template in plain:
                self.plain_page(role, template)
            self.store_switch(role)
            print(f"  {role}: done in {time.monotonic() - started:.0f} s", flush=True)

    def plain_page(self, role: str, path: str) -> None:
        """A page without an id: never a 5xx whatever the query; another store's code answers like a missing one."""
        answer = self.page(role, "get", path, check="pages-list")
        if role in NO_LINK_ROLES and LINK_IN_TEXT.search(answer.text()):
            self.report.add(
                "links",
                "customer link shown to a role that does not send links",
                "GET",
                path,
                role,
                answer,
                "no customer link",
            )
        for code in self.foreign_stores(role):
            store_code = OTHER_STORE if code == OTHER_STORE else NEIGHBOUR
            a = self.page(role, "get", f"{path}?store={store_code}", check="pages-list")
            b = self.page(role, "get", f"{path}?store=ZZ99", check="pages-list")
            if a.status != b.status:
                self.report.add(
                    "pages-list",
                    f"existence oracle: ?store={store_code} answers {a.status}, ?store=ZZ99 {b.status}",
                    "GET",
                    f"{path}?store={store_code}",
                    role,
                    a,
                    str(b.status),
                )
        for query in (
            "q=%ED%A0%80",
            "q=" + "x" * 3000,
            "page=" + str(2**70),
            "page=-1",
            "day=2024-13-45",
            "date=99999-01-01",
            "month=x",
            "status=nope",
            "store=%00",
            "sort=%ED%A0%80",
        ):
            self.page(role, "get", f"{path}?{query}", check="pages-list")

    def store_switch(self, role: str) -> None:
        """Switching to another store's id (or a missing, a huge one) is refused and shows nothing of it; `next`
        never leads off the site."""
        from aftersales.organisation.models import Store

        for code in self.foreign_stores(role):
            store = Store.objects.get(code=OTHER_STORE if code == OTHER_STORE else NEIGHBOUR)
            for value in (str(store.pk), str(self.missing["order"]), str(2**70), "%ED%A0%80"):
                answer = self.page(
                    role, "post", "/store/switch/", {"store": value, "next": "/customers/"}, check="pages-list"
                )
                shown = self.page(role, "get", "/customers/", check="pages-list")
                if store.name in shown.text():
                    self.report.add(
                        "pages-list",
                        f"store switch to {store.code} ({value}) shows its name",
                        "POST",
                        "/store/switch/",
                        role,
                        answer,
                        "refused",
                    )
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example/"):
            answer = self.page(role, "post", "/store/switch/", {"store": "", "next": target}, check="pages-list")
            location = answer.headers.get("location", "")
            if "evil.example" in location:
                self.report.add(
                    "pages-list",
                    "open redirect through next",
                    "POST",
                    "/store/switch/",
                    role,
                    answer,
                    "a redirect on this site",
                )
        self.page(role, "post", "/store/switch/", {"store": str(self.home_store_pk())}, check="pages-list")

    def home_store_pk(self) -> int:
        from aftersales.organisation.models import Store

        return Store.objects.get(code=HOME).pk

    def page_args(self, kinds: tuple[str, ...], source: dict) -> list[Any] | None:
        values = [k[1:] if k.startswith("=") else source.get(k) for k in kinds]
        return None if None in values else values

    def page_pattern(self, role: str, name: str, template: str, kinds: tuple[str, ...]) -> None:
        own = self.page_args(kinds, self.ids[HOME])
        missing = self.page_args(kinds, self.missing)
        if own is None or missing is None:
            return
        form = {**FORM, "technician": self.ids[HOME]["staff:technician"], "owner": self.ids[HOME]["staff:advisor"]}
        for method in ("get", "post"):
            answer = self.page(role, method, template.format(*own), form)
            if role in NO_LINK_ROLES and LINK_IN_TEXT.search(answer.text()):
                self.report.add(
                    "links",
                    "customer link shown to a role that does not send links",
                    method,
                    template.format(*own),
                    role,
                    answer,
                    "no customer link",
                )
            nothing = self.page(role, method, template.format(*missing), form, check="pages-ids")
            for code in self.foreign_stores(role):
                theirs = self.page_args(kinds, self.ids[code])
                if theirs is None:
                    continue
                answer = self.page(role, method, template.format(*theirs), form, check="pages-ids")
                blanks = {str(v) for v in [*theirs, *missing]}
                self.same(
                    "pages-ids",
                    role,
                    method,
                    template.format(*theirs),
                    template.format(*missing),
                    answer,
                    nothing,
                    blanks,
                )
                if len(kinds) == 2 and kinds[1] in CHILD_OF:  # own parent, foreign child
                    mixed = template.format(own[0], theirs[1])
                    mixed_missing = template.format(own[0], missing[1])
                    a = self.page(role, method, mixed, form, check="pages-ids")
                    b = self.page(role, method, mixed_missing, form, check="pages-ids")
                    self.same("pages-ids", role, method, mixed, mixed_missing, a, b, {str(theirs[1]), str(missing[1])})
        # Huge id (database integer overflow) and malformed forms: never a 5xx.
        huge = template.format(*[2**64 if not str(k).startswith("=") else k[1:] for k in kinds])
        self.page(role, "get", huge, check="pages-bad")
        path = template.format(*own)
        for body in (
            b"name=%ED%A0%80&description=%ED%A0%80&reason=%00%7F&note=" + b"x" * 200_000,
            b"name=" + b"a" * TWO_MB,
            b"%%%&&&==\xff\xfe",
        ):
            self.page(role, "post", path, body, check="pages-bad")

    # -- customer links -------------------------------------------------------------------------------------------

    def probe_links(self) -> None:
        from aftersales.feedback.services.links import survey_link_token
        from aftersales.service.models import Appointment, Attachment, EstimateLine, RepairOrder
        from aftersales.service.services.links import appointment_link_token, order_link_token

        pending = (
            EstimateLine.objects.filter(estimate__order__store__code=HOME, estimate__status="sent", decision="pending")
            .select_related("estimate__order")
            .order_by("pk")
        )
        lines = list(pending[:50])
        by_order: dict[int, list] = {}
        for line in lines:
            by_order.setdefault(line.estimate.order_id, []).append(line)
        orders = list(by_order)
        if len(orders) < 2:
            self.report.notes.append("fewer than two orders with undecided lines in SH01: link checks reduced")
        order = RepairOrder.objects.get(pk=orders[0]) if orders else RepairOrder.objects.filter(store__code=HOME)[0]
        other = RepairOrder.objects.filter(store__code=HOME).exclude(pk=order.pk).order_by("pk").first()
        token, other_token = order_link_token(order), order_link_token(other)
        line = by_order[order.pk][0] if orders else None
        appointment = Appointment.objects.filter(store__code=HOME, status="booked").order_by("pk").first()
        delivered = RepairOrder.objects.filter(store__code=HOME, status="delivered").order_by("pk").first()
        line_id = line.pk if line else 1

        def tampered(value: str) -> dict[str, str]:
            flipped = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
            middle = len(value) // 2
            return {
                "flipped signature": flipped,
                "flipped payload": value[:middle] + ("x" if value[middle] != "x" else "y") + value[middle + 1 :],
                "truncated": value[:-6],
                "garbage": "abc",
                "dots": "..",
                "long": "A" * 1500,
            }

        def refused(label: str, method: str, path: str, answer: Answer, ok=(400, 403, 404, 410, 414)) -> None:
            self.report.count("links", method, path, "customer", answer)
            if answer.status not in ok:
                self.report.add("links", f"{label}: not refused", method, path, "customer", answer, f"one of {ok}")

        decisions_before = dict(EstimateLine.objects.filter(pk__in=[x.pk for x in lines]).values_list("pk", "decision"))
        for label, bad in tampered(token).items():
            quoted = urllib.parse.quote(bad, safe="")
            for method, path, data in (
                ("get", f"/r/{quoted}/", None),
                ("post", f"/r/{quoted}/decide/{line_id}/", {"decision": "approved"}),
                ("post", f"/r/{quoted}/rate/", {"rating": "10"}),
                ("get", f"/r/{quoted}/bill.pdf", None),
                ("get", f"/r/{quoted}/files/1/", None),
            ):
                client = self.anonymous()
                answer = client.request("GET", path) if data is None else client.form(path, data)
                refused(f"order link, {label}", method, path, answer)
        if appointment:
            for label, bad in tampered(appointment_link_token(appointment)).items():
                path = f"/a/{urllib.parse.quote(bad, safe='')}/"
                refused(f"appointment link, {label}", "get", path, self.anonymous().request("GET", path))
                refused(
                    f"appointment link, {label}",
                    "post",
                    path,
                    self.anonymous().form(path, {"action": "cancel", "reason": "probe"}),
                )
        if delivered:
            survey = survey_link_token(delivered)
            order_as_survey = f"/feedback/survey/{urllib.parse.quote(order_link_token(delivered), safe='')}/"
            refused(
                "an order token on the survey page",
                "get",
                order_as_survey,
                self.anonymous().request("GET", order_as_survey),
            )
            for label, bad in tampered(survey).items():
                path = f"/feedback/survey/{urllib.parse.quote(bad, safe='')}/"
                refused(f"survey link, {label}", "get", path, self.anonymous().request("GET", path))
                refused(
                    f"survey link, {label}",
                    "post",
                    path,
                    self.anonymous().form(path, {"overall": "10", "recommend": "10"}),
                )
        # Another (valid) order's token with this order's line: the line is not that order's.
        if line:
            path = f"/r/{urllib.parse.quote(other_token, safe='')}/decide/{line.pk}/"
            refused(
                "another order's token with this order's line",
                "post",
                path,
                self.anonymous().form(path, {"decision": "approved"}),
                ok=(403, 404),
            )
        other_file = Attachment.objects.filter(order__store__code=HOME).exclude(order=order).order_by("pk").first()
        if other_file:
            path = f"/r/{urllib.parse.quote(token, safe='')}/files/{other_file.pk}/"
            refused(
                "this token with another order's file id", "get", path, self.anonymous().request("GET", path), ok=(404,)
            )
        decisions_after = dict(EstimateLine.objects.filter(pk__in=[x.pk for x in lines]).values_list("pk", "decision"))
        if decisions_after != decisions_before:
            changed = {pk for pk in decisions_before if decisions_before[pk] != decisions_after.get(pk)}
            self.report.add(
                "links",
                f"tampered links changed line decisions {sorted(changed)}",
                "POST",
                "/r/…/decide/",
                "customer",
                None,
                "no change",
            )
        # A decision posted with a staff session is refused and nothing is recorded.
        if line:
            path = f"/r/{urllib.parse.quote(token, safe='')}/decide/{line.pk}/"
            for role in ("advisor", "manager", "technician", "parts", "group", "admin"):
                answer = self.sessions[role].form(path, {"decision": "approved"})
                self.report.count("links", "post", path, role, answer)
                line.refresh_from_db()
                if line.decision != "pending":
                    self.report.add(
                        "links",
                        f"forged customer decision: the line is now {line.decision} (channel {line.decision_channel})",
                        "POST",
                        path,
                        role,
                        answer,
                        "refused, line stays pending",
                    )
                    break
                if "staff_session" not in answer.headers.get("location", ""):
                    self.report.add(
                        "links",
                        "staff session decision: no clear refusal (error=staff_session)",
                        "POST",
                        path,
                        role,
                        answer,
                        "302 to ?error=staff_session",
                    )
            # The API's desk decision cannot claim the customer's channel.
            for role in ROLES:
                api_path = f"/api/v1/repair-orders/{order.pk}/lines/{line.pk}/decision"
                body = json.dumps({"decision": "approved", "channel": "link"}).encode()
                answer = self.api(role, "post", api_path, body, check="links")
                line.refresh_from_db()
                if answer.status < 400 or line.decision != "pending":
                    self.report.add(
                        "links",
                        "the API recorded a decision on the customer's channel",
                        "POST",
                        api_path,
                        role,
                        answer,
                        "422, line stays pending",
                    )
            # The customer's own decision (no session) goes through: the refusal above is about the session.
            answer = self.anonymous().form(path, {"decision": "declined"})
            self.report.count("links", "post", path, "customer", answer)
            line.refresh_from_db()
            if line.decision != "declined" or line.decision_channel != "link":
                self.report.add(
                    "links",
                    "control failed: the customer's own decision was not recorded",
                    "POST",
                    path,
                    "customer",
                    answer,
                    "declined through the link",
                )
        # customer_link in API answers.
        self.probe_customer_link(order, appointment)

    def probe_customer_link(self, order, appointment) -> None:
        paths = [f"/api/v1/repair-orders/{order.pk}", "/api/v1/repair-orders?limit=20"]
        if appointment:
            paths += [f"/api/v1/appointments/{appointment.pk}", "/api/v1/appointments?limit=20"]
        for role in ROLES:
            for path in paths:
                answer = self.api(role, "get", path, check="links")
                data = answer.json()
                items = data.get("items", [data]) if isinstance(data, dict) else []
                links = [item.get("customer_link") for item in items if isinstance(item, dict)]
                given = [link for link in links if link]
                if role in NO_LINK_ROLES and given:
                    self.report.add(
                        "links",
                        "customer_link given to a role that does not send links",
                        "GET",
                        path,
                        role,
                        answer,
                        "customer_link null",
                    )
                if answer.status == 200:
                    self.report.notes.append(
                        f"customer_link for {role} on {path.split('?')[0]}: {'given' if given else 'null'}"
                    )

    # -- log-in throttling ----------------------------------------------------------------------------------------

    def probe_throttle(self, user: str = "parts") -> None:
        source = "127.0.0.253" if self.loopback else None
        client = Http(self.base, source=source)
        statuses = []
        try:
            for attempt in range(6):
                page = client.request("GET", "/accounts/login/")
                answer = client.form(
                    "/accounts/login/",
                    {"username": user, "password": f"wrong-{attempt}", "csrfmiddlewaretoken": csrf_of(page.body)},
                )
                self.report.count("throttle", "post", "/accounts/login/", user, answer)
                statuses.append(answer.status)
            if statuses[-1] != 429:
                self.report.add(
                    "throttle",
                    f"six wrong passwords did not lock (statuses {statuses})",
                    "POST",
                    "/accounts/login/",
                    user,
                    answer,
                    "429 at the 5th and 6th",
                )
            page = client.request("GET", "/accounts/login/")
            right = client.form(
                "/accounts/login/", {"username": user, "password": PASSWORD, "csrfmiddlewaretoken": csrf_of(page.body)}
            )
            self.report.count("throttle", "post", "/accounts/login/", user, right)
            if right.status != 429:
                self.report.add(
                    "throttle",
                    "the right password gets in during the lock",
                    "POST",
                    "/accounts/login/",
                    user,
                    right,
                    "429",
                )
            if self.loopback:  # the lock is per name and address: the same person elsewhere is not locked out
                elsewhere = self.login_status(user, "127.0.0.252")
                if elsewhere != 302:
                    self.report.add(
                        "throttle",
                        f"locked from another address too ({elsewhere})",
                        "POST",
                        "/accounts/login/",
                        user,
                        None,
                        "302",
                    )
        finally:
            self.reset_lock(user)
        after = self.login_status(user, source)
        self.report.count("throttle", "post", "/accounts/login/", user, Answer(after, {}, b""))
        if after != 302:
            self.report.add(
                "throttle",
                f"axes_reset_username did not lift the lock ({after})",
                "POST",
                "/accounts/login/",
                user,
                None,
                "302",
            )
        self.report.notes.append(
            f"throttle: wrong passwords answered {statuses}, then right password {right.status}, "
            f"after axes_reset_username {after}"
        )

    def login_status(self, user: str, source: str | None) -> int:
        client = Http(self.base, source=source)
        page = client.request("GET", "/accounts/login/")
        answer = client.form(
            "/accounts/login/", {"username": user, "password": PASSWORD, "csrfmiddlewaretoken": csrf_of(page.body)}
        )
        return answer.status

    def reset_lock(self, user: str) -> None:
        command = [sys.executable, "-m", "aftersales", "axes_reset_username", user]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)  # noqa: S603
        if done.returncode:
            self.report.add("throttle", f"axes_reset_username failed: {done.stderr[-300:]}", "-", "-", user, None)

    # -- run ------------------------------------------------------------------------------------------------------

    def run(self, parts: set[str], prepare: bool) -> int:
        started = time.monotonic()
        self.setup(prepare)
        foreign = [*self.neighbours, *([OTHER_STORE] if OTHER_STORE in self.ids else [])]
        id_sets = [ids for label, ids in self.ids.items() if label != HOME]
        before = snapshot(foreign, id_sets)
        try:
            if "api" in parts:
                self.probe_api()
            if "pages" in parts:
                self.probe_pages()
            if "links" in parts:
                self.probe_links()
            if "throttle" in parts:
                self.probe_throttle()
        finally:
            revoke_tokens(self.token_pks)
        after = snapshot(foreign, id_sets)
        for key in sorted(before):
            if before[key] != after.get(key):
                self.report.add(
                    "writes",
                    f"another store changed: {key}: {before[key][:150]!s} -> {str(after.get(key))[:150]}",
                    "-",
                    "-",
                    "-",
                    None,
                    "unchanged",
                )
        self.report.requests["writes (records compared)"] = len(before)
        return self.summary(time.monotonic() - started, self.strict)

    def summary(self, seconds: float, strict: bool = False) -> int:
        report = self.report
        report.findings.sort(key=lambda f: f.minor)
        print(f"\nProbe of {self.base} — {sum(report.requests.values())} requests in {seconds:.0f} s")
        for check, number in sorted(report.requests.items()):
            print(f"  {check:<28} {number}")
        for note in report.notes:
            print(f"  note: {note}")
        major = [f for f in report.findings if not f.minor]
        print(f"\n{len(major)} finding(s), {len(report.findings) - len(major)} minor (one line for all roles alike)")
        grouped: dict[tuple, list[Finding]] = {}
        for f in report.findings:
            grouped.setdefault((f.minor, f.check, f.problem, f.method, f.path, f.status), []).append(f)
        for (minor, check, problem, method, path, status), same in grouped.items():
            first, roles = same[0], ", ".join(dict.fromkeys(f.role for f in same))
            shown = path if len(path) <= 160 else path[:150] + "…" + path[-10:]
            expected = f" (expected {first.expected})" if first.expected else ""
            print(f"- [{check}{' minor' if minor else ''}] {problem}")
            print(f"    {method} {shown} as {roles} → {status}{expected}\n    {first.excerpt}")
        return 1 if major or (strict and report.findings) else 0


def main(argv: list[str] | None = None) -> int:
    global ROLES  # noqa: PLW0603 - the probe runs once per process
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the demo's address, e.g. http://127.0.0.1:8765")
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="first add what the demo lacks (a second dealer group, a CAPA in HZ01, photos); kept for later runs",
    )
    parser.add_argument("--only", default="api,pages,links,throttle", help="comma-separated parts to run")
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated demo users to probe as")
    parser.add_argument("--strict", action="store_true", help="minor findings fail the run too")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    django_setup()
    ROLES = tuple(role for role in ROLES if role in args.roles.split(","))
    return Probe(args).run(set(args.only.split(",")), args.prepare)


if __name__ == "__main__":
    sys.exit(main())
