"""`Idempotency-Key` on the API's POSTs: a retried request answers the first result instead of acting twice.

A client that may send a POST twice (a timeout, a lost answer, a queue that redelivers) sends a key of its own
choosing, at most 255 printable ASCII characters, with the request.  For each caller (the SHA-256 of the
Authorization header: two callers never share a key) and key:
- the first request runs and, if it succeeds (2xx), its status and body are kept for 24 hours;
- the same key with the same request (method, path and body; JSON compared after parsing, so the order of keys
  and white space do not matter) answers that first result again, with `Idempotent-Replayed: true`;
- the same key with another request is refused: 409 `idempotency_key_reused`;
- the same key while the first request still runs: 409 `idempotency_in_progress` (with `Retry-After`);
- a refused first request (4xx) or a failed one (5xx) keeps nothing, so the corrected request may reuse the key.
A request that claimed a key and never finished (its process died) holds it for `LEASE`, then a retry takes it
over.  The answer is kept after the request's own transaction committed: a crash in between leaves the key
claimed until the lease runs out, and a retry after that runs again; `external_ref` on the records that are
created catches that rare case.  `idempotency_purge` (core/tasks.py, hourly) deletes expired records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core.models import IdempotencyRecord
from aftersales.core.problems import problem_response

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
PATH_PREFIX = "/api/v1/"
KEY_MAX = 255
TTL = dt.timedelta(hours=24)
# How long a claimed key waits for its request to finish before a retry may take it over.
LEASE = dt.timedelta(minutes=10)

CODE_INVALID = "validation_error"
CODE_REUSED = "idempotency_key_reused"
CODE_IN_PROGRESS = "idempotency_in_progress"

KEY_INVALID = gettext_noop("An idempotency key is 1 to 255 printable ASCII characters.")
KEY_REUSED = gettext_noop(
    "This idempotency key was already used for another request; send a new key with a new request."
)
IN_PROGRESS = gettext_noop("A request with this idempotency key is still running; retry when it has finished.")


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid idempotency key, or None."""
    if not 1 <= len(key) <= KEY_MAX or any(not " " <= char <= "~" for char in key):
        return _(KEY_INVALID)
    return None


# Set by `organisation` at start-up (core cannot know tokens): does the request carry valid credentials?
# Without it a revoked token could still fetch the answers its key kept for 24 hours.
_credentials_valid: Callable[[HttpRequest], bool] | None = None


def register_credentials_check(check: Callable[[HttpRequest], bool]) -> None:
    global _credentials_valid  # noqa: PLW0603 - set once at app start-up
    _credentials_valid = check


def scope_of(request: HttpRequest) -> str:
    """The caller: a hash of the credentials it sends (never the token itself)."""
    return hashlib.sha256(
        str(request.META.get("HTTP_AUTHORIZATION", "")).encode("utf-8", "surrogateescape")
    ).hexdigest()


def request_hash(request: HttpRequest, body: bytes) -> str:
    """What the request asks: method, path with query, and body (a JSON body in a canonical form)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode("utf-8", "surrogateescape"))
    digest.update(canonical)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        record.response_body, status=record.status_code, content_type=record.content_type or "application/json"
    )
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_claim(
    request: HttpRequest, *, scope: str, key: str, fingerprint: str
) -> IdempotencyRecord | HttpResponse:
    """The claimed record for a request to run, or the answer to give instead (a replay or a 409)."""
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    scope_hash=scope,
                    key=key,
                    request_hash=fingerprint,
                    path=request.path[:500],
                    created_at=now,
                    started_at=now,
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(scope_hash=scope, key=key).first()
        if existing is None:  # the first request failed and released the key meanwhile
            continue
        if existing.created_at <= now - TTL:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != fingerprint:
            return problem_response(request, status=409, code=CODE_REUSED, detail=_(KEY_REUSED))
        if existing.completed_at is not None:
            return _replay(existing)
        if existing.started_at <= now - LEASE:  # its request died: take the key over, once
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, completed_at__isnull=True, started_at=existing.started_at
            ).update(started_at=now)
            if taken:
                existing.started_at = now
                return existing
            continue
        break
    response = problem_response(request, status=409, code=CODE_IN_PROGRESS, detail=_(IN_PROGRESS))
    response["Retry-After"] = "1"
    return response


def idempotency_finish(record: IdempotencyRecord, response: HttpResponse | None) -> None:
    """Keep a success to replay; release the key after anything else."""
    mine = IdempotencyRecord.objects.filter(pk=record.pk, started_at=record.started_at, completed_at__isnull=True)
    if response is not None and 200 <= response.status_code < 300 and not response.streaming:
        try:
            text = response.content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            mine.update(
                completed_at=timezone.now(),
                status_code=response.status_code,
                content_type=str(response.get("Content-Type", ""))[:100],
                response_body=text,
            )
            return
    mine.delete()


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the records older than `TTL`; returns how many."""
    cutoff = (now or timezone.now()) - TTL
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


class IdempotencyMiddleware:
    """Applies the rules above to POSTs under /api/v1/ that carry the header; everything else passes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if key is None or request.method != "POST" or not request.path_info.startswith(PATH_PREFIX):
            return self.get_response(request)
        if (message := key_problem(key)) is not None:
            return problem_response(request, status=422, code=CODE_INVALID, detail=message, errors={HEADER: [message]})
        if _credentials_valid is not None and not _credentials_valid(request):
            return self.get_response(request)  # the API answers 401 itself; nothing is claimed or replayed
        try:
            body = request.body
        except RequestDataTooBig:  # the API answers 413 itself; a refused request keeps nothing
            return self.get_response(request)
        claim = idempotency_claim(request, scope=scope_of(request), key=key, fingerprint=request_hash(request, body))
        if isinstance(claim, HttpResponse):
            return claim
        response: HttpResponse | None = None
        try:
            response = self.get_response(request)
        finally:
            idempotency_finish(claim, response)
        return response
