"""The customer 360° profile and the vehicle page (一车一档): group-wide content, scoping, the projection numbers
worked out by hand, bounded query counts and both languages."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.crm.models import TierChange
from aftersales.customers.models import CustomerStoreLink, LinkReason
from aftersales.service.choices import DeferredStatus, RepairOrderStatus, ServiceType
from aftersales.service.models import DeferredWork, RepairOrder

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 8, 19)
_numbers = itertools.count(1)


def visit(vehicle: Any, store: Any, day: dt.date, km: int | None, amount: str = "500.00", **fields: Any) -> Any:
    """A maintenance visit that arrived at 09:00 and was delivered at 17:00 the same day (Shanghai time)."""
    arrived = dt.datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)
    fields.setdefault("status", RepairOrderStatus.DELIVERED)
    return RepairOrder.objects.create(
        store=store,
        number=f"RO-P{next(_numbers):05d}",
        customer=vehicle.customer,
        vehicle=vehicle,
        service_type=ServiceType.MAINTENANCE,
        arrived_at=arrived,
        delivered_at=arrived + dt.timedelta(hours=8) if fields["status"] == RepairOrderStatus.DELIVERED else None,
        mileage_in=km,
        billed_total=Decimal(amount),
        link_nonce="t",
        **fields,
    )


@pytest.fixture
def clock_today():
    with time_machine.travel(dt.datetime(2026, 8, 19, 10, tzinfo=SHANGHAI), tick=False):
        yield TODAY


@pytest.fixture
def file(cast, clock_today):
    """A customer registered at store A who also deals with store B (same group), one car, a visit at each."""
    customer = make_customer(cast.store_a, by=cast.alice, name="周六", phone="13700001234")
    CustomerStoreLink.objects.create(customer=customer, store=cast.store_b, reason=LinkReason.VISIT)
    car = make_vehicle(customer, by=cast.alice, plate="沪A77777", purchase_date=dt.date(2025, 1, 1))
    at_a = visit(car, cast.store_a, dt.date(2026, 1, 1), 10_000, "800.00")
    at_b = visit(car, cast.store_b, dt.date(2026, 4, 11), 13_000, "1200.50")
    return customer, car, at_a, at_b


def _page(client: Any, user: Any, name: str, pk: int) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=[pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find("</section>", start)
    return html[start:end]


# ----------------------------------------------------------------------------------------- the 360° profile


def test_the_profile_shows_the_visits_of_both_stores_of_the_group_with_their_store(client, cast, file):
    customer, _car, at_a, at_b = file
    html = _page(client, cast.alice, "crm:customer-profile", customer.pk)
    visits = _section(html, "profile-visits")
    assert at_a.number in visits and at_b.number in visits
    assert cast.store_a.name in visits and cast.store_b.name in visits
    # Alice works at store A: store A's order is a link, store B's is plain text.
    assert reverse("service:order-detail", args=[at_a.pk]) in visits
    assert reverse("service:order-detail", args=[at_b.pk]) not in visits
    # Lifetime spend: both delivered visits, every store of the group.
    assert "¥2,000.50" in _section_text(html, "profile-lifetime-spend")
    # Masked personal data.
    assert "13700001234" not in html and "1234" in html


def test_roles_without_feedback_see_no_complaint_survey_or_message(client, cast, file):
    """The file is group-wide, but each section follows the reader's role: a parts clerk sees the person and the
    cars, not complaints, surveys, messages, replies or bills."""
    from aftersales.config.testing import make_user
    from aftersales.organisation.choices import Role

    customer, _car, at_a, _at_b = file
    clerk = make_user("pat", Role.PARTS_CLERK, store=cast.store_a)
    html = _page(client, clerk, "crm:customer-profile", customer.pk)
    assert 'id="profile-feedback-hidden"' in html and 'id="profile-complaints"' not in html
    assert 'id="profile-messages"' not in html and 'id="profile-replies"' not in html
    advisor = _page(client, cast.alice, "crm:customer-profile", customer.pk)
    assert 'id="profile-complaints"' in advisor and 'id="profile-feedback-hidden"' not in advisor


def test_lifetime_spend_counts_delivered_orders_only(client, cast, file):
    customer, car, _a, _b = file
    visit(car, cast.store_a, dt.date(2026, 5, 1), None, "999.00", status=RepairOrderStatus.IN_PROGRESS)
    html = _page(client, cast.alice, "crm:customer-profile", customer.pk)
    assert "¥2,000.50" in _section_text(html, "profile-lifetime-spend")


def test_the_profile_shows_tier_history_deferred_work_and_referrals(client, cast, file):
    customer, car, _a, at_b = file
    customer.tier, customer.tier_rule, customer.tier_recency_days = "B", "F ≥ 2 in 365 days", 130
    customer.tier_frequency, customer.tier_monetary, customer.tier_as_of = 2, Decimal("2000.50"), TODAY
    customer.save()
    TierChange.objects.create(customer=customer, from_tier="C", to_tier="B", rule="F ≥ 2", as_of=TODAY)
    DeferredWork.objects.create(
        store=cast.store_b, vehicle=car, description="更换刹车片", amount=Decimal("680"), suggested_date=TODAY
    )
    friend = make_customer(cast.store_a, by=cast.alice, name="朋友甲", referred_by_phone="13700001234")
    html = _page(client, cast.alice, "crm:customer-profile", customer.pk)
    tier = _section(html, "profile-tier")
    assert "F ≥ 2 in 365 days" in tier and "130 days" in tier and "¥2,000.50" in tier
    history = html[html.index('id="profile-tier-history"') :]
    assert "F ≥ 2" in history[: history.index("</ul>")]
    deferred = _section(html, "profile-deferred")
    assert "更换刹车片" in deferred and cast.store_b.name in deferred
    referrals = _section(html, "profile-referrals")
    assert reverse("crm:customer-profile", args=[friend.pk]) in referrals


def test_empty_sections_say_what_to_do_next(client, cast, clock_today):
    customer = make_customer(cast.store_a, by=cast.alice, name="新客户")
    html = _page(client, cast.alice, "crm:customer-profile", customer.pk)
    assert "No visit yet. Book the first service from the customer file." in html
    assert "No vehicle on file." in html
    assert "No tier yet" in html


def test_another_groups_customer_is_404(client, cast, file):
    customer, car, _a, _b = file
    client.force_login(cast.otto)
    assert client.get(reverse("crm:customer-profile", args=[customer.pk])).status_code == 404
    assert client.get(reverse("crm:vehicle-profile", args=[car.pk])).status_code == 404


def test_a_store_that_does_not_deal_with_the_customer_gets_404(client, cast, clock_today):
    customer = make_customer(cast.store_b, by=cast.carol, name="杭州客户")
    car = make_vehicle(customer, by=cast.carol)
    client.force_login(cast.alice)
    assert client.get(reverse("crm:customer-profile", args=[customer.pk])).status_code == 404
    assert client.get(reverse("crm:vehicle-profile", args=[car.pk])).status_code == 404


def test_the_customer_file_links_to_the_profile(client, cast, file):
    customer = file[0]
    html = _page(client, cast.alice, "customers:customer-detail", customer.pk)
    assert reverse("crm:customer-profile", args=[customer.pk]) in html


# ------------------------------------------------------------------------------------------ the vehicle page


def test_the_vehicle_page_shows_the_projection_worked_out_by_hand(client, cast, file):
    """Readings 10,000 km on 2026-01-01, 13,000 on 2026-04-11 (+100 days), 16,000 on 2026-07-20 (+200 days):
    least squares gives exactly 30 km/day.  Today, 2026-08-19, is 30 days after the last reading: 16,900 km.
    The last maintenance (2026-07-20 at 16,000 km) + the default petrol interval (10,000 km / 12 months) is due at
    26,000 km or on 2027-07-20; 10,000 km at 30 km/day takes ceil(333.3) = 334 days: 2027-06-19, which comes first."""
    customer, car, _a, _b = file
    visit(car, cast.store_a, dt.date(2026, 7, 20), 16_000, "300.00")
    html = _page(client, cast.alice, "crm:vehicle-profile", car.pk)
    assert "30.0 km/day" in _section_text(html, "vehicle-km-per-day")
    assert "16,900 km" in _section_text(html, "vehicle-projected-km")
    assert "2027-06-19" in _section_text(html, "vehicle-due-on")
    assert "26,000 km" in _section_text(html, "vehicle-due-km")
    assert "2027-06-19" in _section_text(html, "vehicle-reaches")
    # The chart: three readings as points and the dashed projection to the due mileage.
    chart = re.search(r'<script id="mileage-chart" type="application/json">(.*?)</script>', html, re.S)
    assert chart is not None
    import json

    options = json.loads(chart.group(1))
    points, line = options["series"][0]["data"], options["series"][1]["data"]
    assert points == [["2026-01-01", 10000], ["2026-04-11", 13000], ["2026-07-20", 16000]]
    assert line == [["2026-07-20", 16000], ["2026-08-19", 16900], ["2027-06-19", 26000]]
    assert options["series"][1]["lineStyle"]["type"] == "dashed"
    # Every store's visit, with its store named.
    visits = _section(html, "vehicle-visits")
    assert cast.store_a.name in visits and cast.store_b.name in visits
    assert customer.name in html and "13700001234" not in html


def _section_text(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.find("</", start)]


def test_the_vehicle_page_lists_open_deferred_work_and_the_next_reminders(client, cast, file):
    _customer, car, _a, _b = file
    car.insurance_expires_on = dt.date(2026, 9, 30)
    car.save()
    DeferredWork.objects.create(
        store=cast.store_b, vehicle=car, description="更换雨刮", amount=Decimal("120"), suggested_date=TODAY
    )
    DeferredWork.objects.create(
        store=cast.store_a,
        vehicle=car,
        description="已完成的工作",
        amount=Decimal("1"),
        suggested_date=TODAY,
        status=DeferredStatus.DONE,
    )
    html = _page(client, cast.alice, "crm:vehicle-profile", car.pk)
    deferred = _section(html, "vehicle-deferred")
    assert "更换雨刮" in deferred and "已完成的工作" not in deferred
    reminders = _section(html, "vehicle-reminders")
    assert "Insurance expiry" in reminders and "2026-09-30" in reminders


def test_the_vehicle_page_without_readings_says_what_to_do(client, cast, clock_today):
    customer = make_customer(cast.store_a, by=cast.alice, name="无里程")
    car = make_vehicle(customer, by=cast.alice)
    html = _page(client, cast.alice, "crm:vehicle-profile", car.pk)
    assert "No odometer reading yet." in html
    assert "No visit yet." in html


# ------------------------------------------------------------------------------------------ query counts


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return len(captured.captured_queries)


def _add_visits(car: Any, cast: Any, n: int) -> None:
    """n visits alternating between the two stores, each with a sent estimate-free bill and a deferred item."""
    for i in range(n):
        store = cast.store_a if i % 2 else cast.store_b
        day = dt.date(2025, 2, 1) + dt.timedelta(days=15 * i)
        visit(car, store, day, 1_000 + 500 * i, "100.00")
        DeferredWork.objects.create(
            store=store, vehicle=car, description=f"项目{i}", amount=Decimal("50"), suggested_date=day
        )


@pytest.mark.parametrize("name", ["crm:customer-profile", "crm:vehicle-profile"])
def test_query_count_does_not_grow_with_the_number_of_visits(client, cast, clock_today, name):
    client.force_login(cast.alice)
    counts = []
    for n in (2, 20):
        customer = make_customer(cast.store_a, by=cast.alice, name=f"客户{n}")
        CustomerStoreLink.objects.create(customer=customer, store=cast.store_b, reason=LinkReason.VISIT)
        car = make_vehicle(customer, by=cast.alice, purchase_date=dt.date(2025, 1, 1))
        _add_visits(car, cast, n)
        pk = customer.pk if name == "crm:customer-profile" else car.pk
        _queries(client, reverse(name, args=[pk]))  # warm the per-request caches of the first call alike
        counts.append(_queries(client, reverse(name, args=[pk])))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 45, counts


# ------------------------------------------------------------------------------------------ both languages


@pytest.mark.parametrize("name", ["crm:customer-profile", "crm:vehicle-profile"])
def test_both_languages_render(client, cast, file, name):
    customer, car, _a, _b = file
    client.force_login(cast.alice)
    url = reverse(name, args=[customer.pk if name == "crm:customer-profile" else car.pk])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with translation.override("zh-hans"):
        chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="en"' in english or "Visits" in english
    marker = "360° profile" if name == "crm:customer-profile" else "Mileage and projection"
    assert marker in english and marker not in chinese
    for msgid in ("Visits at every store of the group", "Lifetime spend", "Next reminders", "Projected mileage today"):
        assert msgid not in chinese, msgid
