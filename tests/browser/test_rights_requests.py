"""A rights request's page in a real browser under the strict Content-Security-Policy: the privacy officer opens a
vehicle-data erasure request whose clock counts China's working days, on a desktop and on a phone, in Chinese and
in English; the page does not scroll sideways on the phone.

The screenshots docs/images/rights-request-{zh,en}.png (desktop) and -{zh,en}-phone.png come from this test
(AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aftersales.config.testing import make_customer, make_group, make_store, make_user
from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.privacy import services
from tests.browser.helpers import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def request_in_progress(transactional_db):
    group = make_group("g1", "华东集团")
    store = make_store(group, "SH01", "上海店")
    advisor = make_user("zhang", Role.ADVISOR, store=store)
    manager = make_user("chen", Role.MANAGER, store=store)
    officer = make_user("huang", Role.PRIVACY_OFFICER, group=group)
    customer = make_customer(store, by=advisor, name="王芳")
    r = services.rights_request_log(
        store=store,
        customer=customer,
        kind="erase",
        scope="vehicle",
        channel="desk",
        details="客户要求删除其车辆的行驶和定位数据。",
        received_at=clock.now() - dt.timedelta(days=3, hours=2),
        by=advisor,
    )
    services.rights_request_verify_identity(request=r, method="id_document", note="身份证尾号核对一致", by=manager)
    services.rights_request_assign(request=r, owner=officer, by=manager)
    return r


def _keep(page, name: str, screenshot) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


@pytest.mark.parametrize(("locale", "lang", "words"), [("zh-CN", "zh", "工作日"), ("en-US", "en", "working days")])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_request_page_shows_its_working_day_clock(
    browser, live_server, request_in_progress, screenshot, csp_violations, locale, lang, words, device
):
    context = browser.new_context(locale=locale, **(PHONE if device == "phone" else DESKTOP))
    page = log_in(context, live_server.url, "huang", "pw-huang")
    page.goto(f"{live_server.url}/privacy/requests/{request_in_progress.pk}/")
    expect(page.locator("#request-clock")).to_contain_text(words)
    expect(page.locator("#countdown")).to_have_attribute("data-overdue", "0")
    expect(page.locator("#request-answer")).to_be_visible()
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _keep(page, f"rights-request-{lang}" + ("-phone" if device == "phone" else ""), screenshot)
    context.close()
