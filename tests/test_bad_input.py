"""Bad input, once and for all: the text rule (core/text.py), the date bounds (core/dates.py) and the body
size limit, proven on every interface.

* The API sweep is derived from the OpenAPI document: every operation with a JSON body, every string field
  in it (nested objects in lists and text values of maps included), gets a lone surrogate (sent as the JSON
  escape "\\ud800", as a client would), NUL, a C0 control, DEL and a C1 control; a single-line field also a
  line break and a tab.  Each answers 422 naming exactly that field and writes nothing.  A field marked
  multi-line (`"x-multiline": true`) accepts line breaks.  A new endpoint is covered without touching this file.
* A sample of the pages' forms (customer, vehicle, online booking, complaint intake) through the test
  client: the same values are shown next to the field and nothing is written; a lone surrogate is checked
  on the bound forms (a form body cannot carry one: undecodable bytes arrive as U+FFFD, refused the same way).
* Oversized and undecodable bodies, and dates out of bounds.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from aftersales.config.api import api
from aftersales.config.testing import make_customer, make_vehicle, unique_mobile, unique_vin
from aftersales.core import clock
from aftersales.core.text import BROKEN_MESSAGE, CONTROL_MESSAGE, ONE_LINE_MESSAGE

pytestmark = pytest.mark.django_db

API_PREFIX = "/api/v1/"
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}  # the messages are compared with the English texts
_PARAM = re.compile(r"{([^}]+)}")

# Every value breaks the rule wherever it is sent; the name is the test id.
BAD_ANYWHERE = {
    "lone surrogate": ("x\ud800y", BROKEN_MESSAGE),
    "replacement character": ("x\ufffdy", BROKEN_MESSAGE),
    "NUL": ("x\x00y", CONTROL_MESSAGE),
    "C0 control": ("x\x1by", CONTROL_MESSAGE),
    "DEL": ("x\x7fy", CONTROL_MESSAGE),
    "C1 control": ("x\x85y", CONTROL_MESSAGE),
}
BAD_ON_ONE_LINE = {
    "line break": ("x\ny", ONE_LINE_MESSAGE),
    "carriage return": ("x\r\ny", ONE_LINE_MESSAGE),
    "tab": ("x\ty", ONE_LINE_MESSAGE),
}


# --------------------------------------------------------------------------------------------- the schema


_DOCUMENT: dict[str, Any] = {}


def _document() -> dict[str, Any]:
    """The OpenAPI document, built once (building it is slow)."""
    if not _DOCUMENT:
        _DOCUMENT.update(api.get_openapi_schema(path_prefix=API_PREFIX))
    return _DOCUMENT


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _options(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a schema (itself when it is not a union)."""
    schema = _resolve(schema, components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [_resolve(o, components) for o in schema[key] if o.get("type") != "null"]
    return [schema]


def _is_text(schema: dict[str, Any], siblings: Sequence[dict[str, Any]] = ()) -> bool:
    """A free text: a string that is not a choice, a date, a pattern-bound code, or a decimal number's
    string form (a string next to a number in a union)."""
    if schema.get("type") != "string" or {"enum", "format", "pattern", "const"} & set(schema):
        return False
    return not any(other.get("type") == "number" for other in siblings)


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The smallest value the schema accepts (required properties only), dates within every bound."""
    option = _options(schema, components)[0]
    if "enum" in option:
        return option["enum"][0]
    kind = option.get("type")
    if kind == "object":
        properties = option.get("properties", {})
        return {name: _example(properties[name], components) for name in option.get("required", [])}
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return max(1, option.get("minimum", 1))
    # Today (an hour ago) lies inside every bound: a planned day's (a year back to five years ahead) and a day that
    # happened (not after today).
    if option.get("format") == "date-time":
        return (timezone.localtime() - dt.timedelta(hours=1)).replace(microsecond=0).isoformat()
    if option.get("format") == "date":
        return clock.today().isoformat()
    return "x"


def _text_fields(schema: dict[str, Any], components: dict[str, Any]) -> list[tuple[tuple, bool]]:
    """(path in the body, multi-line?) of every free-text field: top level, in the objects of a list
    (`damage_marks.0.note`), and the text values of a map (`answers.comment`)."""
    found: list[tuple[tuple, bool]] = []
    for name, prop in _resolve(schema, components).get("properties", {}).items():
        options = _options(prop, components)
        for option in options:
            if _is_text(option, options):
                found.append(((name,), bool(option.get("x-multiline"))))
            elif option.get("type") == "array" and "items" in option:
                item = _resolve(option["items"], components)
                for sub, sub_prop in item.get("properties", {}).items():
                    sub_options = _options(sub_prop, components)
                    for sub_option in sub_options:
                        if _is_text(sub_option, sub_options):
                            found.append(((name, 0, sub), bool(sub_option.get("x-multiline"))))
            elif option.get("type") == "object" and isinstance(option.get("additionalProperties"), dict):
                mapped = _resolve(option["additionalProperties"], components)
                values = _options(mapped, components)
                for value in values:
                    if _is_text(value, values):
                        found.append(((name, "comment"), bool(mapped.get("x-multiline") or value.get("x-multiline"))))
    return found


def _cases() -> list[Any]:
    document = _document()
    components = document.get("components", {}).get("schemas", {})
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not content:
                continue
            for field, multiline in _text_fields(content["schema"], components):
                name = ".".join(str(p) for p in field)
                cases.append(
                    pytest.param(
                        method, path, content["schema"], field, multiline, id=f"{method} {path} {name}", marks=()
                    )
                )
    return cases


CASES = _cases()


def test_the_sweep_is_not_empty():
    """Guards against a sweep that proves nothing because the schema walk found no field."""
    names = {case.id for case in CASES}
    assert len(CASES) >= 60, names
    for expected in ("post /api/v1/customers name", "post /api/v1/customers address", "post /api/v1/vehicles brand"):
        assert expected in names
    assert any(name.endswith("damage_marks.0.note") for name in names)
    assert any(name.endswith("answers.comment") for name in names)


def _body_with(schema: dict[str, Any], field: tuple, value: str) -> dict[str, Any]:
    """The smallest accepted body, with `value` at `field`."""
    components = _document().get("components", {}).get("schemas", {})
    body = _example(schema, components)
    if len(field) == 1:
        body[field[0]] = value
    elif isinstance(field[1], int):  # one object in a list
        prop = _resolve(schema, components)["properties"][field[0]]
        item = {**_example(_options(prop, components)[0]["items"], components), field[2]: value}
        body[field[0]] = [item]
    else:  # a text value in a map
        body[field[0]] = {field[1]: value}
    return body


def row_counts() -> dict[str, int]:
    """Every table of the project and of auth, so that any write shows."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"auth", "core", "organisation", "customers", "messaging", "service", "feedback"}
    }


