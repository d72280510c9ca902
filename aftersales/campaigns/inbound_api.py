"""`POST /api/v1/inbound/messages`: the SMS / WeChat gateway hands us a customer's reply.

Not a bearer-token operation: the gateway signs the raw body with the shared secret AFTERSALES_GATEWAY_SECRET,
the same scheme as our outbound webhook (`X-Aftersales-Timestamp`: Unix seconds; `X-Aftersales-Signature`:
`sha256=` + hex HMAC-SHA256 of `"<timestamp>.<raw body>"`).  Without the secret configured the endpoint answers
503; a missing, wrong or stale (±5 minutes) signature 401; a bad body 422 naming the field, writing nothing.
The first delivery answers 201, a repeat of the same (gateway, message_id) 200 with the first result.

It stays out of the OpenAPI document on purpose: that document describes the staff API (bearer tokens), and
its sweeps (401 without a token, fuzzing, bad input) assume every listed operation is one.  The contract is in
docs (the gateway section).
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from aftersales.campaigns.replies import reply_receive
from aftersales.core import clock
from aftersales.core.api import MultiLine, ObjectId, OneLine
from aftersales.messaging.backends import SIGNATURE_HEADER, TIMESTAMP_HEADER
from aftersales.messaging.inbound import gateway_secret, signature_problem
from aftersales.messaging.models import InboundMessage

router = Router(tags=["inbound"])


class GatewaySignature:
    """Ninja authentication by the gateway's signature over the raw body (checked before the body is parsed)."""

    def __call__(self, request: HttpRequest) -> str:
        secret = gateway_secret()
        if not secret:
            raise HttpError(
                503,
                _("Inbound messages are switched off: set AFTERSALES_GATEWAY_SECRET (shared with the gateway)."),
            )
        problem = signature_problem(
            secret=secret,
            body=request.body,
            timestamp=request.headers.get(TIMESTAMP_HEADER, "").strip(),
            signature=request.headers.get(SIGNATURE_HEADER, "").strip(),
            now=clock.now(),
        )
        if problem is not None:
            raise HttpError(401, problem)
        return "gateway"


class InboundIn(Schema):
    gateway: OneLine = Field(description="The gateway's name, e.g. `aliyun-sms`; message ids are unique per gateway.")
    message_id: OneLine = Field(description="The gateway's id of the message: a repeat with it is a no-op.")
    channel: Literal["sms", "wechat"]
    sender: OneLine = Field(alias="from", description="The sender's mobile number (+86 optional).")
    text: MultiLine
    received_at: dt.datetime | None = Field(None, description="When the gateway received it (default: now).")
    in_reply_to: ObjectId | None = Field(
        None, description="Our message id it answers, if the gateway knows it (X-Aftersales-Message-Id)."
    )


class InboundOut(Schema):
    id: int
    gateway: str
    message_id: str
    duplicate: bool
    channel: str
    intent: str
    outcome: str
    customer: int | None
    in_reply_to: int | None
    received_at: dt.datetime
    handled_at: dt.datetime | None


def _out(message: InboundMessage, *, duplicate: bool) -> dict[str, Any]:
    return {
        "id": message.pk,
        "gateway": message.gateway,
        "message_id": message.gateway_message_id,
        "duplicate": duplicate,
        "channel": message.channel,
        "intent": message.intent,
        "outcome": message.outcome,
        "customer": message.customer_id,
        "in_reply_to": message.in_reply_to_id,
        "received_at": message.received_at,
        "handled_at": message.handled_at,
    }


@router.post(
    "/inbound/messages",
    auth=GatewaySignature(),
    include_in_schema=False,
    response={200: InboundOut, 201: InboundOut},
    summary="A customer's reply, from the SMS / WeChat gateway",
)
def inbound_message(request: HttpRequest, payload: InboundIn) -> tuple[int, dict[str, Any]]:
    message, created = reply_receive(
        gateway=payload.gateway,
        message_id=payload.message_id,
        channel=payload.channel,
        sender=payload.sender,
        text=payload.text,
        received_at=payload.received_at,
        in_reply_to=payload.in_reply_to,
    )
    return (201 if created else 200), _out(message, duplicate=not created)
