"""The walk-in "received within 10 min" clock is honest (KPIS.md, "Facts to record first"): registering a customer
records their arrival and puts them in the reception queue; the reception starts when an advisor takes them (the
button, or the walk-around inspection), never silently at the moment of typing.  Only the advisor receiving the
customer right away ticks "receiving now", and then says when the customer came in."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales.analytics import selectors as kpi_selectors
from aftersales.analytics.periods import Period
from aftersales.service import services
from aftersales.service.models import RepairOrder
from aftersales.service.tests.conftest import frozen, inspect, shanghai

pytestmark = pytest.mark.django_db

WALK_IN_KPI = "walk_in_received_within_10_min_percent"


def _walk_in_kpi(shop):
    figures = kpi_selectors.kpi_figures(
        kpi_selectors.scope_for_store(shop.store),
        Period.parse("2026-03"),
        keys=[WALK_IN_KPI, "reception_wait_minutes"],
        now=shanghai(2026, 3, 31, 12, 0),
    )
    return figures[WALK_IN_KPI], figures["reception_wait_minutes"]


def test_the_walk_in_form_does_not_tick_receiving_now(client, shop):
    client.force_login(shop.advisor)
    with frozen(2026, 3, 2, 9, 0):
        page = client.get(reverse("service:walk-in"))
    assert page.status_code == 200
    assert page.context["form"]["receive"].value() is False
    assert 'id="arrival-facts"' in page.content.decode()


def test_a_registered_walk_in_waits_in_the_queue_until_an_advisor_starts_the_reception(client, shop):
    client.force_login(shop.advisor)
    with frozen(2026, 3, 2, 9, 0):
        answer = client.post(reverse("service:walk-in"), {"plate": shop.vehicle.plate, "service_type": "repair"})
    assert answer.status_code == 302
    order = RepairOrder.objects.get()
    assert order.arrived_at == shanghai(2026, 3, 2, 9, 0)
    assert order.reception_started_at is None
    with frozen(2026, 3, 2, 9, 12):
        queue = client.get(reverse("service:workbench"), headers={"HX-Request": "true"}).content.decode()
        assert f'data-awaiting-reception="{order.pk}"' in queue
        assert "text-danger fw-semibold" in queue.split(f'data-awaiting-reception="{order.pk}"')[0].rsplit("<a", 1)[1]
        client.post(reverse("service:order-receive", args=[order.pk]))
        after = client.get(reverse("service:workbench"), headers={"HX-Request": "true"}).content.decode()
    assert f'data-awaiting-reception="{order.pk}"' not in after
    order.refresh_from_db()
    assert order.reception_started_at == shanghai(2026, 3, 2, 9, 12)
    walk_in, wait = _walk_in_kpi(shop)
    assert (walk_in.numerator, walk_in.denominator) == (0, 1)  # 12 minutes: not received within 10
    assert wait.value == 12


def test_receiving_now_needs_the_time_the_customer_came_in(client, shop):
    client.force_login(shop.advisor)
    with frozen(2026, 3, 2, 9, 0):
        refused = client.post(
            reverse("service:walk-in"), {"plate": shop.vehicle.plate, "service_type": "repair", "receive": "on"}
        )
        assert refused.status_code == 400
        assert refused.context["form"].errors["arrived_at"]
        assert 'data-error-for="arrived_at"' in refused.content.decode()
        assert not RepairOrder.objects.exists()
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(
                store=shop.store, by=shop.advisor, service_type="repair", plate=shop.vehicle.plate, receive=True
            )
        assert list(caught.value.message_dict) == ["arrived_at"]
        answer = client.post(
            reverse("service:walk-in"),
            {
                "plate": shop.vehicle.plate,
                "service_type": "repair",
                "receive": "on",
                "arrived_at": "2026-03-02T08:52",
            },
        )
    assert answer.status_code == 302
    order = RepairOrder.objects.get()
    assert order.arrived_at == shanghai(2026, 3, 2, 8, 52)
    assert order.reception_started_at == shanghai(2026, 3, 2, 9, 0)
    walk_in, wait = _walk_in_kpi(shop)
    assert (walk_in.numerator, walk_in.denominator) == (1, 1)
    assert wait.value == 8


def test_the_inspection_starts_a_reception_nobody_started(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = services.walk_in_register(
            store=shop.store, by=shop.advisor, service_type="repair", plate=shop.vehicle.plate
        )
    with frozen(2026, 3, 2, 9, 25):
        inspect(shop, order)
    order.refresh_from_db()
    assert order.reception_started_at == shanghai(2026, 3, 2, 9, 25)
    with frozen(2026, 3, 2, 9, 40):
        inspect(shop, order, mileage=12600)  # a second save keeps the first start
    order.refresh_from_db()
    assert order.reception_started_at == shanghai(2026, 3, 2, 9, 25)


def test_a_one_click_check_in_puts_the_booked_customer_in_the_queue(client, shop):
    with frozen(2026, 3, 2, 9, 0):
        booking = services.appointment_book(
            store=shop.store,
            start=shanghai(2026, 3, 2, 10, 30),
            service_type="repair",
            channel="phone",
            customer=shop.customer,
            vehicle=shop.vehicle,
            by=shop.advisor,
        )
    client.force_login(shop.advisor)
    with frozen(2026, 3, 2, 10, 25):
        client.post(reverse("service:appointment-check-in", args=[booking.pk]))
        queue = client.get(reverse("service:workbench"), headers={"HX-Request": "true"}).content.decode()
    order = RepairOrder.objects.get()
    assert order.arrived_at == shanghai(2026, 3, 2, 10, 25)
    assert order.reception_started_at is None
    assert f'data-awaiting-reception="{order.pk}"' in queue


def test_the_api_registers_into_the_queue_and_names_the_missing_arrival(client, shop, api_token):
    headers = {"HTTP_ACCEPT_LANGUAGE": "en", **api_token(shop.advisor)}
    body = {"store": shop.store.code, "service_type": "repair", "plate": shop.vehicle.plate}

    def post(extra):
        return client.post(
            "/api/v1/repair-orders", data=json.dumps({**body, **extra}), content_type="application/json", **headers
        )

    with frozen(2026, 3, 2, 9, 0):
        refused = post({"receive": True})
        assert refused.status_code == 422, refused.content
        assert "arrived_at" in refused.json()["errors"]
        answer = post({})
    assert answer.status_code == 201, answer.content
    assert answer.json()["reception_started_at"] is None
