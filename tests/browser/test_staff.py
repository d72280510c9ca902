"""The staff qualifications pages in a real browser under the strict Content-Security-Policy, on the demo data:
the roster shows each technician's grade and certificate badges (the demo technician's HV certificate expiring
soon); on a phone the manager records a certificate on a technician's page without the page scrolling sideways.

The screenshots of docs/images/staff-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from aftersales.staff.models import Certificate
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


@pytest.mark.parametrize(
    ("locale", "lang", "words"), [("zh-CN", "zh-Hans", "30 天内到期"), ("en-US", "en", "expiring within 30 days")]
)
def test_the_roster_shows_grades_and_certificate_states(
    browser, live_server, demo, screenshot, csp_violations, locale, lang, words
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/staff/")
    roster = page.locator("#roster-SH01")
    expect(roster.locator("li[data-grade]")).to_have_count(9)
    technician = get_user_model().objects.get(username="technician")
    row = roster.locator(f"#tech-SH01-{technician.pk}")
    expect(row.locator('.cert[data-state="expiring"]')).to_have_count(1)
    expect(roster.locator(".card-header")).to_contain_text(words)
    _keep(page, f"staff-{lang}", screenshot)
    assert csp_violations == []
    context.close()


def test_a_certificate_is_recorded_on_a_phone(browser, live_server, demo, csp_violations):
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, "manager")
    person = get_user_model().objects.get(username="sh01-technician-5")  # a junior without a certificate
    page.goto(f"{live_server.url}/staff/people/{person.pk}/")
    page.locator("#certificate summary").click()
    page.select_option("#id_certificate-kind", "hv_electrician")
    page.fill("#id_certificate-number", "T310115200001")
    page.fill("#id_certificate-issuer", "上海市应急管理局")
    page.fill("#id_certificate-issued_on", "2026-01-05")
    page.fill("#id_certificate-expires_on", "2032-01-05")
    page.locator("#certificate button").click()
    expect(page.locator("#hv")).to_have_class("badge text-bg-primary")
    assert Certificate.objects.filter(user=person, number="T310115200001").exists()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    assert csp_violations == []
    context.close()
