"""Shared pieces of the JSON API: bearer-token auth hook, error bodies that name the field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from aftersales.core.exceptions import ApplicationError

_CONTAINER_LOCS = {"body", "payload", "query", "path", "form", "data", "filters"}


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
            errors.setdefault(field, []).append(message)
        return field_errors_response(api, request, errors)

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
