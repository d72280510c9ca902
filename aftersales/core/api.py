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
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue

from aftersales.core import dates
from aftersales.core.exceptions import ApplicationError
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
    """`{"detail": [{"field", "msg"}], "errors": {field: [messages]}}`: every bad field named."""
    detail = [{"field": field, "msg": msg} for field, messages in errors.items() for msg in messages]
    return api.create_response(request, {"detail": detail, "errors": errors}, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(NinjaValidationError)
    def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            field = _field_of(error.get("loc", ()))
            message = str(error.get("msg", "Invalid value."))
            if error.get("type") == "missing":
                message = "This field is required."
            elif error.get("type") == "value_error" and "error" in error.get("ctx", {}):
                message = str(error["ctx"]["error"])  # our own validators' message, without "Value error, "
            elif error.get("type") == "string_unicode":
                # Pydantic's own check of a length-limited string met a lone surrogate first: same rule, same words.
                message = str(BROKEN_MESSAGE)
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
        return api.create_response(request, {"detail": exc.message, **exc.extra}, status=409)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # e.g. a body that is not JSON
            return field_errors_response(api, request, {"body": [str(exc)]}, status=400)
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"detail": "Not found."}, status=404)

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc) or "You may not do this."}, status=403)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request, {"detail": "Authentication required: send Authorization: Bearer TOKEN."}, status=401
        )
        response["WWW-Authenticate"] = "Bearer"
        return response
