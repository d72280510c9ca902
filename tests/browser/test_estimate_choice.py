"""A choice between alternatives in the browser: the customer on a phone (Chinese) picks the brand part and sees
the total they would approve change before sending anything (static JS under the strict CSP), then approves it;
the advisor's desk page (English) shows the choice as one item with both prices and the difference.

The screenshots of docs/images/estimate-choice-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.organisation.choices import BayCapability, Role
from aftersales.organisation.models import Bay
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.models import EstimateLine
from aftersales.service.services.links import order_link_token
from tests.browser.helpers import DESKTOP, PASSWORD, PHONE, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.]", "", text))


@pytest.fixture
def choice_world(transactional_db):
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    Bay.objects.create(store=store, code="B01", name="机修1", capabilities=[BayCapability.GENERAL])
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    advisor.set_password(PASSWORD)
    advisor.save()
    customer = make_customer(store, by=advisor, name="王建华", phone="13812345678")
    vehicle = make_vehicle(customer, by=advisor, plate="沪A12345", mileage_km=32000)
    order = services.walk_in_register(store=store, by=advisor, service_type="repair", plate=vehicle.plate)

    def add(**fields):
        return services.estimate_line_add(order=order, by=advisor, **fields)

    labour = add(kind="labour", description="更换前刹车片", standard_hours="1.5", hourly_rate="320")  # ¥480.00
    oem = add(kind="part", description="前刹车片", part_number="3Q0698151", grade="oem", unit_price="680")
    brand = add(kind="part", description="前刹车片", grade="brand", unit_price="420", alternative_to=oem)
    add(kind="fee", description="环保处理费", amount="15")
    services.estimate_send(estimate=labour.estimate, by=advisor)
    services.estimate_line_decide(line=labour, decision="approved", channel="link", by=Party.CUSTOMER)
    return {"order": order, "oem": oem, "brand": brand, "advisor": advisor}


def _keep(page, locator, name: str, screenshot) -> None:
    screenshot(page, name)
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=str(DOC_IMAGES / f"{name}.png"))


def test_the_customer_picks_an_option_and_sees_the_total_before_approving(
    browser, live_server, choice_world, screenshot
):
    order, oem, brand = choice_world["order"], choice_world["oem"], choice_world["brand"]
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/r/{order_link_token(order)}/")
    choice = page.locator("li[data-choice]")
    expect(choice).to_have_count(1)
    expect(choice.locator("input[type=radio]")).to_have_count(2)
    expect(page.locator("#approved-total")).to_have_text("¥480.00")
    preview = choice.locator("[data-choice-preview]")
    assert _money(preview.inner_text()) == Decimal("1160.00")  # 480 approved + the recommended 680
    choice.locator(f"#option-{brand.pk}").check()
    expect(preview).to_have_text("¥900.00")  # 480 + 420, before anything is sent
    expect(choice.locator(f"#line-{brand.pk}")).to_contain_text("260.00")
    assert not re.search(r"(choice|group) \d", page.content(), re.IGNORECASE)
    _keep(page, page.locator("#estimate"), "estimate-choice-zh-Hans", screenshot)

    submit(page, choice.locator("button[name=decision][value=approved]"), "Customer approves the brand pads")
    expect(page.locator("#approved-total")).to_have_text("¥900.00")
    assert EstimateLine.objects.get(pk=brand.pk).decision == "approved"
    assert EstimateLine.objects.get(pk=oem.pk).decision == "declined"
    context.close()


def test_the_desk_shows_the_choice_as_one_item(browser, live_server, choice_world, screenshot):
    order, brand = choice_world["order"], choice_world["brand"]
    context = browser.new_context(locale="en-US", **DESKTOP)
    page = log_in(context, live_server.url, "advisor")
    page.goto(f"{live_server.url}/service/orders/{order.pk}/")
    choice = page.locator("#estimate li[data-choice]")
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text("¥260.00 less than the recommended")
    expect(page.locator("#estimate [data-estimate-total]")).to_have_text("¥1,175.00")  # 480 + 680 + 15
    assert not re.search(r"(choice|group) \d", page.content(), re.IGNORECASE)
    choice.locator(f"#option-{brand.pk}").check()
    _keep(page, page.locator("#estimate"), "estimate-choice-en", screenshot)
    context.close()
