"""The SOP library in a real browser under the strict Content-Security-Policy, on the demo data: the quality
department opens the QC procedure and sees its versions — v2 in force, made by the demo's CAPA (linked), with the
new item marked against v1 and the acknowledgement share; on a phone a member of staff acknowledges a version from
"My SOPs to read" without the page scrolling sideways.

The screenshots docs/images/sop-versions-{zh,en}.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from aftersales.standards.models import Acknowledgement, Procedure
from tests.browser.helpers import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def demo(transactional_db):
    args = ["--stores", "2", "--customers", "60", "--months", "2", "--seed", "5", "--no-progress"]
    call_command("seed", *args, stdout=StringIO(), stderr=StringIO())


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(("locale", "lang", "words"), [("zh-CN", "zh", "现行"), ("en-US", "en", "in force")])
def test_the_qc_sop_with_its_versions(browser, live_server, demo, screenshot, csp_violations, locale, lang, words):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "quality")
    page.goto(f"{live_server.url}/sops/")
    expect(page.locator("#step-qc")).to_contain_text("SOP-QC")
    page.locator("#step-qc a", has_text="SOP-QC").first.click()
    v2 = page.locator("#v2")
    expect(v2).to_contain_text(words)
    expect(v2.locator(".capa-links a")).to_have_count(1)
    expect(v2.locator('[data-change="added"]')).to_have_count(1)
    expect(v2.locator(".ack-line")).to_be_visible()
    expect(page.locator("#v1")).to_be_visible()
    _keep(page, f"sop-versions-{lang}", screenshot)
    assert csp_violations == []
    context.close()


def test_a_version_is_acknowledged_on_a_phone(browser, live_server, demo, csp_violations):
    qc = Procedure.objects.get(store__isnull=True, step="qc")
    ack = Acknowledgement.objects.filter(version__procedure=qc, acknowledged_at__isnull=True).order_by("id").first()
    assert ack is not None
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, ack.user.username)
    page.goto(f"{live_server.url}/sops/mine/")
    row = page.locator(f"#ack-{ack.pk}")
    expect(row).to_contain_text("SOP-QC v2")
    row.locator("button").click()
    expect(page.locator(f"#ack-{ack.pk}")).to_have_count(0)
    ack.refresh_from_db()
    assert ack.acknowledged_at is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    assert csp_violations == []
    context.close()
