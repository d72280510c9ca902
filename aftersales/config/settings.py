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
    "axes",  # login throttling: failed attempts, lockouts and the admin pages to lift them
    "csp",
    "huey.contrib.djhuey",
    "aftersales.core",
    "aftersales.organisation",
    "aftersales.customers",
    "aftersales.messaging",
    "aftersales.notifications",  # the staff inbox: every alert for a person (layer 3, beside messaging)
    "aftersales.staff",  # layer 3 after notifications: technicians' grade history, certificates, training
    "aftersales.parts",  # layer 4: catalogue, stock, batches, traceability
    "aftersales.standards",  # layer 4 after parts: the SOP library the service steps read their checklists from
    "aftersales.service",
    "aftersales.feedback",
    "aftersales.audits",  # layer 6 after feedback: audit plans, audits, findings (which open CAPAs)
    "aftersales.crm",  # layer 6: tiers, referrals, the 360° profile
    "aftersales.reminders",  # layer 6 after crm: maintenance, insurance, inspection, birthday reminders
    "aftersales.campaigns",  # layer 6 after reminders: campaigns with a control group, inbound replies
    "aftersales.care",  # layer 6 after campaigns: care playbooks per tier, the win-back rate
    "aftersales.rescue",  # layer 6 operations: roadside rescue requests, matching, dispatch
    "aftersales.telematics",  # layer 6 operations after rescue: connected-car events and their rules
    "aftersales.ehr",  # layer 6 operations: the repair e-health record of each settled order
    "aftersales.forecast",  # layer 6 operations: weekly demand, the 8-week forecast, technician-hours
    "aftersales.analytics",  # layer 7: the KPI catalogue, dashboards, scorecards, early warnings, reports
    "aftersales.webhooks",  # top: integrators' webhook subscriptions, events swept from the apps below, deliveries
    "aftersales.privacy",  # top after webhooks: rights requests, export and erasure across every app, retention purge
    "aftersales.config",  # the web shell's templates and static files
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "aftersales.core.problems.ApiProblemMiddleware",  # under /api/ every error is a problem (JSON), never a page
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "aftersales.config.security.PublicPostRateLimitMiddleware",
    # An Idempotency-Key on a POST under /api/v1/ answers a retry with the first result (core/idempotency.py).
    "aftersales.core.idempotency.IdempotencyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
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
# django-axes checks every password log-in before Django's own backend does (API tokens never pass here).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
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
# Largest request body outside uploaded files (Django does not count files here; service/services/uploads.py
# limits those).  The largest JSON body of the API (a complaint's 5000 characters, a survey) is far below
# 100 KB.  Over the limit the API answers 413 in its JSON error shape (core/api.py), the pages Django's 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# ---- Security (docs/SECURITY.md) ------------------------------------------------------------ begin ----
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS: redirect plain HTTP and tell browsers to use HTTPS only (HSTS).  Behind a reverse proxy that ends
# TLS, DJANGO_SECURE_PROXY_SSL_HEADER names the header it sets to "https" (e.g. X-Forwarded-Proto).
SECURE_SSL_REDIRECT = env.env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env.env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env.env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if _proxy_ssl_header := env.env_header("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https")
# Reverse proxies in front of the site that append the client's address to X-Forwarded-For (0: none, the
# client's address is the connection's).  The login lockout and the rate limits count per client address.
AFTERSALES_PROXY_COUNT = env.env_int("AFTERSALES_PROXY_COUNT", 0)

# Content-Security-Policy (django-csp): our own files only; no inline or eval'd script anywhere.  Style
# attributes (style="…" in templates, ECharts' tooltips, Bootstrap's positioning) stay allowed: they cannot
# run code, while <style> elements are limited to our own files.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "style-src-elem": ["'self'"],
        "img-src": ["'self'", "data:"],  # Bootstrap draws its check marks and select arrows as data: SVGs
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login throttling (django-axes): 5 failed log-ins for one user name from one address lock that pair for
# 15 minutes, and every further try during the lock starts the 15 minutes again.  Counting the pair (not the
# name alone) means nobody can lock a colleague out from another machine; counting the name too means a
# whole showroom behind one address is not locked out by one person's typos.  A successful log-in clears
# the count.  Administrators lift a lock in the admin (Axes › Access attempts) or with
# `aftersales axes_reset_username NAME` (docs/SECURITY.md).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "aftersales.config.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "aftersales.config.security.client_ip"
AXES_VERBOSE = False  # no start-up banner; failures and lockouts are still logged (WARNING) and recorded

# Public pages (no account: the customer's links, online booking, log-in): at most this many POSTs per
# client address per window of seconds; more answer 429 with a page in the visitor's language.
AFTERSALES_PUBLIC_POST_RATE: tuple[int, int] | None = (30, 60)

# Shared by every web process when Redis is there (rate-limit counters, cached customer pages); without it each
# process has its own memory cache.  The jobs share that Redis database: nothing may call cache.clear() there.
if env.env_str("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env.env_str("REDIS_URL")}
    }
# ---- Security -------------------------------------------------------------------------------- end ----

# The address customers' links start with (messages carry absolute links).
PUBLIC_BASE_URL = env.env_str("AFTERSALES_PUBLIC_URL", "http://127.0.0.1:8000")

# Outbox delivery backend: "console" (log line only, the default), "email" (Django send_mail) or "webhook".
AFTERSALES_MESSAGE_BACKEND = env.env_str("AFTERSALES_MESSAGE_BACKEND", "console")
# Webhook backend: the SMS/WeChat gateway's URL and its HMAC-SHA256 signing secret (derived from SECRET_KEY if empty).
AFTERSALES_WEBHOOK_URL = env.env_str("AFTERSALES_WEBHOOK_URL")
AFTERSALES_WEBHOOK_SECRET = env.env_str("AFTERSALES_WEBHOOK_SECRET")
# The gateway signs the customers' replies it forwards (POST /api/v1/inbound/messages); unset: replies are refused.
AFTERSALES_GATEWAY_SECRET = env.env_str("AFTERSALES_GATEWAY_SECRET")

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
    # WAL with synchronous=NORMAL: no disk flush per message queued (aftersales/config/queue.py)
    HUEY |= {
        "huey_class": "aftersales.config.queue.SqliteHuey",
        "connection": {"filename": str(DATA_DIR / "huey.sqlite3")},
    }
# How long an outbox delivery may hold its claim before another worker may take the message over
# (a worker that died mid-send); longer than the slowest backend call (the webhook times out after 5 s).
AFTERSALES_OUTBOX_CLAIM_LEASE = dt.timedelta(minutes=10)
LOGGING["loggers"]["aftersales.jobs"] = {"level": "INFO", "handlers": ["console"], "propagate": False}
# ---- Background jobs (Huey) ---------------------------------------------------------------- end ----

FORMAT_MODULE_PATH = ["aftersales.config.formats"]
DEMO_PASSWORD = "aftersales-demo"  # noqa: S105 - documented in the README; only `aftersales demo` / `seed` use it

SITE_TITLE = _("After-sales")
