"""Test settings: the real settings with fast hashing and fixed keys (never used outside tests)."""

from aftersales.config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
FIELD_ENCRYPTION_KEYS = [
    "u0pXb4Xq3bYQ3vQZ3t8o3m5c2r1X9n8k7j6h5g4f3e0=",
]
SEARCH_HASH_KEY = "test-hash-key-not-secret"
WHITENOISE_AUTOREFRESH = True
# Tasks run at once, in the test's own process and transaction (a test that needs a real consumer starts
# `aftersales worker` as a subprocess with its own data folder).
HUEY = {**HUEY, "immediate": True}  # noqa: F405
# Login throttling needs the request in authenticate(); tests that call authenticate() or client.login() directly
# would fail with it, so it is on only where a test turns it on (the lockout tests and the browser tests).
AXES_ENABLED = False
# The per-address limit on public POSTs: every test client is 127.0.0.1; the rate-limit tests turn it on.
AFTERSALES_PUBLIC_POST_RATE = None
