"""Speaking to a provincial e-health platform.  Two shapes are common, both behind a token endpoint:

- `TokenRecordAdapter`: POST the account to the token URL → `{"access_token": …, "expires_in": seconds}`; then
  one record per POST to the record URL with `Authorization: Bearer <token>` → `{"code": 0, "data": {"id": …}}`.
- `BatchAdapter`: the same token; then up to `ehr_batch_size` records in one POST `{"companycode": …, "records":
  [...]}` → `{"results": [{"index": i, "id": …} | {"index": i, "reason": …}]}`.

The token is cached on the endpoint row (encrypted) until shortly before it expires, and fetched again when the
platform answers 401 (or a body code saying the token expired) — once per call.  Every answer becomes an
`Outcome`: accepted with the remote id, rejected with the platform's reason (a person must correct and resend),
or retry (no answer, a server error, a token refused twice: the queue tries again later).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from aftersales.core import clock
from aftersales.customers import crypto
from aftersales.ehr.choices import AdapterKind
from aftersales.ehr.models import EhrEndpoint
from aftersales.ehr.record import wire_record

logger = logging.getLogger("aftersales.ehr")

ACCEPTED, REJECTED, RETRY = "accepted", "rejected", "retry"
# A token is used until this long before the expiry the platform announced (clocks differ, requests take time).
TOKEN_MARGIN = dt.timedelta(seconds=60)
TOKEN_EXPIRED_CODES = frozenset({"401", "40101", "token_expired", "TOKEN_EXPIRED"})
ANSWER_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Outcome:
    result: str  # ACCEPTED, REJECTED or RETRY
    remote_id: str = ""
    detail: str = ""


@dataclass
class Answer:
    status: int  # 0: no answer at all
    body: Any = None
    error: str = ""

    @property
    def token_expired(self) -> bool:
        code = self.body.get("code") if isinstance(self.body, dict) else None
        return self.status == 401 or (code is not None and str(code) in TOKEN_EXPIRED_CODES)


def _post(url: str, payload: Any, *, token: str = "", timeout: float) -> Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "aftersales-ehr"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - validated on save
            status, raw = response.status, response.read(ANSWER_MAX_BYTES)
    except urllib.error.HTTPError as exc:  # 4xx/5xx: read the platform's reason
        status, raw = exc.code, exc.read(ANSWER_MAX_BYTES) if exc.fp is not None else b""
    except (urllib.error.URLError, OSError) as exc:
        return Answer(status=0, error=f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:300])
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return Answer(status=status, body=parsed)


def _message(body: Any) -> str:
    """The platform's reason in its answer, whichever key it uses."""
    if isinstance(body, dict):
        for key in ("reason", "message", "msg", "error", "errmsg"):
            value = body.get(key)
            if value:
                return str(value)[:400]
    return ""


