"""The customer's side on a phone (375 × 812) in Chinese, in a browser whose own language is English:

the customer opens the store's booking link (zh-Hans), chooses an advisor with free places in the chosen slot and
asks for a pick-up → the confirmation page shows the duration, directions, documents and the chosen advisor → the
store assigns a driver and the page shows the driver's name and the pick-up window → the car is received and the
progress page shows an estimated ready time that moves as the job moves → a tampered link answers in Chinese, in this
browser and in a fresh English one.

The server's clock stands still at 09:00 today (Shanghai) and is moved by hand, so every time on the page is known.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from aftersales.config.testing import make_group, make_store, make_user, unique_vin
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import Appointment
from tests.browser.helpers import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE_375 = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DIRECTIONS = "地铁2号线张江高科站1号口出，沿祖冲之路向东步行约8分钟"


@pytest.fixture
def clock():
    today = dt.datetime.now(SHANGHAI).date()
    with time_machine.travel(dt.datetime.combine(today, dt.time(9, 0), tzinfo=SHANGHAI), tick=False) as traveller:
        yield today, traveller


@pytest.fixture
def world(clock, transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    today, traveller = clock
    store = make_store(make_group("demo", "华东汽车服务集团"), "SH01", "上海浦东大众4S店")
    store.address, store.directions, store.phone = "上海市浦东新区张江路1088号", DIRECTIONS, "021-58881234"
    store.save()
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=day, opens=dt.time(8, 0), closes=dt.time(20, 0)) for day in range(7)]
    )
    bays = [
        Bay.objects.create(store=store, code=f"B0{n}", name=f"机修{n}", capabilities=[BayCapability.GENERAL])
        for n in (1, 2, 3)
    ]
    people = {}
    for username, role, name in (
        ("wang", Role.ADVISOR, "王丽"),
        ("li", Role.ADVISOR, "李强"),
        ("zhao", Role.TECHNICIAN, "赵师傅"),
        ("zhang", Role.DRIVER, "张师傅"),
        ("manager", Role.MANAGER, "周经理"),
    ):
        people[username] = make_user(username, role, store=store)
        StaffProfile.objects.filter(user=people[username]).update(display_name=name)
    StaffProfile.objects.filter(user=people["zhao"]).update(technician_grade=TechnicianGrade.SENIOR)
    return {"today": today, "clock": traveller, "store": store, "bay": bays[0], **people}


def _at(today: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(today, dt.time(hour, minute), tzinfo=SHANGHAI)


def _chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


class CustomerSideBrowserTests:
    def test_book_with_an_advisor_follow_the_car_and_a_tampered_link_in_chinese(
        self, browser, live_server, world, screenshot
    ):
        base, today = live_server.url, world["today"]
        slot = _at(today, 11)
        phone = browser.new_context(locale="en-US", **PHONE_375)  # the phone's own language is English
        fresh = browser.new_context(locale="en-US", **PHONE_375)
        try:
            # ---- the store's booking link, in Chinese
            page = phone.new_page()
            page.goto(f"{base}/book/SH01/?lang=zh-hans")
            assert page.locator("html").get_attribute("lang") == "zh-hans"
            page.click("label[for=st-maintenance]")
            page.fill("#id_day", today.isoformat())
            slot_radio = page.locator(f"#slots input[name=start][value='{slot.isoformat()}']")
            expect(slot_radio).to_be_enabled()
            page.click(f"label[for={slot_radio.get_attribute('id')}]")
            # the advisors follow the chosen time: each has 2 places in this slot
            wang = page.locator(f"#advisor-{world['wang'].pk}")
            expect(page.locator("label[for=advisor-any]")).to_have_text("不指定")
            expect(page.locator(f"label[for=advisor-{world['wang'].pk}]")).to_contain_text("王丽 · 此时段剩余 2 个名额")
            expect(page.locator("#advisor-any")).to_be_checked()
            page.click(f"label[for=advisor-{world['wang'].pk}]")
            expect(wang).to_be_checked()
            page.fill("#id_name", "陈晓明")
            page.fill("#id_phone", "13912348765")
            page.fill("#id_plate", "沪AK2468")
            page.fill("#id_vin", unique_vin())
            page.fill("#id_model_name", "上汽大众 帕萨特")
            page.check("#id_pickup")
            page.fill("#id_pickup_address", "上海市浦东新区世纪大道100号")
            page.fill("#id_pickup_from", "09:30")
            page.fill("#id_pickup_to", "10:30")
            submit(page, page.locator("#booking-form button[type=submit]"), "The customer books")
            assert "/a/" in page.url and page.url.endswith("?lang=zh-hans"), page.url
            appointment = Appointment.objects.get(customer__name="陈晓明")
            assert appointment.advisor == world["wang"] and appointment.pickup

            # ---- the confirmation page
            assert page.locator("html").get_attribute("lang") == "zh-hans"
            expect(page.locator("#appointment-time")).to_have_text(f"{today.isoformat()} 11:00")
            expect(page.locator("#duration")).to_contain_text("约 1 小时 30 分钟")  # a maintenance: 90 min
            expect(page.locator("#directions")).to_contain_text("上海市浦东新区张江路1088号")
            expect(page.locator("#directions")).to_contain_text(DIRECTIONS)
            expect(page.locator("#directions a[href='tel:021-58881234']")).to_have_count(1)
            expect(page.locator("#documents li")).to_have_text(["行驶证", "保养手册"])
            expect(page.locator("#advisor")).to_contain_text("王丽")
            expect(page.locator("#pickup-status")).to_contain_text("09:30–10:30")
            assert "张师傅" not in page.locator("#pickup-status").inner_text()

            # ---- the store assigns the driver; the customer's page names them
            services.appointment_assign_driver(appointment=appointment, driver=world["zhang"], by=world["wang"])
            page.reload()
            expect(page.locator("#pickup-driver-name")).to_contain_text("张师傅")
            expect(page.locator("#pickup-status")).to_contain_text("09:30–10:30")
            for selector in ("h1", "#duration", "#directions", "#documents", "#advisor", "#pickup-status"):
                text = page.locator(selector).first.inner_text()
                assert _chinese(text), f"{selector} is not in Chinese: {text!r}"
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page is wider than the phone"
            screenshot(page, "customer-confirmation-zh-Hans")

            # ---- the car is received; the progress page estimates when it is ready
            order = services.appointment_check_in(appointment=appointment, by=world["wang"])
            services.inspection_record(order=order, by=world["wang"], mileage_in=23456, fuel_level=60)
            line = services.estimate_line_add(
                order=order, by=world["wang"], kind="labour", description="常规保养", standard_hours="1.0"
            )
            services.estimate_send(estimate=line.estimate, by=world["wang"])
            services.estimate_line_decide(line=line, decision="approved", channel="desk", by=world["wang"])
            page.reload()
            follow = page.locator("a[href*='/r/']")
            assert follow.get_attribute("href").endswith("?lang=zh-hans")
            with page.expect_navigation():
                follow.click()
            order_url = page.url
            expect(page.locator("#order-status")).to_have_attribute("data-status", S.RECEPTION)
            # nobody ahead, 1 technician: 09:00 + 1.0 h + 30 min quality check and wash = 10:30
            expect(page.locator("#ready-at")).to_have_text("今天 10:30")
            expect(page.locator("#ready-basis")).to_contain_text("您前面有 0 辆车")

            services.repair_order_transition(order=order, to=S.WAITING, by=world["wang"])
            services.repair_order_assign(order=order, by=world["manager"], technician=world["zhao"], bay=world["bay"])
            services.repair_order_transition(order=order, to=S.IN_BAY, by=world["zhao"])
            world["clock"].move_to(_at(today, 9, 20))
            services.repair_order_transition(order=order, to=S.IN_PROGRESS, by=world["zhao"])
            page.reload()
            # work started at 09:20: 09:20 + 1.0 h + 30 min = 10:50 → up to the quarter hour: 11:00
            expect(page.locator("#order-status")).to_have_attribute("data-status", S.IN_PROGRESS)
            expect(page.locator("#ready-at")).to_have_text("今天 11:00")
            text = page.locator("#ready-estimate").inner_text()
            assert _chinese(text), text
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page is wider than the phone"
            screenshot(page, "customer-progress-zh-Hans")

            # ---- a tampered link answers in Chinese: here, and in a fresh English browser (the link's lang)
            token = re.search(r"/r/([^/]+)/", order_url)[1]
            tampered = f"{base}/r/{token[:-4]}{'AAAA' if not token.endswith('AAAA') else 'BBBB'}/?lang=zh-hans"
            for context, where in ((phone, "the customer's phone"), (fresh, "a fresh English browser")):
                other = context.new_page()
                response = other.goto(tampered)
                assert response.status == 403, where
                assert other.locator("html").get_attribute("lang") == "zh-hans", where
                message = other.locator("#link-error").inner_text()
                assert _chinese(message) and "链接" in message, f"{where}: {message!r}"
                assert other.locator("body.as-customer").count() == 1, where
            screenshot(other, "customer-link-error-zh-Hans")
        finally:
            phone.close()
            fresh.close()
