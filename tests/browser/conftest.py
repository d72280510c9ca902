"""Playwright (Python) driving Debian's chromium against the live test server.

The browser is the one installed with apt (/usr/bin/chromium); Playwright never downloads one.
Screenshots go to test-artifacts/ so a person can look at them after the run.
"""

import os
from pathlib import Path

import pytest

from tests.browser.helpers import watch_csp

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("AFTERSALES_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"],
        )
        yield instance
        instance.close()


class WatchedBrowser:
    """The browser, with every new context watched for Content-Security-Policy violations."""

    def __init__(self, browser, violations: list[str]) -> None:
        self._browser = browser
        self.violations = violations

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        watch_csp(context, self.violations)
        return context

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


@pytest.fixture
def csp_violations() -> list[str]:
    return []


@pytest.fixture
def browser(chromium, csp_violations):
    """Every test's pages run under the real policy; a violation reported in any console fails the test."""
    yield WatchedBrowser(chromium, csp_violations)
    if csp_violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(csp_violations))


@pytest.fixture(autouse=True)
def login_throttling(settings):
    """The browsers log in through the real form with django-axes on (the unit-test settings leave it off)."""
    settings.AXES_ENABLED = True


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