def _remote_id(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    data = body.get("data")
    for source in (data if isinstance(data, dict) else {}, body):
        for key in ("id", "record_id", "recordid"):
            value = source.get(key)
            if value not in (None, ""):
                return str(value)[:80]
    return ""


def _is_ok_code(body: Any) -> bool:
    code = body.get("code") if isinstance(body, dict) else None
    return code is None or str(code) in ("0", "200")


class TokenSource:
    """The endpoint's access token: the cached one while it is valid, else a new one from the token URL."""

    def __init__(self, endpoint: EhrEndpoint, *, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    def get(self, *, fresh: bool = False) -> tuple[str, str]:
        """(token, "") or ("", why not)."""
        endpoint = self.endpoint
        now = clock.now()
        if (
            not fresh
            and endpoint.token_encrypted
            and endpoint.token_expires_at is not None
            and endpoint.token_expires_at - TOKEN_MARGIN > now
        ):
            return crypto.decrypt(endpoint.token_encrypted), ""
        answer = _post(
            endpoint.token_url,
            {"client_id": endpoint.client_id, "client_secret": endpoint.secret, "companycode": endpoint.company_code},
            timeout=self.timeout,
        )
        body: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
        inner = body.get("data")
        data: dict[str, Any] = inner if isinstance(inner, dict) else body
        token = str(data.get("access_token") or data.get("token") or "")
        if answer.status == 0:
            return "", f"token: {answer.error}"
        if not 200 <= answer.status < 300 or not token:
            return "", f"token refused: HTTP {answer.status} {_message(answer.body)}".strip()
        try:
            seconds = max(int(data.get("expires_in", 3600)), 0)
        except (TypeError, ValueError):
            seconds = 3600
        endpoint.token_encrypted = crypto.encrypt(token)
        endpoint.token_expires_at = now + dt.timedelta(seconds=seconds)
        EhrEndpoint.objects.filter(pk=endpoint.pk).update(
            token_encrypted=endpoint.token_encrypted, token_expires_at=endpoint.token_expires_at, updated_at=now
        )
        return token, ""

    def forget(self) -> None:
        self.endpoint.token_encrypted = ""
        self.endpoint.token_expires_at = None
        EhrEndpoint.objects.filter(pk=self.endpoint.pk).update(token_encrypted="", token_expires_at=None)


def _post_with_token(tokens: TokenSource, url: str, payload: Any) -> Answer:
    """POST with the cached token; on 401 (or an expired-token code) fetch a new one and try once more."""
    token, why = tokens.get()
    if not token:
        return Answer(status=0, error=why)
    answer = _post(url, payload, token=token, timeout=tokens.timeout)
    if answer.token_expired:
        tokens.forget()
        token, why = tokens.get(fresh=True)
        if not token:
            return Answer(status=0, error=why)
        answer = _post(url, payload, token=token, timeout=tokens.timeout)
        if answer.token_expired:
            return Answer(status=0, error="the platform refused a fresh token")
    return answer


def _outcome_of(answer: Answer) -> Outcome:
    """One record's answer from the record endpoint."""
    if answer.status == 0:
        return Outcome(RETRY, detail=answer.error or "no answer")
    if answer.status >= 500 or answer.status in (408, 429):
        return Outcome(RETRY, detail=f"HTTP {answer.status} {_message(answer.body)}".strip())
    if answer.status >= 400:
        return Outcome(REJECTED, detail=_message(answer.body) or f"HTTP {answer.status}")
    if not _is_ok_code(answer.body):
        return Outcome(REJECTED, detail=_message(answer.body) or f"code {answer.body.get('code')}")
    remote = _remote_id(answer.body)
    if not remote:
        return Outcome(RETRY, detail="the answer carries no record id")
    return Outcome(ACCEPTED, remote_id=remote, detail=f"HTTP {answer.status}")


class TokenRecordAdapter:
    kind = AdapterKind.TOKEN_RECORD

    def __init__(self, endpoint: EhrEndpoint, *, timeout: float) -> None:
        self.endpoint = endpoint
        self.tokens = TokenSource(endpoint, timeout=timeout)

    def submit(self, records: list[tuple[int, dict[str, Any]]]) -> dict[int, Outcome]:
        return {
            key: _outcome_of(_post_with_token(self.tokens, self.endpoint.record_url, wire_record(record)))
            for key, record in records
        }


class BatchAdapter:
    kind = AdapterKind.BATCH

    def __init__(self, endpoint: EhrEndpoint, *, timeout: float) -> None:
        self.endpoint = endpoint
        self.tokens = TokenSource(endpoint, timeout=timeout)

    def submit(self, records: list[tuple[int, dict[str, Any]]]) -> dict[int, Outcome]:
        if not records:
            return {}
        payload = {"companycode": self.endpoint.company_code, "records": [wire_record(r) for _key, r in records]}
        answer = _post_with_token(self.tokens, self.endpoint.record_url, payload)
        keys = [key for key, _record in records]
        if answer.status == 0 or answer.status >= 500 or answer.status in (408, 429):
            whole = _outcome_of(answer)
            return dict.fromkeys(keys, whole)
        if answer.status >= 400 or not _is_ok_code(answer.body):
            # The whole batch refused (a malformed call, not one record): every record carries the reason.
            whole = Outcome(REJECTED, detail=_message(answer.body) or f"HTTP {answer.status}")
            return dict.fromkeys(keys, whole)
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        outcomes: dict[int, Outcome] = dict.fromkeys(keys, Outcome(RETRY, detail="not in the platform's answer"))
        for item in results if isinstance(results, list) else []:
            if not isinstance(item, dict):
                continue
            index = item.get("index")
            if not isinstance(index, int) or not 0 <= index < len(keys):
                continue
            remote = _remote_id(item)
            accepted = item.get("accepted", bool(remote)) and remote
            if accepted:
                outcomes[keys[index]] = Outcome(ACCEPTED, remote_id=remote, detail="batch")
            else:
                outcomes[keys[index]] = Outcome(REJECTED, detail=_message(item) or "rejected without a reason")
        return outcomes


ADAPTERS: dict[str, type[TokenRecordAdapter] | type[BatchAdapter]] = {
    AdapterKind.TOKEN_RECORD: TokenRecordAdapter,
    AdapterKind.BATCH: BatchAdapter,
}


def adapter_for(endpoint: EhrEndpoint, *, timeout: float) -> TokenRecordAdapter | BatchAdapter:
    return ADAPTERS[endpoint.kind](endpoint, timeout=timeout)
