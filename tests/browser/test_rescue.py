"""Roadside rescue in a real browser under the strict Content-Security-Policy, on the demo data: the live board with
its ticking clocks (desktop and phone, both languages), and the customer's phone page asking the browser for the
location only after the consent box is ticked, then following the request.

The screenshots of docs/images/rescue-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from aftersales.rescue.models import RescueRequest
from tests.browser.helpers import DESKTOP, PHONE, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
CLOCK = re.compile(r"^\+?\d\d:\d\d$")


@pytest.fixture
def demo(transactional_db):
    args = ["--stores", "3", "--customers", "150", "--months", "2", "--seed", "7", "--no-progress"]
    call_command("seed", *args, stdout=StringIO(), stderr=StringIO())


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(
    ("locale", "lang", "title"), [("zh-CN", "zh-Hans", "道路救援"), ("en-US", "en", "Roadside rescue")]
)
def test_the_live_board_shows_the_open_requests_with_running_clocks(
    browser, live_server, demo, screenshot, csp_violations, locale, lang, title
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "group")  # the group's board: every store
    page.goto(f"{live_server.url}/rescue/")
    expect(page.locator("h1")).to_contain_text(title)
    expect(page.locator("#rescue-capacity li")).to_have_count(3)
    open_ids = RescueRequest.objects.filter(store__code="SH01", status__in=["matched", "dispatched"])
    assert open_ids.exists()
    clock = page.locator("#rescue-rows [data-due]").first
    expect(clock).to_have_text(CLOCK)
    expect(clock).not_to_have_text(clock.inner_text(), timeout=5000)  # it ticks
    expect(page.locator("#rescue-capacity li[data-store=SH01]")).to_be_visible()
    _keep(page, f"rescue-board-{lang}", screenshot)
    first = open_ids.order_by("pk").first()
    page.goto(f"{live_server.url}/rescue/{first.pk}/")
    expect(page.locator("#rescue-clocks")).to_be_visible()
    expect(page.locator("#vehicle-history")).to_be_visible()
    _keep(page, f"rescue-detail-{lang}", screenshot)
    assert csp_violations == []
    context.close()


def test_the_board_fits_a_phone(browser, live_server, demo, screenshot, csp_violations):
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/rescue/")
    expect(page.locator("#rescue-rows a").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    _keep(page, "rescue-board-phone-zh-Hans", screenshot)
    assert csp_violations == []
    context.close()


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-Hans"), ("en-US", "en")])
def test_the_customer_asks_for_help_from_a_phone(browser, live_server, demo, screenshot, csp_violations, locale, lang):
    context = browser.new_context(
        locale=locale,
        geolocation={"latitude": 31.2304, "longitude": 121.4737},  # People's Square, Shanghai
        permissions=["geolocation"],
        **PHONE,
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/rescue/help/east-china/?lang={lang}")
    # Nothing is asked before the consent box is ticked.
    assert page.locator("input[name=latitude]").input_value() == ""
    page.fill("input[name=plate]", "沪A88888")
    page.fill("input[name=fault]", "左前轮爆胎")
    page.check("#id_location_consent")
    expect(page.locator("input[name=latitude]")).to_have_value("31.230400")
    _keep(page, f"rescue-customer-form-{lang}", screenshot)
    submit(page, page.locator("#rescue-submit"), "the rescue request")
    rescue = RescueRequest.objects.latest("pk")
    assert rescue.source == "customer" and rescue.location_consent_channel == "customer_link"
    assert str(rescue.latitude) == "31.230400"
    expect(page.locator("#customer-rescue-status")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    _keep(page, f"rescue-customer-status-{lang}", screenshot)
    assert csp_violations == []
    context.close()
