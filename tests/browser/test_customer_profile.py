"""As a new user would: an advisor logs in, finds a customer by the mobile's last four digits and opens
the profile, in Chinese and in English, on a phone-sized screen and on a desktop."""

import pytest

from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.organisation.choices import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def advisor_world(transactional_db):
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    other = make_store(group, "HZ01", "杭州西湖比亚迪4S店")
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    advisor.set_password("aftersales-demo")
    advisor.save()
    customer = make_customer(
        store,
        name="王建华",
        phone="13812345678",
        address="上海市浦东新区张杨路1888号",
        consents={"surveys": True, "marketing": False},
    )
    make_vehicle(customer, plate="沪AD12345", powertrain="bev", model_name="ID.4 X", mileage_km=12800)
    make_customer(store, name="李秀英", phone="13900001111")
    make_customer(other, name="别店客户", phone="13700005678")
    return {"customer": customer}


def _log_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", "advisor")
    page.fill("#id_password", "aftersales-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


class CustomerProfileBrowserTests:
    def test_an_advisor_finds_and_opens_a_profile_in_chinese_on_a_phone(
        self, browser, live_server, advisor_world, screenshot
    ):
        context = browser.new_context(
            locale="zh-CN",
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert "登录" in page.content()
        _log_in(page, live_server.url)
        page.goto(f"{live_server.url}/customers/")
        assert page.locator("text=李秀英").count() == 1
        page.fill("#q", "5678")
        page.wait_for_selector("text=李秀英", state="detached")  # htmx swapped in the search result
        page.wait_for_selector("text=王建华")
        assert page.locator("text=别店客户").count() == 0  # another store's customer never shows
        assert page.locator("text=李秀英").count() == 0
        page.click("text=王建华")
        page.wait_for_selector("h1:has-text('王建华')")
        body = page.content()
        assert "138****5678" in body and "13812345678" not in body
        assert "车辆" in body and "沪A·D12345" in body
        screenshot(page, "customer-profile-zh-phone")
        page.click("#phone-value + button")
        page.wait_for_selector("[data-revealed=phone]")
        assert page.inner_text("[data-revealed=phone]") == "13812345678"
        context.close()

    def test_the_same_profile_in_english_on_a_desktop(self, browser, live_server, advisor_world, screenshot):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        _log_in(page, live_server.url)
        page.select_option("#language-switch", "en")
        page.wait_for_selector("html[lang=en]")
        page.goto(f"{live_server.url}/customers/{advisor_world['customer'].pk}/")
        body = page.content()
        assert "Vehicles" in body and "Consent" in body and "138****5678" in body
        assert page.locator("[data-consent=surveys] .badge").inner_text() == "Agreed"
        screenshot(page, "customer-profile-en-desktop")
        page.goto(f"{live_server.url}/customers/")
        screenshot(page, "customer-list-en-desktop")
        context.close()
