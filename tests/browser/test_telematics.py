"""A vehicle's connected-car page in a real browser: the advisor opens the EV from the alert list and sees the
alerts its reports raised (which rule, what was reported, the rescue lead) and the events' timeline, in Chinese and
in English, under the strict Content-Security-Policy.

The screenshots of docs/images/telematics-*.png come from this test (AFTERSALES_UPDATE_DOCS_IMAGES=1)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.telematics.models import VehicleAlert
from aftersales.telematics.services import vehicle_events_intake
from tests.browser.helpers import DESKTOP, PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / ("docs/images" if os.environ.get("AFTERSALES_UPDATE_DOCS_IMAGES") == "1" else "test-artifacts")


@pytest.fixture
def ev(transactional_db):
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东新能源4S店")
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    advisor.set_password(PASSWORD)
    advisor.save()
    feed = make_user("tsp", Role.GROUP_MANAGER, group=group)
    owner = make_customer(store, by=advisor, name="林雨桐", consents={"vehicle_data": True})
    car = make_vehicle(
        owner, by=advisor, plate="沪AD36912", powertrain="bev", brand="比亚迪", model_name="海豹", mileage_km=18_200
    )
    now = clock.now().replace(microsecond=0)
    events = []
    for step in range(9):  # the last day and a half, every four hours
        at = now - dt.timedelta(hours=36 - step * 4)
        events.append(
            {
                "event_id": f"h-{step}",
                "vin": car.vin,
                "occurred_at": at,
                "odometer_km": 18_250 + step * 9.5,
                "soc_pct": 86 - step * 7,
                "total_voltage_v": 395 - step * 2.5,
                "total_current_a": 42.5,
                "insulation_resistance_kohm": 4200,
                "max_cell_voltage_v": 3.62,
                "min_cell_voltage_v": 3.58,
                "max_cell_temperature_c": 29,
                "min_cell_temperature_c": 22,
            }
        )
    last = {**events[-1]}
    events += [
        {**last, "event_id": "t-1", "occurred_at": now - dt.timedelta(minutes=50), "soc_pct": 9.5, "dtcs": ["P0A80"]},
        {
            **last,
            "event_id": "t-2",
            "occurred_at": now - dt.timedelta(minutes=20),
            "soc_pct": 8.0,
            "max_cell_temperature_c": 63,
            "alarm_level": 3,
            "alarm_flags": ["battery_high_temperature", "insulation"],
            "insulation_resistance_kohm": 85,
            "dtcs": ["P0A80"],
            "latitude": 31.2215,
            "longitude": 121.5447,
        },
    ]
    result = vehicle_events_intake(source="byd-tsp", events=events, by=feed)
    assert result.accepted == 11 and not result.errors
    return car


@pytest.mark.parametrize(("locale", "language"), [("zh-CN", "zh-Hans"), ("en-GB", "en")])
def test_the_advisor_sees_the_alerts_of_the_ev(browser, live_server, ev, locale, language):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "advisor")
    page.goto(f"{live_server.url}/telematics/alerts/")
    assert page.locator("[id^=alert-]").count() == VehicleAlert.objects.count() == 4
    with page.expect_navigation():
        page.locator(f"#alert-{VehicleAlert.objects.order_by('pk').first().pk} a").click()
    assert f"/telematics/vehicles/{ev.pk}/" in page.url
    alerts = page.locator("#alerts").inner_text()
    assert "P0A80" in alerts and "沪AD36912" in page.locator("h1").inner_text()
    assert ("救援请求" if language == "zh-Hans" else "Rescue request") in alerts
    assert ("绝缘电阻 85 kΩ" if language == "zh-Hans" else "Insulation resistance 85 kΩ") in alerts
    assert page.locator("#events tbody tr").count() == 11
    assert page.locator("#events tr.table-danger").count() == 1
    IMAGES.mkdir(exist_ok=True)
    page.screenshot(path=str(IMAGES / f"telematics-vehicle-{language}.png"), full_page=True)
    context.close()
