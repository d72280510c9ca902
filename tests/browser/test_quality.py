"""The service-quality pages in a real browser under the strict Content-Security-Policy: the pairwise-matrix editor
recomputes CR live as a comparison changes (htmx) and points at the pairs to revisit; the store's evaluation draws
its contributions, gaps and IPA charts; the evaluation fits a phone.

The screenshots of docs/images/quality-*.png come from this test (AFTERSALES_DOC_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.quality import services
from aftersales.config.testing import make_customer, make_group, make_store, make_user, make_vehicle
from aftersales.core import clock
from aftersales.feedback.choices import SurveyChannel
from aftersales.feedback.models import SurveyAnswer, SurveyItem, SurveyResponse
from aftersales.feedback.services.surveys import survey_instrument_default
from aftersales.organisation.choices import Role
from aftersales.service.models import RepairOrder
from tests.browser.helpers import DESKTOP, PASSWORD, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
_numbers = itertools.count(1)
# How much each item moves the overall score (the drivers the page should find), and its typical level.
ITEMS = {
    "quality": (1.0, 4.1),
    "waiting": (0.8, 3.3),
    "explanation": (0.5, 4.0),
    "attitude": (0.4, 4.4),
    "price_transparency": (0.3, 3.6),
    "timeliness": (0.3, 3.9),
    "facility": (0.05, 4.5),
}


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


@pytest.fixture
def quality_world(transactional_db):
    """Last month at SH01: 80 post-visit surveys whose overall score follows repair quality and waiting most, a
    third of them with expectations; SERVQUAL as the store's model."""
    group = make_group("demo", "华东汽车服务集团")
    store = make_store(group, "SH01", "上海浦东大众4S店")
    manager = make_user("manager", Role.MANAGER, store=store)
    manager.set_password(PASSWORD)
    manager.save()
    advisor = make_user("advisor", Role.ADVISOR, store=store)
    services.model_create(user=manager, group=group, store=store, preset="servqual")
    month = Period.containing(clock.today()).previous()
    first = dt.datetime.combine(month.first_day, dt.time(10), tzinfo=LOCAL_TZ)
    instrument = survey_instrument_default()
    items = {item.key: item for item in SurveyItem.objects.filter(instrument=instrument)}
    rng = random.Random(13)
    for n in range(80):
        day = first + dt.timedelta(days=n % 27, minutes=n)
        customer = make_customer(store)
        order = RepairOrder.objects.create(
            store=store,
            number=f"SH01-Q{next(_numbers):05d}",
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
        mood = rng.gauss(0, 0.8)
        values = {
            key: _clamp(level + rng.gauss(0, 0.7) + mood * weight, 1, 5) for key, (weight, level) in ITEMS.items()
        }
        drive = sum(weight * (values[key] - level) for key, (weight, level) in ITEMS.items())
        overall = _clamp(7.6 + drive * 1.1 + rng.gauss(0, 0.6), 0, 10)
        response = SurveyResponse.objects.create(
            store=store,
            order=order,
            customer=customer,
            instrument=instrument,
            channel=SurveyChannel.FOLLOW_UP_CALL,
            overall=overall,
            recommend=overall,
            submitted_at=day + dt.timedelta(days=1),
        )
        asks = n % 3 == 0
        SurveyAnswer.objects.bulk_create(
            SurveyAnswer(
                response=response,
                item=items[key],
                value=value,
                expectation=_clamp(rng.gauss(4.4, 0.5), 3, 5) if asks else None,
            )
            for key, value in values.items()
        )
    return month


def _keep(page, name: str, screenshot, locator=None) -> None:
    if os.environ.get("AFTERSALES_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        target = DOC_IMAGES / f"{name}.png"
        (locator or page).screenshot(path=str(target), **({} if locator else {"full_page": True}))
    else:
        screenshot(page, name)


def _choose(page, cell: str, value: str) -> None:
    """Choose a comparison and wait for the live check to redraw the grid with it."""
    with page.expect_response(lambda r: "/matrix/check/" in r.url):
        page.select_option(f"#{cell}", value)
    expect(page.locator(f"#{cell}")).to_have_value(value)
    expect(page.locator("#matrix-editor.htmx-request")).to_have_count(0)


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-Hans"), ("en-US", "en")])
def test_the_matrix_editor_checks_cr_live(
    browser, live_server, quality_world, screenshot, csp_violations, locale, lang
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/numbers/quality/model/?store=SH01")
    expect(page.locator("[data-criterion=reliability]")).to_be_visible()
    page.locator("#compare-criteria").click()
    expect(page.locator("#matrix-check")).to_have_attribute("data-consistent", "1")
    # the manager's judgement: repair quality first …
    for cell, value in (("m-0-1", "1/4"), ("m-0-2", "1/3"), ("m-1-2", "2"), ("m-1-3", "2"), ("m-1-4", "2")):
        _choose(page, cell, value)
    expect(page.locator("#matrix-check")).to_have_attribute("data-consistent", "1")
    expect(page.locator("[data-mirror='1-0']")).to_have_text("4")  # the lower triangle mirrors 1/4
    # … then a slip: tangibles strongly over responsiveness contradicts the rest
    _choose(page, "m-0-2", "7")
    expect(page.locator("#matrix-check")).to_have_attribute("data-consistent", "0")
    expect(page.locator("#matrix-pairs li").first).to_be_visible()
    expect(page.locator("[data-inconsistent='1']").first).to_be_visible()
    _keep(page, f"quality-matrix-{lang}", screenshot)
    page.locator("#matrix-save").click()
    expect(page.locator("#matrix-problems")).to_be_visible()  # refused with the CR; nothing saved
    assert csp_violations == []
    context.close()


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-Hans"), ("en-US", "en")])
def test_the_store_evaluation_draws_its_charts(
    browser, live_server, quality_world, screenshot, csp_violations, locale, lang
):
    context = browser.new_context(locale=locale, **DESKTOP)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/numbers/quality/?store=SH01&period={quality_world}")
    expect(page.locator("#fuzzy-grade")).to_be_visible()
    for chart in ("contributions", "servqual", "ipa"):
        expect(page.locator(f"#{chart} [data-chart] svg")).to_be_visible()
    expect(page.locator("#ipa-priorities li")).to_have_count(3)
    expect(page.locator("[data-driver]")).to_have_count(7)
    _keep(page, f"quality-evaluation-{lang}", screenshot)
    _keep(page, f"quality-ipa-{lang}", screenshot, page.locator("#ipa"))
    assert csp_violations == []
    context.close()


def test_the_evaluation_fits_a_phone(browser, live_server, quality_world, csp_violations):
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = log_in(context, live_server.url, "manager")
    page.goto(f"{live_server.url}/numbers/quality/?store=SH01&period={quality_world}")
    expect(page.locator("#ipa [data-chart] svg")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"], f"the page scrolls sideways ({width} px)"
    assert csp_violations == []
    context.close()