@pytest.fixture
def sweep(cast, api_token):
    """Path ids: a real customer and vehicle of store A (so a write that slipped through would show in the
    row counts and the audit trail), a missing id for the rest (the schema answers before the handler
    looks anything up, so a 404 there means a field was not checked); the manager's token."""
    customer = make_customer(cast.store_a, by=cast.alice, name="扫描客户")
    vehicle = make_vehicle(customer, by=cast.alice)
    ids = {"customer_id": customer.pk, "vehicle_id": vehicle.pk}
    return ids, {**api_token(cast.mia), **ENGLISH}


def _send(client, method, path, ids, headers, body):
    url = _PARAM.sub(lambda m: str(ids.get(m.group(1), 999_999)), path)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **headers)


def _field_errors(response) -> dict[str, list[str]]:
    assert response["Content-Type"].startswith("application/problem+json"), response.content[:200]
    payload = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(payload), payload  # a problem (RFC 9457)
    return payload["errors"]


@pytest.mark.parametrize(("method", "path", "schema", "field", "multiline"), CASES)
def test_every_text_field_of_the_api_refuses_broken_text(client, sweep, method, path, schema, field, multiline):
    ids, headers = sweep
    name = ".".join(str(p) for p in field)
    bad = dict(BAD_ANYWHERE) if multiline else {**BAD_ANYWHERE, **BAD_ON_ONE_LINE}
    before = row_counts()
    wrong = {}
    for label, (value, message) in bad.items():
        response = _send(client, method, path, ids, headers, _body_with(schema, field, value))
        errors = _field_errors(response) if response.status_code == 422 else {}
        if response.status_code != 422 or errors != {name: [str(message)]}:
            wrong[label] = (response.status_code, errors or response.content[:300])
    assert not wrong, wrong
    assert row_counts() == before


