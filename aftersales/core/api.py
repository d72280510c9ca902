"""Shared pieces of the JSON API: error bodies that name the field, the input types every schema uses for
text and dates (the rules of core/text.py and core/dates.py), and the JSON answer to an oversized body."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue

from aftersales.core import dates
from aftersales.core.api_schema import document_schema
from aftersales.core.exceptions import ApplicationError
from aftersales.core.problems import PROBLEM_TYPES, field_errors_problem, problem_response
from aftersales.core.text import BROKEN_MESSAGE, clean_text

_CONTAINER_LOCS = {"body", "payload", "query", "path", "form", "data", "filters"}


# --------------------------------------------------------------------------------------------- input types


def _as_value_error(check: Callable[[Any], Any]) -> AfterValidator:
    """Pydantic turns a ValueError into a field error (422 naming the field); Django's ValidationError it
    would let through as a 500."""

    def run(value: Any) -> Any:
        try:
            result = check(value)
        except DjangoValidationError as exc:
            raise ValueError(exc.messages[0]) from exc
        return value if result is None else result

    return AfterValidator(run)


class _MultiLineInSchema:
    """Marks a multi-line text field in the OpenAPI document (`"x-multiline": true`), so clients and the
    bad-input sweep know where line breaks are welcome."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-multiline"] = True
        return schema


