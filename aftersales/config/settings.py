"""Settings for every environment; differences are environment variables read through env.py."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from aftersales.config import env

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.data_dir()

DEBUG = env.env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env.secret_from_env_or_file("SECRET_KEY", DATA_DIR / "secret_key", env.new_secret_key)
ALLOWED_HOSTS = env.env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Field encryption: comma-separated Fernet keys, newest first.  Older keys still decrypt, so a key
# is rotated by putting a new one in front and running `aftersales customers_rotate_keys`.
FIELD_ENCRYPTION_KEYS = env.env_list("AFTERSALES_FIELD_KEYS", []) or [
    env.secret_from_env_or_file(
        "AFTERSALES_FIELD_KEYS",
        DATA_DIR / "field_key",
        lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
]
# Key for the keyed hashes (HMAC-SHA256) that let us search phone numbers without decrypting.
SEARCH_HASH_KEY = env.secret_from_env_or_file(
    "AFTERSALES_HASH_KEY", DATA_DIR / "hash_key", lambda: secrets.token_hex(32)
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "huey.contrib.djhuey",
    "aftersales.core",
    "aftersales.organisation",
    "aftersales.customers",
    "aftersales.messaging",
    "aftersales.service",
    "aftersales.feedback",
    "aftersales.config",  # the web shell's templates and static files
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aftersales.config.urls"
WSGI_APPLICATION = "aftersales.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "aftersales.organisation.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env.env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'aftersales.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the job worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise expects it even when serving from the finders
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Serve straight from the app folders so the demo needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The address customers' links start with (messages carry absolute links).
PUBLIC_BASE_URL = env.env_str("AFTERSALES_PUBLIC_URL", "http://127.0.0.1:8000")

# Outbox delivery backend: "console" (log line only, the default), "email" (Django send_mail) or "webhook".
AFTERSALES_MESSAGE_BACKEND = env.env_str("AFTERSALES_MESSAGE_BACKEND", "console")
# Webhook backend: the SMS/WeChat gateway's URL and its HMAC-SHA256 signing secret (derived from SECRET_KEY if empty).
AFTERSALES_WEBHOOK_URL = env.env_str("AFTERSALES_WEBHOOK_URL")
AFTERSALES_WEBHOOK_SECRET = env.env_str("AFTERSALES_WEBHOOK_SECRET")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.env_str("DJANGO_LOG_LEVEL", "WARNING")},
    # The console message backend writes each sent message here; the demo shows them in its output.
    "loggers": {"aftersales.messaging": {"level": "INFO", "handlers": ["console"], "propagate": False}},
}

# ---- Background jobs (Huey) -------------------------------------------------------------- begin ----
# `aftersales worker` is the consumer; `aftersales demo` starts one.  Tasks live in each app's `tasks.py`.
# Storage: an SQLite file in the data folder by default (nothing to install, one machine); Redis when
# REDIS_URL is set (redis://[:password@]host:6379/0), for as many consumers on as many machines as needed.
# Tests run tasks in immediate mode (test_settings.py).  docs/operations.md explains the running worker.
REDIS_URL = env.env_str("REDIS_URL")
HUEY: dict = {
    "name": "aftersales",
    "immediate": False,  # never follow DEBUG: a task always goes through the queue outside tests
    "results": False,  # nothing reads task results; the outbox and the records are the state
    "utc": True,
    "consumer": {
        "workers": 2,
        "worker_type": "thread",
        "periodic": True,
        # A worker killed with -9 leaves its task locks behind; the next start clears them.  Safe because
        # the locks only save work: every sweep claims its rows with a conditional UPDATE.
        "flush_locks": True,
        "scheduler_interval": 1,
        "check_worker_health": True,
    },
}
if REDIS_URL:
    HUEY |= {"huey_class": "huey.PriorityRedisHuey", "connection": {"url": REDIS_URL}}
else:
    HUEY |= {"huey_class": "huey.SqliteHuey", "connection": {"filename": str(DATA_DIR / "huey.sqlite3")}}
# How long an outbox delivery may hold its claim before another worker may take the message over
# (a worker that died mid-send); longer than the slowest backend call (the webhook times out after 5 s).
AFTERSALES_OUTBOX_CLAIM_LEASE = dt.timedelta(minutes=10)
LOGGING["loggers"]["aftersales.jobs"] = {"level": "INFO", "handlers": ["console"], "propagate": False}
# ---- Background jobs (Huey) ---------------------------------------------------------------- end ----

FORMAT_MODULE_PATH = ["aftersales.config.formats"]
DEMO_PASSWORD = "aftersales-demo"  # noqa: S105 - documented in the README; only `aftersales demo` / `seed` use it

SITE_TITLE = _("After-sales")
