"""What a dealership's IT checks: login throttling with lockout and unlock, the Content-Security-Policy, strict
parsing of the HTTPS variables, and `aftersales check --deploy` clean with the production variables."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from aftersales.config import env

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "aftersales"
HERE = "10.0.0.5"
ELSEWHERE = "10.0.0.6"


@pytest.fixture(autouse=True)
def axes_on(settings):
    """The test settings leave django-axes off (see test_settings.py); these tests are about it."""
    settings.AXES_ENABLED = True


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def log_in(client, username: str, password: str, address: str = HERE):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username: str, times: int, address: str = HERE) -> list[int]:
    return [log_in(client, username, "not-the-password", address).status_code for _n in range(times)]


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("home")


class LockoutTests:
    def test_the_fifth_wrong_password_locks_and_then_even_the_right_one_is_refused(self, client, cast):
        assert fail(client, "alice", 5) == [200, 200, 200, 200, 429]
        response = log_in(client, "alice", "pw-alice")
        page = response.content.decode()
        assert response.status_code == 429 and not logged_in(response)
        assert 'id="locked-out"' in page and "locked on this computer for 15 minutes" in page
        assert "_auth_user_id" not in client.session

    def test_the_lock_holds_the_user_name_on_that_address_only(self, client, cast):
        fail(client, "alice", 5)
        assert logged_in(log_in(Client(), "alice", "pw-alice", address=ELSEWHERE))
        assert logged_in(log_in(Client(), "bob", "pw-bob"))

    def test_the_lock_ends_fifteen_minutes_after_the_last_try(self, client, cast):
        with time_machine.travel(dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
            fail(client, "alice", 5)
            traveller.shift(dt.timedelta(minutes=14))
            assert log_in(client, "alice", "pw-alice").status_code == 429
            traveller.shift(dt.timedelta(minutes=2))  # 16 minutes after the lock, but a try restarted the wait
            assert log_in(client, "alice", "pw-alice").status_code == 429
            traveller.shift(dt.timedelta(minutes=16))
            assert logged_in(log_in(client, "alice", "pw-alice"))

    def test_a_successful_log_in_clears_the_count(self, client, cast):
        assert fail(client, "alice", 4) == [200] * 4
        assert logged_in(log_in(client, "alice", "pw-alice"))
        client.logout()
        assert fail(client, "alice", 4) == [200] * 4
        assert logged_in(log_in(client, "alice", "pw-alice"))

    def test_an_administrator_unlocks_with_the_command(self, client, cast):
        fail(client, "alice", 5)
        call_command("axes_reset_username", "alice", stdout=open(os.devnull, "w"))  # noqa: SIM115
        assert logged_in(log_in(client, "alice", "pw-alice"))

    def test_an_administrator_unlocks_in_the_admin(self, client, cast):
        fail(client, "alice", 5)
        admin = Client()
        admin.force_login(get_user_model().objects.create_superuser("root", password="x" * 20))
        listing = admin.get("/admin/axes/accessattempt/")
        assert listing.status_code == 200 and "alice" in listing.content.decode()
        attempt = AccessAttempt.objects.get(username="alice")
        response = admin.post(
            "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
        )
        assert response.status_code == 302 and not AccessAttempt.objects.exists()
        assert logged_in(log_in(client, "alice", "pw-alice"))

    def test_the_lockout_page_is_the_shells_and_follows_the_language(self, cast):
        chinese = Client(headers={"accept-language": "zh-hans"})
        fail(chinese, "alice", 5)
        page = log_in(chinese, "alice", "pw-alice").content.decode()
        assert '<html lang="zh-hans">' in page and "dist/app_css.css" in page and 'id="locked-out"' in page

    def test_api_tokens_are_not_affected(self, client, cast, api_token):
        headers = api_token(cast.alice)
        fail(client, "alice", 5)
        assert client.get("/api/v1/stores", **headers).status_code == 200
        for _n in range(8):
            assert client.get("/api/v1/stores", HTTP_AUTHORIZATION="Bearer wrong", REMOTE_ADDR=HERE).status_code == 401
        assert client.get("/api/v1/stores", **headers).status_code == 200
        assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"alice"}


class ContentSecurityPolicyTests:
    def test_every_page_carries_the_strict_policy(self, client):
        policy = client.get(reverse("login"))["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
        assert directives["object-src"] == "'none'" and directives["style-src-elem"] == "'self'"
        assert "unsafe" not in directives["script-src"] and "unsafe-eval" not in policy

    def test_no_template_has_inline_script_or_event_handlers(self):
        """Inline code would be blocked by the policy: it belongs in frontend/src (see docs/SECURITY.md)."""
        found = []
        for template in sorted(PACKAGE.glob("*/templates/**/*.html")):
            text = template.read_text(encoding="utf-8")
            for tag in re.findall(r"<script\b[^>]*>", text):
                if "src=" not in tag:
                    found.append(f"{template.relative_to(REPO)}: {tag}")
            for handler in re.findall(r"<[^>]*\son[a-z]+\s*=", text):
                found.append(f"{template.relative_to(REPO)}: {handler[-40:]}")
            if "javascript:" in text:
                found.append(f"{template.relative_to(REPO)}: javascript: URL")
        assert found == []


class EnvironmentTests:
    @pytest.mark.parametrize("raw", ["abc", "1.5", "-1", "1e6"])
    def test_a_bad_hsts_value_stops_with_the_variables_name(self, monkeypatch, raw):
        monkeypatch.setenv("DJANGO_SECURE_HSTS_SECONDS", raw)
        with pytest.raises(ImproperlyConfigured, match="DJANGO_SECURE_HSTS_SECONDS"):
            env.env_int("DJANGO_SECURE_HSTS_SECONDS", 0)

    def test_whole_numbers_and_the_default(self, monkeypatch):
        monkeypatch.setenv("DJANGO_SECURE_HSTS_SECONDS", "31536000")
        assert env.env_int("DJANGO_SECURE_HSTS_SECONDS", 0) == 31536000
        monkeypatch.setenv("DJANGO_SECURE_HSTS_SECONDS", "")
        assert env.env_int("DJANGO_SECURE_HSTS_SECONDS", 0) == 0

    @pytest.mark.parametrize("raw", ["X-Forwarded-Proto: https", "X_Forwarded", "é"])
    def test_a_bad_proxy_header_stops_with_the_variables_name(self, monkeypatch, raw):
        monkeypatch.setenv("DJANGO_SECURE_PROXY_SSL_HEADER", raw)
        with pytest.raises(ImproperlyConfigured, match="DJANGO_SECURE_PROXY_SSL_HEADER"):
            env.env_header("DJANGO_SECURE_PROXY_SSL_HEADER")

    def test_the_proxy_header_becomes_djangos_meta_key(self, monkeypatch):
        monkeypatch.setenv("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
        assert env.env_header("DJANGO_SECURE_PROXY_SSL_HEADER") == "HTTP_X_FORWARDED_PROTO"


PRODUCTION = {
    "DJANGO_DEBUG": "False",
    "DJANGO_ALLOWED_HOSTS": "service.example.com",
    "DJANGO_SECURE_COOKIES": "True",
    "DJANGO_SECURE_SSL_REDIRECT": "True",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
    "DJANGO_SECURE_HSTS_PRELOAD": "True",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def run_check(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """`aftersales check --deploy` in a fresh process with only these variables (plus a random SECRET_KEY)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "AFTERSALES_"))}
    environment |= {"AFTERSALES_DATA_DIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50), **variables}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "aftersales", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class DeployCheckTests:
    def test_clean_with_the_production_variables(self, tmp_path):
        result = run_check(tmp_path, **PRODUCTION)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout + result.stderr

    def test_without_the_https_variables_it_warns(self, tmp_path):
        demo_like = {k: v for k, v in PRODUCTION.items() if "SSL" not in k and "HSTS" not in k}
        result = run_check(tmp_path, **demo_like)
        assert result.returncode != 0
        assert "security.W004" in result.stderr and "security.W008" in result.stderr

    def test_a_bad_value_stops_start_up_with_a_clear_message(self, tmp_path):
        result = run_check(tmp_path, **{**PRODUCTION, "DJANGO_SECURE_HSTS_SECONDS": "one year"})
        assert result.returncode != 0
        assert "DJANGO_SECURE_HSTS_SECONDS must be a whole number, not 'one year'" in result.stderr
