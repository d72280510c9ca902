"""Shared by the webhooks tests: verify a signature as a receiver would (docs/webhooks.md's snippet)."""

from __future__ import annotations

import hashlib
import hmac


def verify(*, secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["X-Aftersales-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-Aftersales-Signature"])
