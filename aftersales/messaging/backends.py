"""Delivery backends: what actually carries an outbox message out of the system.

Chosen by the setting `AFTERSALES_MESSAGE_BACKEND`: `console` (default: a log line, and the last
messages kept in memory for tests), `email` (Django's `send_mail`, for staff e-mail addresses) or
`webhook` (an HTTP POST of signed JSON to an SMS / WeChat gateway).  Messages of the WeCom channel go to the
store's WeCom group robot (`wecom`) whatever that setting says, and messages of the webhook channel (integration
events) to their own endpoint (`integration-webhook`).  A dotted path to a class with
the same interface also works (tests use one that fails on purpose).

A backend never raises for a delivery problem: it answers with a `SendResult`.  `permanent=True`
says that trying again cannot help (no URL configured, wrong channel), so the message fails at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from aftersales.customers.validators import mask_mobile
from aftersales.messaging.choices import Channel

if TYPE_CHECKING:
    from aftersales.messaging.models import OutboxMessage

logger = logging.getLogger("aftersales.messaging")

WEBHOOK_TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-Aftersales-Signature"
TIMESTAMP_HEADER = "X-Aftersales-Timestamp"
MESSAGE_ID_HEADER = "X-Aftersales-Message-Id"
EVENT_ID_HEADER = "X-Aftersales-Event-Id"
EVENT_TYPE_HEADER = "X-Aftersales-Event-Type"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    detail: str = ""
    permanent: bool = False
    status_code: int | None = None  # the HTTP answer's status, when there was one


class Backend(Protocol):
    name: str

    def send(self, message: OutboxMessage, *, recipient: str) -> SendResult: ...


def mask_address(channel: str, address: str) -> str:
    """The only form of an address that may appear in a log line."""
    if not address:
        return "-"
    if channel == Channel.EMAIL or "@" in address:
        local, _at, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask_mobile(address)


class ConsoleBackend:
    """One log line per message (masked address, no text); the last `KEEP` messages stay in `sent`."""

    name = "console"
    KEEP = 200
    sent: ClassVar[deque[dict[str, Any]]] = deque(maxlen=KEEP)

    def send(self, message: OutboxMessage, *, recipient: str) -> SendResult:
        masked = mask_address(message.channel, recipient)
        logger.info(
            "outbox #%s store=%s channel=%s purpose=%s template=%s to=%s",
            message.pk,
            message.store_id,
            message.channel,
            message.purpose,
            message.template,
            masked,
        )
        self.sent.append(
            {
                "id": message.pk,
                "channel": message.channel,
                "to": masked,
                "subject": message.subject,
                "body": message.body,
            }
        )
        return SendResult(ok=True, detail=f"logged to {masked}")

    @classmethod
    def clear(cls) -> None:
        cls.sent.clear()


class EmailBackend:
    """Django's `send_mail` (its own EMAIL_BACKEND decides SMTP, console, …); e-mail channel only."""

    name = "email"

    def send(self, message: OutboxMessage, *, recipient: str) -> SendResult:
        if message.channel != Channel.EMAIL:
            return SendResult(
                ok=False, detail=f"the email backend cannot send {message.channel} messages", permanent=True
            )
        if not recipient:
            return SendResult(ok=False, detail="no e-mail address", permanent=True)
        try:
            send_mail(message.subject, message.body, None, [recipient], fail_silently=False)
        except Exception as exc:  # any SMTP or connection error is a failed attempt
            return SendResult(ok=False, detail=f"{type(exc).__name__}: {exc}")
        return SendResult(ok=True, detail=f"mailed to {mask_address(Channel.EMAIL, recipient)}")


def webhook_secret() -> bytes:
    """AFTERSALES_WEBHOOK_SECRET, or a key derived from SECRET_KEY (never SECRET_KEY itself)."""
    configured = getattr(settings, "AFTERSALES_WEBHOOK_SECRET", "")
    if configured:
        return configured.encode()
    return salted_hmac("aftersales.messaging.webhook", "signing-key").hexdigest().encode()


