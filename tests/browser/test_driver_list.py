"""The pick-up driver's list on a phone, in both languages: today's pick-ups (the window, the address in full, a
call button) and a car ready to go back; the driver records "delivered back" from the phone and the card moves on.

The screenshots of docs/images/driver-list-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.customers import crypto
from aftersales.organisation.choices import Role
from aftersales.organisation.models import StaffProfile
from aftersales.service import services
from aftersales.service.models import Appointment, RepairOrder, Slot
from tests.browser.helpers import PASSWORD, PHONE, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _booking(store, advisor, driver, *, name, phone, plate, model, address, at: dt.datetime) -> Appointment:
    """Test data: a booking of today with a pick-up assigned to the driver (its times may lie in the past, which
    the booking service would refuse)."""
    customer = make_customer(store, by=advisor, name=name, phone=phone)
    vehicle = make_vehicle(customer, by=advisor, plate=plate, brand="上汽大众", model_name=model)
    slot = Slot.objects.create(store=store, start=at, end=at + dt.timedelta(minutes=30), capacity=4, booked=1)
    return Appointment.objects.create(
        store=store,
        slot=slot,
        customer=customer,
        vehicle=vehicle,
        service_type="maintenance",
        channel="phone",
        pickup=True,
        pickup_status="planned",
        pickup_address_encrypted=crypto.encrypt(address),
        pickup_from=at - dt.timedelta(minutes=90),
        pickup_to=at - dt.timedelta(minutes=30),
        driver=driver,
    )


@pytest.fixture
def driver_world(transactional_db):
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    driver = make_user("driver", Role.DRIVER, store=store)
    driver.set_password(PASSWORD)
    driver.save()
    StaffProfile.objects.filter(user=driver).update(display_name="孙海涛")
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    first = _booking(
        store, advisor, driver, name="王建华", phone="13812345678", plate="沪A12345", model="帕萨特",
        address="上海市浦东新区张杨路1500号3单元", at=today + dt.timedelta(hours=10),
    )  # fmt: skip
    second = _booking(
        store, advisor, driver, name="李秀英", phone="13987654321", plate="沪B67890", model="途观L",
        address="上海市浦东新区世纪大道88号金茂大厦地库B2", at=today + dt.timedelta(hours=14, minutes=30),
    )  # fmt: skip
    services.pickup_record(
        appointment=first, move="collect", by=driver, photo=SimpleUploadedFile("a.png", PNG, content_type="image/png")
    )
    back = _booking(
        store, advisor, driver, name="陈志明", phone="13600001111", plate="沪C24680", model="朗逸",
        address="上海市浦东新区锦绣路2580弄12号", at=today - dt.timedelta(days=1) + dt.timedelta(hours=9),
    )  # fmt: skip
    services.pickup_record(appointment=back, move="collect", by=advisor)
    order = services.appointment_check_in(appointment=back, by=advisor)
    RepairOrder.objects.filter(pk=order.pk).update(status="ready")
    return {"first": first, "second": second, "back": back}


def _keep(page, name: str, screenshot) -> None:
    screenshot(page, name)
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-Hans"), ("en-US", "en")])
def test_the_driver_works_the_day_from_the_phone(browser, live_server, driver_world, screenshot, locale, lang):
    context = browser.new_context(locale=locale, **PHONE)
    page = log_in(context, live_server.url, "driver")
    page.goto(f"{live_server.url}/service/pickups/")
    second, back = driver_world["second"], driver_world["back"]
    card = page.locator(f"#pickup-{second.pk}")
    expect(card).to_contain_text("世纪大道88号金茂大厦地库B2")  # the address in full for the driver
    expect(card.locator("a[href='tel:13987654321']")).to_be_visible()
    expect(card).to_contain_text("13:00–14:00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    _keep(page, f"driver-list-{lang}", screenshot)
    drop_off = page.locator(f"#pickup-{back.pk}")
    submit(page, drop_off.locator("button"), "delivered back")
    expect(page.locator(f"#pickup-{back.pk} .badge").first).to_have_text(
        "已送回" if lang == "zh-Hans" else "Delivered back"
    )
    assert Appointment.objects.get(pk=back.pk).pickup_status == "delivered_back"
    context.close()
