"""The official calendar's year page in a real browser under the strict Content-Security-Policy: an administrator
enters the 2027 example notice by pasting it; the 12-month grid shows the Spring Festival red and the make-up
Sunday marked, in Chinese and English; on a phone the grid does not scroll sideways.

The screenshots docs/images/calendar-year-zh.png and -en.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aftersales.config.testing import make_group, make_store, make_user
from aftersales.core import calendar
from aftersales.organisation.choices import Role
from tests.browser.helpers import DESKTOP, PHONE, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
DOC_IMAGES = ROOT / "docs" / "images"
EXAMPLE = ROOT / "docs" / "calendar-2027.example.json"


@pytest.fixture
def admin(transactional_db):
    calendar.forget_entered_years()
    group = make_group("g1", "华东集团")
    make_store(group, "SH01", "上海店")
    yield make_user("ada", Role.ADMIN, group=group)
    calendar.forget_entered_years()


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(("locale", "lang", "month"), [("zh-CN", "zh", "二月"), ("en-US", "en", "February")])
def test_an_administrator_enters_2027_and_sees_the_grid(
    browser, live_server, admin, screenshot, csp_violations, locale, lang, month
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "ada", "pw-ada")
    page.goto(f"{live_server.url}/organisation/settings/calendar/2027/")
    expect(page.locator("#calendar-source")).to_have_attribute("data-source", "none")
    page.fill("#calendar-text", EXAMPLE.read_text(encoding="utf-8"))
    submit(page, page.locator("#calendar-submit"), "enter 2027")
    expect(page.locator("#calendar-source")).to_have_attribute("data-source", "entered")
    expect(page.locator('td[data-day="2027-02-08"]')).to_have_attribute("data-kind", "holiday")
    expect(page.locator('td[data-day="2027-02-14"]')).to_have_attribute("data-kind", "workday")
    expect(page.locator("#calendar-grid")).to_contain_text(month)
    _keep(page, f"calendar-year-{lang}", screenshot)
    context.close()


def test_the_grid_fits_a_phone(browser, live_server, admin, csp_violations):
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, "ada", "pw-ada")
    page.goto(f"{live_server.url}/organisation/settings/calendar/2026/")
    expect(page.locator("td[data-day]")).to_have_count(365)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
