"""The store manager's dashboard in a real browser, under the strict Content-Security-Policy: a tile's trend opens in
its dialog with the chart drawn, and the tile's figure clicks through to the records behind it (met / not met)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from playwright.sync_api import expect

from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.core import clock
from aftersales.feedback.choices import SurveyChannel
from aftersales.feedback.models import SurveyResponse
from aftersales.feedback.services.surveys import survey_instrument_default
from aftersales.organisation.choices import Role
from aftersales.service.models import RepairOrder
from tests.browser.helpers import DESKTOP, PASSWORD, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
_numbers = itertools.count(1)


def _surveyed_order(store, advisor, day: dt.datetime, score: int) -> None:
    customer = make_customer(store)
    order = RepairOrder.objects.create(
        store=store,
        number=f"SH01-B{next(_numbers):05d}",
        customer=customer,
        vehicle=make_vehicle(customer),
        service_type="repair",
        status="delivered",
        advisor=advisor,
        arrived_at=day,
        ready_at=day + dt.timedelta(hours=2),
        delivered_at=day + dt.timedelta(hours=3),
        link_nonce="n",
    )
    SurveyResponse.objects.create(
        store=store,
        order=order,
        customer=customer,
        instrument=survey_instrument_default(),
        channel=SurveyChannel.FOLLOW_UP_CALL,
        overall=score,
        recommend=score,
        submitted_at=day + dt.timedelta(days=1),
    )


@pytest.fixture
def month_world(transactional_db):
    """Last month at one store: three surveyed orders (9, 10, 5) of one advisor."""
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    manager = make_user("manager", Role.MANAGER, store=store)
    manager.set_password(PASSWORD)
    manager.save()
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    last_month = Period.containing(clock.today()).previous()
    first = dt.datetime.combine(last_month.first_day, dt.time(10), tzinfo=LOCAL_TZ)
    for offset, score in ((2, 9), (5, 10), (9, 5)):
        _surveyed_order(store, advisor, first + dt.timedelta(days=offset), score)
    return last_month


@pytest.mark.parametrize(("locale", "options"), [("zh-CN", PHONE), ("en-GB", DESKTOP)])
def test_a_tile_opens_its_trend_and_clicks_through_to_its_records(
    browser, live_server, month_world, csp_violations, locale, options
):
    context = browser.new_context(locale=locale, **options)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/numbers/?period={month_world}")
    tile = page.locator("#kpi-csat_percent")
    expect(tile).to_have_attribute("data-value", "66.67")  # 2 of 3 surveys at 8 or more
    expect(tile).to_have_attribute("data-status", "red")
    if options is DESKTOP:
        tile.locator("[data-trend-toggle]").click()
        dialog = page.locator("#trend-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("[data-trend-kpi=csat_percent]")).to_be_visible()
        expect(dialog.locator("[data-chart] svg")).to_be_visible()
        width = dialog.locator("[data-chart]").evaluate("el => el.querySelector('svg').getBoundingClientRect().width")
        assert width > 400, f"the trend chart is drawn {width} px wide"
        dialog.locator("[data-bs-dismiss=modal]").first.click()
        expect(dialog).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= options["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    with page.expect_navigation():
        tile.locator("[data-drill]").click()
    assert "/numbers/kpi/csat_percent/" in page.url and f"period={month_world}" in page.url
    figure = page.locator("#drilldown-figure")
    expect(figure).to_have_attribute("data-numerator", "2")
    expect(figure).to_have_attribute("data-denominator", "3")
    expect(page.locator("[data-record]")).to_have_count(3)
    expect(page.locator("[data-record][data-met='0']")).to_have_count(1)
    with page.expect_navigation():
        page.locator("[data-met-filter='0']").click()
    expect(page.locator("[data-record]")).to_have_count(1)
    with page.expect_navigation():
        page.locator("[data-record] a").first.click()
    assert "/feedback/surveys/" in page.url
    assert csp_violations == []
    context.close()