# Text: one line (names, codes, titles, addresses) or several (notes, descriptions, reasons).
OneLine = Annotated[str, _as_value_error(lambda value: clean_text(value, multiline=False))]
MultiLine = Annotated[str, _as_value_error(lambda value: clean_text(value, multiline=True)), _MultiLineInSchema()]
# A number or a text (a survey's answers): one validator over the union, so an error names the field itself
# rather than each member of the union.
IntOrMultiLine = Annotated[
    int | str,
    _as_value_error(lambda value: clean_text(value, multiline=True) if isinstance(value, str) else value),
    _MultiLineInSchema(),
]
# Dates and times within the bounds that fit the field (see core/dates.py).
HappenedAt = Annotated[dt.datetime, _as_value_error(dates.HAPPENED)]
HappenedDate = Annotated[dt.date, _as_value_error(dates.HAPPENED)]
PlannedAt = Annotated[dt.datetime, _as_value_error(dates.PLANNED)]
PlannedDate = Annotated[dt.date, _as_value_error(dates.PLANNED)]
AnyDay = Annotated[dt.date, _as_value_error(dates.ANY_DAY)]
# A record's id in a query or a body: what a database key can hold (a larger number is a 422, not an overflow).
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ObjectParser(Parser):
    """Every JSON body of this API is an object: a list, a number or null is refused before any schema (a partial
    update whose fields are all optional would otherwise take `[1, 2, 3]` as "change nothing")."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")  # answered like unparsable JSON: 400 naming the body
        return data


# --------------------------------------------------------------------------------------------- errors


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if str(p) not in _CONTAINER_LOCS]
    return ".".join(parts) or "body"


def field_errors_response(
    api: NinjaAPI, request: HttpRequest, errors: dict[str, list[str]], status: int = 422
) -> HttpResponse:
    """A problem (core/problems.py) whose `errors` name every bad field: `{field: [messages]}`."""
    return field_errors_problem(request, errors, status=status)


def pydantic_message(error: dict[str, Any]) -> str:
    """The caller's language for the checks pydantic makes itself; its English message for the rare others."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "unknown_parameter":
        return _("Unknown parameter: this operation does not take it.")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("Enter a whole number.")
    if kind in {"float_parsing", "float_type", "decimal_parsing", "decimal_type"}:
        return _("Enter a number.")
    if kind in {"bool_parsing", "bool_type"}:
        return _("Enter true or false.")
    if kind in {"date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"}:
        return _("Enter a date as YYYY-MM-DD.")
    if kind in {"datetime_parsing", "datetime_type", "datetime_from_date_parsing"}:
        return _("Enter a date and time in ISO 8601, e.g. 2026-12-05T09:30:00+08:00.")
    if kind in {"literal_error", "enum"} and "expected" in ctx:
        return _("Choose one of: {expected}.").format(expected=ctx["expected"])
    if kind == "string_too_long" and "max_length" in ctx:
        return _("At most {count} characters.").format(count=ctx["max_length"])
    if kind == "string_too_short" and "min_length" in ctx:
        return _("At least {count} characters.").format(count=ctx["min_length"])
    if kind in {"greater_than_equal", "greater_than"} and ctx:
        return _("Too small: the least allowed is {limit}.").format(limit=ctx.get("ge", ctx.get("gt")))
    if kind in {"less_than_equal", "less_than"} and ctx:
        return _("Too large: the most allowed is {limit}.").format(limit=ctx.get("le", ctx.get("lt")))
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])  # our own validators' message, without "Value error, "
    if kind == "string_unicode":
        # Pydantic's own check of a length-limited string met a lone surrogate first: same rule, same words.
        return str(BROKEN_MESSAGE)
    return str(error.get("msg", _("Invalid value.")))


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(NinjaValidationError)
    def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            field = _field_of(error.get("loc", ()))
            message = pydantic_message(error)
            errors.setdefault(field, []).append(message)
        return field_errors_response(api, request, errors)

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        # Django would answer its own HTML 400 page; a client of the API needs JSON and the right status.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = _("The request body is too large: at most {size} KB.").format(size=(limit or 0) // 1024)
        return field_errors_response(api, request, {"body": [message]}, status=413)

    @api.exception_handler(DjangoValidationError)
    def _domain_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if hasattr(exc, "error_dict"):
            errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        else:
            errors = {"body": [str(m) for m in exc.messages]}
        return field_errors_response(api, request, errors)

    @api.exception_handler(ApplicationError)
    def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
        extra = dict(exc.extra)
        code = str(extra.pop("code", "") or "conflict")
        status = int(extra.pop("status", 409))
        return problem_response(request, status=status, code=code, detail=exc.message, extra=extra)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # e.g. a body that is not JSON
            return field_errors_response(api, request, {"body": [str(exc)]}, status=400)
        general = next((p for p in PROBLEM_TYPES.values() if p.status == exc.status_code), None)
        return problem_response(
            request, status=exc.status_code, code=general.code if general else "conflict", detail=str(exc)
        )

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem_response(request, status=404, code="not_found", detail=_("Not found."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem_response(request, status=403, code="forbidden", detail=str(exc) or _("You may not do this."))

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem_response(
            request,
            status=401,
            code="unauthenticated",
            detail=_("Authentication required: send Authorization: Bearer TOKEN."),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response


# --------------------------------------------------------------------------------------------- the API class

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 Problem Details: every answer that is not 2xx. Branch on `code`, show `detail`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "URI of the problem type: `/api/v1/problems/<code>` describes it"},
        "title": {"type": "string", "description": "Short summary of the problem type, in the caller's language"},
        "status": {"type": "integer", "description": "The HTTP status code"},
        "detail": {"type": "string", "description": "What went wrong in this case, in the caller's language"},
        "code": {
            "type": "string",
            "description": "Stable, language-independent code: one of the problem types "
            "(validation_error, not_found, conflict …) or a more specific conflict (slot_full …)",
        },
        "errors": {
            "type": "object",
            "description": "Every bad field (dotted path for nested ones, e.g. `vehicles.1.vin`) → its messages",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "additionalProperties": True,
    "example": {
        "type": "/api/v1/problems/validation_error",
        "title": "Some fields are not valid",
        "status": 422,
        "detail": "Check these fields: phone, start.",
        "code": "validation_error",
        "errors": {"phone": ["Enter an 11-digit mobile number."], "start": ["This field is required."]},
    },
}

_ERROR_DESCRIPTIONS = {
    "400": "The body is not a JSON object (code `bad_request`).",
    "401": "No valid bearer token (code `unauthenticated`).",
    "403": "The caller's role may not do this here (code `forbidden`).",
    "404": "A record named in the path, body or query is not among those the caller may see (code `not_found`).",
    "409": "Refused by a business rule or an idempotency key (code `conflict` or a more specific one).",
    "413": "The body is too large (code `payload_too_large`).",
    "422": "Bad or unknown parameters or body fields, each named in `errors` (code `validation_error`).",
}

IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (≤ 255 printable ASCII characters, e.g. a UUID). A retry with the same key and "
    "body within 24 hours answers the first result again (header `Idempotent-Replayed: true`); the same key with "
    "another body answers 409 `idempotency_key_reused`.",
    "schema": {"type": "string", "maxLength": 255},
}


def _error_statuses(method: str, operation: dict[str, Any], path: str) -> list[str]:
    # Every operation refuses an unknown query parameter (422) and may name a record the caller cannot see —
    # in the path, the body (an order id) or the query (a store code) — which answers 404.
    statuses = ["404", "422"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if method != "get":
        statuses.append("409")
    if "requestBody" in operation:
        statuses += ["400", "413"]
    return sorted(set(statuses))


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                found |= _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs_in(value)
    return found


def polish_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """What django-ninja does not write itself: the error responses of every operation (the Problem model), the
    Idempotency-Key header of every POST, and no schema that nothing refers to."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation, path):
                responses.setdefault(
                    status,
                    {
                        "description": _ERROR_DESCRIPTIONS[status],
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    },
                )
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_HEADER))
    used = _refs_in(schema.get("paths", {}))
    pending = list(used)
    while pending:
        name = pending.pop()
        for ref in _refs_in(components.get(name, {})) - used:
            used.add(ref)
            pending.append(ref)
    for name in list(components):
        if name not in used:
            del components[name]
    # Issue 15 item 5 (helper `schema`): a description and an example on every component and request body.
    return document_schema(schema)


def _query_names(operation: Any) -> set[str]:
    names: set[str] = set()
    for model in operation.models:
        if model.__ninja_param_source__ == "query":
            names |= set(model.__ninja_flatten_map__)
            for field in model.model_fields.values():
                if field.alias:
                    names.add(field.alias)
    return names


def _refuse_unknown_query_parameters(operation: Any) -> None:
    """Wrap one operation's parameter reading: a query parameter it does not take is a 422 naming it (a filter
    with a typo must not silently answer everything)."""
    read_values = operation._get_values
    allowed = _query_names(operation)

    def get_values(request: HttpRequest, path_params: Any, temporal_response: HttpResponse) -> Any:
        unknown = sorted(set(request.GET) - allowed)
        try:
            values = read_values(request, path_params, temporal_response)
        except NinjaValidationError as exc:
            if unknown:
                exc.errors.extend({"loc": ("query", name), "type": "unknown_parameter"} for name in unknown)
            raise
        if unknown:
            raise NinjaValidationError([{"loc": ("query", name), "type": "unknown_parameter"} for name in unknown])
        return values

    operation._get_values = get_values
    operation.refuses_unknown_query_parameters = True


class LocalTimeEncoder(NinjaJSONEncoder):
    """One time format in every answer: ISO 8601 with the store's offset (+08:00), never UTC's `Z` for some
    fields and the local offset for others."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime) and timezone.is_aware(o):
            o = timezone.localtime(o)
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder


class AftersalesAPI(NinjaAPI):
    """NinjaAPI with short operation ids (the handler's name, unique across the API), the polished schema, and
    unknown query parameters refused."""

    def get_openapi_operation_id(self, operation: Any) -> str:
        return str(operation.view_func.__name__)

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        return polish_schema(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params))

    def all_operations(self) -> list[Any]:
        """The operations that answer requests: the bound copies of every router's (django-ninja clones them)."""
        found = []
        for bound_router in self._get_bound_routers():
            for path_view in bound_router.path_operations.values():
                found.extend(path_view.operations)
        return found

    @property
    def urls(self) -> Any:
        # Every router is added by the time the URLs are read: each operation learns its query parameters here.
        for operation in self.all_operations():
            if not getattr(operation, "refuses_unknown_query_parameters", False):
                _refuse_unknown_query_parameters(operation)
        return super().urls


problems_router = Router(tags=["problems"], auth=None)


class ProblemTypeOut(Schema):
    """A problem type: its code, HTTP status, title and meaning."""

    code: str = Field(..., description="The stable code a problem carries")
    status: int = Field(..., description="The HTTP status it comes with")
    title: str = Field(..., description="Its title, in the caller's language")
    meaning: str = Field(..., description="When it happens and what to do (English)")


@problems_router.get("/problems", response=list[ProblemTypeOut], summary="Every problem type an answer can carry")
def problem_type_list(request: HttpRequest) -> Any:
    return [
        {"code": p.code, "status": p.status, "title": str(p.title), "meaning": p.meaning}
        for p in PROBLEM_TYPES.values()
    ]


@problems_router.get("/problems/{code}", response=ProblemTypeOut, summary="What a problem type means")
def problem_type_detail(request: HttpRequest, code: str) -> Any:
    problem = PROBLEM_TYPES.get(code)
    if problem is None:
        raise Http404
    return {"code": problem.code, "status": problem.status, "title": str(problem.title), "meaning": problem.meaning}
