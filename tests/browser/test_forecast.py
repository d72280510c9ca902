"""The demand-and-staffing page in a real browser under the strict Content-Security-Policy, on the demo data: the
chart of weekly orders with the forecast and its band is drawn, the backtest's MASE is shown with its words, the
staffing table has a row per day; it fits a phone.

The screenshots of docs/images/forecast-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from aftersales.forecast.models import StoreForecast
from tests.browser.helpers import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def demo(transactional_db):
    """Two years of the demo (today's date), as `aftersales demo` starts it."""
    args = ["--stores", "2", "--customers", "200", "--months", "24", "--seed", "5", "--no-progress"]
    call_command("seed", *args, stdout=StringIO(), stderr=StringIO())


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(
    ("locale", "lang", "words"), [("zh-CN", "zh-Hans", "MASE 就是二者之比"), ("en-US", "en", "MASE is the ratio")]
)
def test_the_forecast_page_shows_the_backtest_error(
    browser, live_server, demo, screenshot, csp_violations, locale, lang, words
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/forecast/")
    expect(page.locator("#forecast-mase")).to_have_text(re.compile(r"^\d+\.\d\d$"))
    expect(page.locator("#forecast-mase-words")).to_contain_text(words)
    expect(page.locator("[data-chart=forecast-chart] svg")).to_be_visible()
    expect(page.locator("#forecast-staffing tbody tr")).to_have_count(14)
    row = StoreForecast.objects.get()
    assert page.locator("#forecast-mase").get_attribute("data-mase") == str(row.mase)
    _keep(page, f"forecast-{lang}", screenshot)
    assert csp_violations == []
    context.close()


def test_the_forecast_page_fits_a_phone(browser, live_server, demo, csp_violations):
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/forecast/")
    expect(page.locator("[data-chart=forecast-chart] svg")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    assert csp_violations == []
    context.close()
