"""The parts clerk's pages in a real browser on a phone, under the strict Content-Security-Policy, on the demo data:
a goods receipt typed as a scanner types it, and parts issued onto a waiting order oldest batch first; neither page
scrolls sideways.

The screenshots of docs/images/parts-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from aftersales.parts.models import Batch, Part
from aftersales.service.models import LinePartIssue
from tests.browser.helpers import PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
LANGUAGES = [("zh-CN", "zh-Hans"), ("en-US", "en")]


@pytest.fixture
def demo(transactional_db):
    args = ["--stores", "1", "--customers", "80", "--months", "3", "--seed", "7", "--no-progress"]
    call_command("seed", *args, stdout=StringIO(), stderr=StringIO())


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"


@pytest.mark.parametrize(("locale", "lang"), LANGUAGES)
def test_a_goods_receipt_on_a_phone(browser, live_server, demo, screenshot, csp_violations, locale, lang):
    part = Part.objects.filter(is_core=True).order_by("code").first()
    context = browser.new_context(locale=locale, **PHONE)
    page = log_in(context, live_server.url, "parts")
    page.goto(f"{live_server.url}/parts/receive/")
    page.fill("#id_code", part.barcode)  # what a scanner types
    page.fill("#id_quantity", "6")
    page.fill("#id_batch_number", "L2611-0815")
    page.fill("#id_supplier", "华东汽配物流")
    page.fill("#id_source_voucher", "FP202612030815")
    page.fill("#id_unit_cost", "42.50")
    page.check("#id_certificate_checked")
    _no_sideways_scroll(page)
    _keep(page, f"parts-receive-{lang}", screenshot)
    page.locator("#receive-form button.btn-primary").click()
    expect(page.locator(".alert-success")).to_contain_text("L2611-0815")
    assert Batch.objects.filter(part=part, batch_number="L2611-0815", certificate_checked=True).exists()
    assert csp_violations == []
    context.close()


@pytest.mark.parametrize(("locale", "lang"), LANGUAGES)
def test_parts_issued_onto_a_waiting_order_on_a_phone(
    browser, live_server, demo, screenshot, csp_violations, locale, lang
):
    context = browser.new_context(locale=locale, **PHONE)
    page = log_in(context, live_server.url, "parts")
    page.goto(f"{live_server.url}/parts/issue/")
    waiting = page.locator("#waiting-for-parts li a")
    expect(waiting.first).to_be_visible()
    waiting.first.click()
    line = page.locator("[id^=line-]").filter(has=page.locator("form button.btn-primary")).first
    before = LinePartIssue.objects.count()
    line.locator("form button.btn-primary").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert LinePartIssue.objects.count() > before
    _no_sideways_scroll(page)
    _keep(page, f"parts-issue-{lang}", screenshot)
    assert csp_violations == []
    context.close()