def webhook_signature(*, secret: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`; the gateway recomputes and compares."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookBackend:
    """POST signed JSON to AFTERSALES_WEBHOOK_URL; any answer other than 2xx is a failed attempt.

    Delivery is at least once: a gateway should drop repeats by the message id header.
    """

    name = "webhook"

    def send(self, message: OutboxMessage, *, recipient: str) -> SendResult:
        url = getattr(settings, "AFTERSALES_WEBHOOK_URL", "")
        if not url.startswith(("http://", "https://")):
            return SendResult(ok=False, detail="AFTERSALES_WEBHOOK_URL is not an http(s) URL", permanent=True)
        payload = {
            "id": message.pk,
            "store": message.store.code,
            "channel": message.channel,
            "purpose": message.purpose,
            "template": message.template,
            "language": message.language,
            "to": recipient,
            "subject": message.subject,
            "body": message.body,
            "related": {"type": message.related_type, "id": message.related_id} if message.related_type else None,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: webhook_signature(secret=webhook_secret(), timestamp=timestamp, body=body),
                MESSAGE_ID_HEADER: str(message.pk),
                "User-Agent": "aftersales-outbox",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:  # urllib raises for 4xx/5xx
            return SendResult(ok=False, detail=f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            return SendResult(ok=False, detail=f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
        if not 200 <= status < 300:
            return SendResult(ok=False, detail=f"HTTP {status}")
        return SendResult(ok=True, detail=f"HTTP {status}")


class IntegrationWebhookBackend:
    """An integration event (channel webhook) to its endpoint: POST the stored JSON body as it is, signed with the
    endpoint's secret over `<timestamp>.<body>` (`X-Aftersales-Signature: sha256=<hex>`), with the event's id and
    type in headers.  Any answer other than 2xx is a failed attempt, retried with the outbox's back-off; after a
    2xx the message is sent and never posted again.  The receiver drops repeats by the event id (a worker that
    dies between the post and recording it posts once more)."""

    name = "integration-webhook"

    def send(self, message: OutboxMessage, *, recipient: str) -> SendResult:
        endpoint = message.endpoint
        if message.channel != Channel.WEBHOOK or endpoint is None:
            return SendResult(ok=False, detail="not an integration event with an endpoint", permanent=True)
        if not endpoint.url.startswith(("http://", "https://")):
            return SendResult(ok=False, detail="the endpoint's URL is not an http(s) URL", permanent=True)
        body = message.body.encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            endpoint.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret.encode(), timestamp=timestamp, body=body),
                EVENT_ID_HEADER: message.subject,
                EVENT_TYPE_HEADER: message.template,
                "User-Agent": "aftersales-webhooks",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            return SendResult(ok=False, detail=f"HTTP {exc.code}", status_code=exc.code)
        except (urllib.error.URLError, OSError) as exc:
            return SendResult(ok=False, detail=f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:200])
        if not 200 <= status < 300:
            return SendResult(ok=False, detail=f"HTTP {status}", status_code=status)
        return SendResult(ok=True, detail=f"HTTP {status}", status_code=status)


WECOM_CONTENT_MAX_BYTES = 2048  # the robot API's limit for a text message


def wecom_content(message: OutboxMessage) -> str:
    """Subject and text in one post, cut to the robot's limit on a character boundary."""
    content = f"{message.subject}\n{message.body}" if message.subject else message.body
    encoded = content.encode()
    if len(encoded) <= WECOM_CONTENT_MAX_BYTES:
        return content
    return encoded[: WECOM_CONTENT_MAX_BYTES - 3].decode(errors="ignore") + "…"


class WeComRobotBackend:
    """A WeCom (企业微信) group robot: POST `{"msgtype": "text", "text": {"content": …}}` to the store's webhook
    URL (the message's address).  The robot answers `{"errcode": 0}`; any other errcode, an HTTP error or no
    answer is a failed attempt, retried like every other (`messaging.services.RETRY_BACKOFF_MINUTES`)."""

    name = "wecom"

    def send(self, message: OutboxMessage, *, recipient: str) -> SendResult:
        if message.channel != Channel.WECOM:
            return SendResult(
                ok=False, detail=f"the wecom backend cannot send {message.channel} messages", permanent=True
            )
        if not recipient.startswith(("http://", "https://")):
            return SendResult(ok=False, detail="the store's WeCom robot URL is not an http(s) URL", permanent=True)
        body = json.dumps({"msgtype": "text", "text": {"content": wecom_content(message)}}, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            recipient,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "aftersales-outbox"},
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = response.read(4096)
        except urllib.error.HTTPError as exc:
            return SendResult(ok=False, detail=f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            return SendResult(ok=False, detail=f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
        # The URL carries the robot's key: details name the errcode, never the address.
        try:
            parsed = json.loads(answer)
        except ValueError:
            return SendResult(ok=False, detail="the robot's answer is not JSON")
        errcode = parsed.get("errcode") if isinstance(parsed, dict) else None
        if errcode != 0:
            errmsg = str(parsed.get("errmsg", "")) if isinstance(parsed, dict) else ""
            return SendResult(ok=False, detail=f"errcode {errcode}: {errmsg}"[:200])
        return SendResult(ok=True, detail="errcode 0")


BUILT_IN: dict[str, type[Backend]] = {
    "console": ConsoleBackend,
    "email": EmailBackend,
    "webhook": WebhookBackend,
    "wecom": WeComRobotBackend,
    "integration-webhook": IntegrationWebhookBackend,
}


def get_backend(*, channel: str | None = None) -> Backend:
    """The backend for a message of `channel`: a WeCom robot post always goes to its robot
    (`AFTERSALES_WECOM_BACKEND` may name another for tests), an integration event to its endpoint, every other
    channel to AFTERSALES_MESSAGE_BACKEND."""
    if channel == Channel.WECOM:
        name = getattr(settings, "AFTERSALES_WECOM_BACKEND", "wecom") or "wecom"
    elif channel == Channel.WEBHOOK:
        name = "integration-webhook"
    else:
        name = getattr(settings, "AFTERSALES_MESSAGE_BACKEND", "console") or "console"
    if name in BUILT_IN:
        return BUILT_IN[name]()
    try:
        return import_string(name)()
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"AFTERSALES_MESSAGE_BACKEND: {name!r} is neither one of {', '.join(BUILT_IN)} nor an importable class"
        ) from exc