@pytest.mark.parametrize(("method", "path", "schema", "field", "multiline"), [case for case in CASES if case.values[4]])
def test_multi_line_fields_take_line_breaks(client, sweep, method, path, schema, field, multiline):
    ids, headers = sweep
    response = _send(client, method, path, ids, headers, _body_with(schema, field, "第一行\n第二行\r\n\t第三行"))
    name = ".".join(str(p) for p in field)
    assert response.status_code < 500
    if response.status_code == 422:
        assert name not in _field_errors(response)


def test_the_lone_surrogates_of_the_issue_are_422_naming_the_field(client, cast, api_token):
    """The bodies the review sent, byte for byte: a 500 before."""
    headers = {**api_token(cast.alice), **ENGLISH}
    customer = make_customer(cast.store_a)
    before = row_counts()
    for field in ("name", "address"):
        body = {"store": "SH01", "name": "张三", "phone": unique_mobile(), field: "x\ud800"}
        raw = json.dumps(body).encode()
        assert b'"x\\ud800"' in raw
        response = client.post("/api/v1/customers", raw, content_type="application/json", **headers)
        assert response.status_code == 422 and set(_field_errors(response)) == {field}
    for field in ("brand", "model_name"):
        body = {"customer": customer.pk, "vin": unique_vin(), "brand": "大众", "model_name": "朗逸", field: "x\ud800"}
        response = client.post("/api/v1/vehicles", json.dumps(body), content_type="application/json", **headers)
        assert response.status_code == 422 and set(_field_errors(response)) == {field}
    assert row_counts() == before


def test_a_surrogate_sent_as_utf8_bytes_is_422_naming_the_field(client, cast, api_token):
    """Python's JSON reader lets the bytes ED A0 80 through as a lone surrogate; the rule catches it."""
    headers = {**api_token(cast.alice), **ENGLISH}
    raw = b'{"store": "SH01", "name": "x\xed\xa0\x80", "phone": "13812345678"}'
    before = row_counts()
    response = client.post("/api/v1/customers", raw, content_type="application/json", **headers)
    assert response.status_code == 422 and _field_errors(response) == {"name": [str(BROKEN_MESSAGE)]}
    assert row_counts() == before


@pytest.mark.parametrize(
    "raw",
    [b'{"store": "SH01", "name": "\xff\xfe", "phone": "13812345678"}', b"\xff", b'{"store": "SH01", "name": '],
)
def test_a_body_that_is_not_utf8_json_is_400_in_the_error_shape(client, cast, api_token, raw):
    headers = api_token(cast.alice)
    before = row_counts()
    response = client.post("/api/v1/customers", raw, content_type="application/json", **headers)
    assert response.status_code == 400 and set(_field_errors(response)) == {"body"}
    assert row_counts() == before


