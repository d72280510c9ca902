"""A long list on a phone: 557 rows of deferred work used to be one page 75 000 px tall; now a page of 25 with
the filter bar and the pager, in Chinese and in English, under the strict Content-Security-Policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.service.models import DeferredWork
from tests.browser.helpers import PASSWORD, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
ROWS = 557


@pytest.fixture
def deferred_world(transactional_db):
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    advisor.set_password(PASSWORD)
    advisor.save()
    customer = make_customer(store, name="王建华", phone="13812345678")
    vehicle = make_vehicle(customer, plate="沪AD12345")
    today = clock.today()
    DeferredWork.objects.bulk_create(
        DeferredWork(
            store=store,
            vehicle=vehicle,
            description=f"{'空调清洗' if i % 2 else '更换刹车片'} #{i}",
            amount=Decimal("280"),
            reason="下次再做",
            suggested_date=today + dt.timedelta(days=i - 20),
        )
        for i in range(ROWS)
    )
    return store


@pytest.mark.parametrize(
    ("locale", "language", "count_text"), [("zh-CN", "zh", "共 557 条"), ("en-GB", "en", "557 results")]
)
def test_deferred_work_on_a_phone_is_a_page_not_a_scroll(
    browser, live_server, deferred_world, csp_violations, locale, language, count_text
):
    context = browser.new_context(locale=locale, **PHONE)
    page = log_in(context, live_server.url, "advisor")
    page.goto(f"{live_server.url}/service/deferred/")
    assert page.locator("[id^=deferred-]").count() == 25
    assert count_text in page.locator("[data-pager]").inner_text()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, f"the page is {height} px tall"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    page.screenshot(path=str(IMAGES / f"deferred-list-phone-{language}.png"), full_page=True)
    with page.expect_navigation():
        page.locator("[data-page-next]").click()
    assert "page=2" in page.url and page.locator("[id^=deferred-]").count() == 25
    page.fill("#filter-q", "刹车")
    with page.expect_navigation():
        page.locator("[data-filters] button[type=submit]").click()
    assert "page=" not in page.url  # a new filter starts at page 1
    assert page.locator("[data-pager] [data-count]").get_attribute("data-count") == str(ROWS // 2 + 1)
    assert csp_violations == []
    context.close()
