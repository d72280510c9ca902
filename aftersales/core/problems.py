"""One error model for every API answer that is not 2xx: Problem Details (RFC 9457).

A problem is `{"type", "title", "status", "detail", "code", "errors"?}` sent as `application/problem+json`:
`code` is stable and language-independent (integrators branch on it), `title` and `detail` are in the caller's
language, `errors` names every bad field (`{"field": ["message", …]}`), and a conflict may add members of its own
(`existing_id`, `allowed` …).  `type` is a relative URI, `/api/v1/problems/<code>`, that answers with the
problem type's description, so the registry below is also the documentation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"
TYPE_PREFIX = "/api/v1/problems/"


@dataclass(frozen=True)
class ProblemType:
    code: str
    status: int
    title: Any  # a lazy translation: rendered in the caller's language
    meaning: str  # for the documentation page of the type, English


PROBLEM_TYPES: dict[str, ProblemType] = {
    p.code: p
    for p in (
        ProblemType(
            "validation_error",
            422,
            _("Some fields are not valid"),
            "The request was understood but some parameters or body fields are wrong or unknown; "
            "`errors` names each of them with its messages. Nothing was written.",
        ),
        ProblemType(
            "bad_request",
            400,
            _("The request cannot be read"),
            "The body is not a JSON object (or not JSON at all). Nothing was written.",
        ),
        ProblemType(
            "payload_too_large", 413, _("The request is too large"), "The body exceeds the size the server accepts."
        ),
        ProblemType(
            "unauthenticated",
            401,
            _("Authentication required"),
            "No valid bearer token: send `Authorization: Bearer TOKEN` (issue one with `aftersales token USERNAME`).",
        ),
        ProblemType(
            "forbidden",
            403,
            _("Not allowed"),
            "The token is valid but the user's role may not do this in this store (see docs/rulebook.md).",
        ),
        ProblemType(
            "not_found",
            404,
            _("Not found"),
            "No such record among those the caller may see (another store's record looks exactly like a missing "
            "one), or no such route.",
        ),
        ProblemType(
            "method_not_allowed",
            405,
            _("Method not allowed"),
            "The route exists but not with this HTTP method; the `Allow` header lists the methods it takes.",
        ),
        ProblemType(
            "conflict",
            409,
            _("Refused by a business rule"),
            "The request is valid but the record's state or a rule refuses it (e.g. a full slot, a move the "
            "status does not allow). `detail` says why; a more specific `code` is given where one exists.",
        ),
        ProblemType(
            "idempotency_key_reused",
            409,
            _("The idempotency key was used for another request"),
            "The same `Idempotency-Key` came with a different method, path or body within 24 hours.",
        ),
        ProblemType(
            "idempotency_in_progress",
            409,
            _("The first request with this idempotency key is still running"),
            "Retry after a moment: the answer of the first request will then be replayed.",
        ),
        ProblemType(
            "duplicate_external_ref",
            409,
            _("A record with this external reference exists"),
            "`external_source` + `external_ref` already name a record; `existing_id` is its id.",
        ),
        ProblemType(
            "server_error",
            500,
            _("Server error"),
            "Something failed on our side; it was logged. Nothing the caller can change; retrying may help.",
        ),
    )
}


def problem_type_uri(code: str) -> str:
    return f"{TYPE_PREFIX}{code}"


def problem_body(
    *,
    status: int,
    code: str,
    detail: str = "",
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    known = PROBLEM_TYPES.get(code)
    # A specific code without an entry of its own (e.g. `slot_full`) shares the title of its status's general type.
    general = known or next((p for p in PROBLEM_TYPES.values() if p.status == status), None)
    title = str(general.title) if general else str(status)
    body: dict[str, Any] = {
        "type": problem_type_uri(code),
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    for key, value in (extra or {}).items():
        if key not in body:
            body[key] = value
    return body


def problem_response(
    request: HttpRequest | None = None,
    *,
    status: int,
    code: str,
    detail: str = "",
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The one way an API error is answered (handlers, middleware, the idempotency layer)."""
    body = problem_body(status=status, code=code, detail=detail, errors=errors, extra=extra)
    content = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)
    return HttpResponse(content, status=status, content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8")


def field_errors_problem(request: HttpRequest | None, errors: dict[str, list[str]], status: int = 422) -> HttpResponse:
    code = {400: "bad_request", 413: "payload_too_large"}.get(status, "validation_error")
    fields = ", ".join(errors)
    detail = gettext("Check these fields: {fields}.").format(fields=fields) if status == 422 else ""
    if status != 422:
        detail = "; ".join(message for messages in errors.values() for message in messages)
    return problem_response(request, status=status, code=code, detail=detail, errors=errors)


class ApiProblemMiddleware:
    """Under /api/, an answer Django or a router made on its own (an unknown route, a wrong method) is a problem
    too: JSON in the caller's language, never an HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if "json" in content_type:
            return response
        if response.status_code == 404:
            return problem_response(
                request, status=404, code="not_found", detail=gettext("No such route: {path}").format(path=request.path)
            )
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            problem = problem_response(
                request,
                status=405,
                code="method_not_allowed",
                detail=gettext("{method} is not allowed here; allowed: {allowed}.").format(
                    method=request.method, allowed=allowed
                ),
                extra={"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
            )
            problem["Allow"] = allowed
            return problem
        general = next((p for p in PROBLEM_TYPES.values() if p.status == response.status_code), None)
        code = general.code if general else ("server_error" if response.status_code >= 500 else "bad_request")
        return problem_response(request, status=response.status_code, code=code)
