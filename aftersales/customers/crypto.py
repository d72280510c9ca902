"""Encryption of personal fields at rest (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`)
and keyed hashes that make exact search possible without decrypting rows.

Keys come from settings (environment `AFTERSALES_FIELD_KEYS`, newest first).  MultiFernet decrypts
with any listed key and encrypts with the first, which is how keys are rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed


@cache
def _fernet() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("AFTERSALES_FIELD_KEYS is empty")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "AFTERSALES_FIELD_KEYS: each key must be 32 url-safe base64-encoded bytes (Fernet.generate_key())"
        ) from exc


def _reset(*, setting: str, **_: object) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "SEARCH_HASH_KEY"):
        _fernet.cache_clear()


setting_changed.connect(_reset)


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A personal field cannot be decrypted with the configured AFTERSALES_FIELD_KEYS "
            "(was a key removed before `aftersales customers_rotate_keys` ran?)"
        ) from exc


def rotate(token: str) -> str:
    """The same plaintext re-encrypted under the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else ""


def search_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalised value; `kind` separates phone, last-four and ID hashes."""
    if not value:
        return ""
    key = settings.SEARCH_HASH_KEY.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
