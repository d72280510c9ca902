"""The only place that reads the environment.

Values are parsed strictly: a malformed value stops start-up with a message naming the variable,
rather than silently falling back to a default.  Secrets may also come from ``<NAME>_FILE``.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw in ("True", "true", "1", "yes"):
        return True
    if raw in ("False", "false", "0", "no"):
        return False
    raise ImproperlyConfigured(f"{name} must be True or False, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more, not {raw!r}")
    return value


def env_header(name: str) -> str:
    """An HTTP header name (e.g. X-Forwarded-Proto) as Django's request.META key (HTTP_X_FORWARDED_PROTO)."""
    raw = env_str(name).strip()
    if not raw:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9-]+", raw):
        raise ImproperlyConfigured(f"{name} must be an HTTP header name such as X-Forwarded-Proto, not {raw!r}")
    return "HTTP_" + raw.upper().replace("-", "_")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    raw = env_str("AFTERSALES_DATA_DIR")
    if raw:
        path = Path(raw).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "aftersales"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def secret_from_env_or_file(name: str, store: Path, make) -> str:  # noqa: ANN001 - make: () -> str
    """The secret from the environment, or one generated once and kept in the data folder.

    The generated file keeps a demo installation safe (no secret shared by every copy of the code)
    while a production deployment passes its own through the environment.
    """
    value = env_str(name)
    if value:
        return value
    if store.exists():
        return store.read_text(encoding="utf-8").strip()
    value = make()
    store.write_text(value + "\n", encoding="utf-8")
    store.chmod(0o600)
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)