def test_text_is_stripped_and_normalised_to_nfc(client, cast, api_token):
    headers = api_token(cast.alice)
    body = {"store": "SH01", "name": "  Jose\u0301 张三\u3000", "phone": unique_mobile()}
    response = client.post("/api/v1/customers", json.dumps(body), content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Jos\u00e9 张三"


# --------------------------------------------------------------------------------------------- body size


def test_a_body_over_the_limit_is_413_json_and_writes_nothing(client, cast, api_token):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"store": "SH01", "name": "张三", "phone": unique_mobile(), "address": "长" * limit})
    assert len(body.encode()) > limit
    headers = api_token(cast.alice)
    before = row_counts()
    response = client.post("/api/v1/customers", body, content_type="application/json", **headers)
    assert response.status_code == 413
    assert set(_field_errors(response)) == {"body"}
    assert row_counts() == before


def test_a_body_just_under_the_limit_is_read(client, cast, api_token):
    """The 413 comes from the size, not from the endpoint: a big but allowed body reaches validation."""
    body = json.dumps({"store": "SH01", "name": "张三", "phone": unique_mobile(), "address": "x" * 500_000})
    assert len(body.encode()) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/api/v1/customers", body, content_type="application/json", **api_token(cast.alice))
    assert response.status_code == 422 and set(_field_errors(response)) == {"address"}  # at most 200 characters


def test_a_page_over_the_limit_is_an_html_400_not_a_500(client, cast):
    client.force_login(cast.alice)
    before = row_counts()
    response = client.post(
        reverse("customers:customer-create"),
        {"name": "张三", "phone": unique_mobile(), "address": "长" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert row_counts() == before


# --------------------------------------------------------------------------------------------- dates


@pytest.fixture
def shop(sweep):
    return sweep


def _date_422(client, shop, method, path, body, field):
    ids, headers = shop
    before = row_counts()
    response = _send(client, method, path, ids, headers, body)
    assert response.status_code == 422, response.content
    errors = _field_errors(response)
    assert set(errors) == {field} and "Enter a date between" in errors[field][0], errors
    assert row_counts() == before


@pytest.mark.parametrize("due", ["9999-12-31", "0001-01-01", "1999-12-31"])
def test_a_capa_action_due_in_an_absurd_year_is_refused(client, cast, shop, due):
    owner = cast.mia.pk
    _date_422(
        client,
        shop,
        "post",
        "/api/v1/capas/{capa_id}/actions",
        {"description": "增派顾问", "owner": owner, "due_date": due},
        "due_date",
    )


@pytest.mark.parametrize("start", ["9999-12-31T23:00:00+00:00", "1999-12-31T10:00:00+08:00"])
def test_an_appointment_in_an_absurd_year_is_refused(client, shop, start):
    ids = shop[0]
    body = {
        "store": "SH01",
        "start": start,
        "service_type": "maintenance",
        "channel": "phone",
        "customer": ids["customer_id"],
        "vehicle": ids["vehicle_id"],
    }
    _date_422(client, shop, "post", "/api/v1/appointments", body, "start")


def test_a_complaint_received_before_2000_is_refused(client, shop):
    body = {
        "store": "SH01",
        "customer": shop[0]["customer_id"],
        "channel": "phone",
        "category": "waiting",
        "priority": "general",
        "description": "等太久",
        "received_at": "1999-12-31T10:00:00+08:00",
    }
    _date_422(client, shop, "post", "/api/v1/complaints", body, "received_at")


def test_a_list_filtered_by_an_absurd_day_is_422_not_500(client, cast, api_token):
    response = client.get("/api/v1/appointments", {"date": "9999-12-31"}, **api_token(cast.alice), **ENGLISH)
    assert response.status_code == 422 and set(_field_errors(response)) == {"date"}


def test_the_bounds_in_the_schema_sweep_hold_on_every_date_field(client, sweep):
    """Every date or time in a body, derived from the schema, refuses the year 9999."""
    ids, headers = sweep
    document = _document()
    components = document.get("components", {}).get("schemas", {})
    checked, wrong = [], {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not content:
                continue
            schema = _resolve(content["schema"], components)
            for name, prop in schema.get("properties", {}).items():
                formats = {o.get("format") for o in _options(prop, components)}
                if not formats & {"date", "date-time"}:
                    continue
                body = _example(content["schema"], components)
                # Codes the smallest body cannot invent ("x" is no store, mobile or VIN): real ones, so that the
                # answer names the date field alone.
                real = {"store": "SH01", "phone": unique_mobile(), "vin": unique_vin()}
                body.update({key: value for key, value in real.items() if body.get(key) == "x"})
                if "customer" in body:
                    body["customer"] = ids["customer_id"]
                body[name] = "9999-12-31" if "date" in formats else "9999-12-31T10:00:00+00:00"
                before = row_counts()
                response = _send(client, method, path, ids, headers, body)
                checked.append((method, path, name))
                if response.status_code != 422 or set(_field_errors(response)) != {name} or row_counts() != before:
                    wrong[(method, path, name)] = (response.status_code, response.content[:200])
    assert len(checked) >= 6, checked
    assert not wrong, wrong


# --------------------------------------------------------------------------------------------- forms


@pytest.fixture
def desk(client, cast):
    client.force_login(cast.alice)
    client.defaults.update(ENGLISH)
    return client


def _form_refuses(client, url, data, field, message, *, get_first=False):
    if get_first:
        client.get(url)  # the booking page makes its day's slots when shown
    before = row_counts()
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code in (200, 400), response.status_code
    assert f'data-error-for="{field}"' in html, html[:400]
    assert str(message) in html.replace("&#x27;", "'")
    assert row_counts() == before


def _forms(cast) -> dict[str, tuple[str, dict[str, str], list[str], bool]]:
    """Form name → (url, valid data, text fields to spoil, shown first?)."""
    customer = make_customer(cast.store_a, name="王五")
    return {
        "customer": (
            reverse("customers:customer-create"),
            {
                "name": "新客户",
                "phone": unique_mobile(),
                "address": "上海市浦东新区",
                "consent-consent_channel": "desk",
            },
            ["name", "address"],
            False,
        ),
        "vehicle": (
            reverse("customers:vehicle-create", args=[customer.pk]),
            {"vin": unique_vin(), "brand": "大众", "model_name": "朗逸", "powertrain": "petrol"},
            ["brand", "model_name"],
            False,
        ),
        "booking": (
            reverse("service:customer-book", args=["SH01"]),
            {
                "service_type": "maintenance",
                "day": (clock.today() + dt.timedelta(days=1)).isoformat(),
                "name": "李秀英",
                "phone": unique_mobile(),
                "plate": "沪AD54321",
                "pickup_address": "上海市",
                "customer_words": "异响",
            },
            ["name", "pickup_address", "customer_words"],
            True,
        ),
        "complaint": (
            reverse("feedback:complaint-create"),
            {
                "customer": str(customer.pk),
                "channel": "phone",
                "category": "quality",
                "priority": "general",
                "description": "刹车还是响",
            },
            ["description"],
            False,
        ),
    }


@pytest.mark.parametrize("form", ["customer", "vehicle", "booking", "complaint"])
@pytest.mark.parametrize("label", [k for k in BAD_ANYWHERE if k != "lone surrogate"] + list(BAD_ON_ONE_LINE))
def test_forms_refuse_broken_text_next_to_the_field(desk, cast, form, label):
    url, data, fields, get_first = _forms(cast)[form]
    value, message = {**BAD_ANYWHERE, **BAD_ON_ONE_LINE}[label]
    for field in fields:
        multiline = field in ("customer_words", "description")  # the text areas
        if label in BAD_ON_ONE_LINE and multiline:
            continue
        _form_refuses(desk, url, {**data, field: value}, field, message, get_first=get_first)


@pytest.mark.parametrize("form", ["customer", "vehicle", "booking", "complaint"])
def test_bytes_that_are_not_utf8_in_a_form_are_refused_next_to_the_field(desk, cast, form):
    """A form body cannot carry a lone surrogate: its UTF-8 bytes (ED A0 80) arrive as U+FFFD."""
    url, data, fields, get_first = _forms(cast)[form]
    if get_first:
        desk.get(url)
    field = fields[0]
    encoded = "&".join(f"{k}={v}" for k, v in {**data, field: "x"}.items() if k != field)
    raw = (encoded + f"&{field}=x%ED%A0%80y").encode()
    before = row_counts()
    response = desk.generic("POST", url, raw, content_type="application/x-www-form-urlencoded")
    assert f'data-error-for="{field}"' in response.content.decode()
    assert row_counts() == before


def test_the_bound_forms_refuse_a_lone_surrogate(cast):
    """The forms apply the rule themselves, whatever decoded their data."""
    from aftersales.customers.forms import CustomerForm, VehicleForm
    from aftersales.feedback.forms_complaints import ComplaintForm

    for form_class, kwargs, data, field in [
        (CustomerForm, {"store_choices": []}, {"name": "x\ud800", "phone": unique_mobile()}, "name"),
        (VehicleForm, {}, {"vin": unique_vin(), "brand": "大众", "model_name": "朗\ud800逸"}, "model_name"),
        (
            ComplaintForm,
            {"orders": []},
            {"channel": "phone", "category": "quality", "priority": "general", "description": "x\udfff"},
            "description",
        ),
    ]:
        form = form_class(data=data, **kwargs)
        assert not form.is_valid()
        assert form.errors[field] == [str(BROKEN_MESSAGE)], form.errors


def test_a_multi_line_form_field_keeps_its_line_breaks_and_a_one_line_field_is_stripped(cast):
    from aftersales.customers.forms import CustomerForm

    form = CustomerForm(data={"name": "  王五 \t", "phone": unique_mobile()}, store_choices=[])
    form.is_valid()
    assert form.cleaned_data.get("name") == "王五"


def test_form_dates_have_bounds(desk, cast):
    """The complaint intake refuses a receipt before 2000; a CAPA action form a due date in 9999."""
    from aftersales.feedback.forms_capa import CapaActionForm

    customer = make_customer(cast.store_a, name="赵六")
    make_vehicle(customer)
    before = row_counts()
    response = desk.post(
        reverse("feedback:complaint-create"),
        {
            "customer": str(customer.pk),
            "channel": "phone",
            "category": "quality",
            "priority": "general",
            "description": "x",
            "received_at": "1999-12-31T10:00",
        },
    )
    assert 'data-error-for="received_at"' in response.content.decode()
    assert row_counts() == before
    form = CapaActionForm(
        data={"description": "x", "owner": str(cast.mia.pk), "due_date": "9999-12-31"},
        staff=[(cast.mia.pk, "Mia")],
    )
    assert not form.is_valid() and "due_date" in form.errors
    assert "Enter a date between" in form.errors["due_date"][0]


def test_a_huge_id_in_a_query_is_refused_naming_it(client, cast, api_token):
    """Found by the probe of a running demo: an id beyond a database key answered 500 (OverflowError)."""
    response = client.get("/api/v1/survey-responses", {"order": 2**70}, **api_token(cast.alice))
    assert response.status_code == 422, response.content
    assert "order" in response.json()["errors"]


@pytest.mark.parametrize("body", ["[1, 2, 3]", "null", '"x"'])
@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_partial_update_must_be_an_object(client, cast, api_token, method, body):
    from aftersales.config.testing import make_customer

    customer = make_customer(cast.store_a, by=cast.alice)
    response = getattr(client, method)(
        f"/api/v1/customers/{customer.pk}", body, content_type="application/json", **api_token(cast.alice)
    )
    # like a body that is not JSON at all: 400 in the API's error shape, naming the body, nothing changed
    assert response.status_code == 400, response.content
    assert "body" in response.json()["errors"]
