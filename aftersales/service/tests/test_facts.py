"""The facts the KPIs read (KPIS.md): timestamp constraints, arrival and category input, the comeback suggestion at
day 30 / day 31, the no-show sweep under a controlled clock, the technician's job clock."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.core.exceptions import ApplicationError
from aftersales.service import services
from aftersales.service.choices import AppointmentStatus
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import Appointment, ConcernCategory, JobClockSegment, RepairOrder
from aftersales.service.tests.conftest import (
    QC_ALL_TICKED,
    approved_labour,
    frozen,
    inspect,
    order_in_progress,
    set_store_setting,
    shanghai,
    walk,
)

pytestmark = pytest.mark.django_db


def register(shop, **facts):
    return services.walk_in_register(
        store=shop.store, by=shop.advisor, service_type="repair", plate=shop.vehicle.plate, **facts
    )


def deliver(shop, order):
    services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
    walk(shop, order, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.QC)
    services.quality_check_record(order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=True)
    order.refresh_from_db()
    return services.repair_order_deliver(
        order=order, by=shop.advisor, explanation="已修复", next_service_date=None, next_service_km=None
    )


# --------------------------------------------------------------------------------------------- constraints


@pytest.mark.parametrize(
    ("field", "earlier_than"),
    [
        ("reception_started_at", "arrived_at"),
        ("inspection_done_at", "arrived_at"),
        ("work_started_at", "inspection_done_at"),
        ("ready_at", "work_started_at"),
        ("delivered_at", "ready_at"),
        ("delivered_at", "arrived_at"),
    ],
)
def test_a_direct_update_breaking_the_timestamp_chain_is_refused_by_the_database(shop, field, earlier_than):
    with frozen(2026, 3, 2, 9, 0):
        order = register(shop)
    base = shanghai(2026, 3, 2, 12, 0)
    chain = {"inspection_done_at": base, "work_started_at": base, "ready_at": base, "delivered_at": base}
    RepairOrder.objects.filter(pk=order.pk).update(**chain)  # all equal: allowed (≤)
    too_early = {field: base - dt.timedelta(hours=4)} if earlier_than != "arrived_at" else {}
    if earlier_than == "arrived_at":
        too_early = {field: shanghai(2026, 3, 2, 8, 59)}
    with pytest.raises(IntegrityError), transaction.atomic():
        RepairOrder.objects.filter(pk=order.pk).update(**too_early)


def test_the_services_produce_a_valid_chain(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = register(shop, arrived_at=shanghai(2026, 3, 2, 8, 40), waits_on_site=True)
        inspect(shop, order)
        approved_labour(shop, order)
    with frozen(2026, 3, 2, 10, 0):
        order = deliver(shop, order)
    order.refresh_from_db()
    assert order.arrived_at == shanghai(2026, 3, 2, 8, 40)
    assert order.created_at == shanghai(2026, 3, 2, 9, 0)  # the opening stays the opening
    assert order.reception_started_at == shanghai(2026, 3, 2, 9, 0)
    assert order.waits_on_site is True
    assert order.arrived_at <= order.inspection_done_at <= order.work_started_at <= order.ready_at
    assert order.ready_at <= order.delivered_at


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("facts", "field", "message"),
    [
        ({"arrived_at": shanghai(2026, 3, 2, 9, 1)}, "arrived_at", "The arrival cannot be in the future."),
        ({"arrived_at": shanghai(2026, 3, 1, 20, 59)}, "arrived_at", "The arrival can be at most 12 hours ago."),
        ({"concern_category": "gearbox"}, "concern_category", "Unknown concern category"),
    ],
)
def test_bad_arrival_facts_name_the_field_and_write_nothing(shop, facts, field, message):
    with frozen(2026, 3, 2, 9, 0):
        with pytest.raises(ValidationError) as caught:
            register(shop, **facts)
    assert field in caught.value.message_dict
    assert message in caught.value.message_dict[field][0]
    assert not RepairOrder.objects.exists()


def test_twelve_hours_back_is_still_accepted(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = register(shop, arrived_at=shanghai(2026, 3, 1, 21, 0), receive=False)
    assert order.arrived_at == shanghai(2026, 3, 1, 21, 0)
    assert order.reception_started_at is None
    with frozen(2026, 3, 2, 9, 5):
        services.repair_order_receive(order=order, by=shop.advisor)
        with pytest.raises(ApplicationError):
            services.repair_order_receive(order=order, by=shop.advisor)  # once
    order.refresh_from_db()
    assert order.reception_started_at == shanghai(2026, 3, 2, 9, 5)


def test_a_groups_own_category_is_accepted_and_another_groups_is_not(shop, cast):
    ConcernCategory.objects.create(group=shop.store.group, code="gearbox", name_zh_hans="变速箱", name_en="Gearbox")
    with frozen(2026, 3, 2, 9, 0):
        order = register(shop, concern_category="gearbox")
    assert order.concern_category.code == "gearbox"
    assert ConcernCategory.objects.filter(group=None).count() == 10  # the built-ins of the data migration


# --------------------------------------------------------------------------------------------- comebacks


@pytest.mark.parametrize(("back_on", "comeback"), [(dt.date(2026, 4, 1), True), (dt.date(2026, 4, 2), False)])
def test_the_comeback_is_suggested_on_day_30_and_not_on_day_31(shop, back_on, comeback):
    with frozen(2026, 3, 2, 9, 0):
        first = register(shop, concern_category="brakes")
        inspect(shop, first)
        approved_labour(shop, first)
    with frozen(2026, 3, 2, 17, 0):
        first = deliver(shop, first)  # delivered 2 March: 1 April is day 30, 2 April day 31
    with frozen(back_on.year, back_on.month, back_on.day, 9, 0):
        second = register(shop, concern_category="brakes")
    second.refresh_from_db()
    assert (second.comeback_of_id == first.pk) is comeback
    assert second.comeback_confirmed_at is None


def test_the_comeback_window_counts_the_stores_local_days_whoever_reads(shop):
    """The suggestion counts the store's local calendar days, like the first-time-fix KPI, even when a reader's
    time zone is active: back on 2 April 07:00 in Shanghai (1 April 23:00 UTC) is day 31, not a comeback."""
    with frozen(2026, 3, 2, 9, 0):
        first = register(shop, concern_category="brakes")
        inspect(shop, first)
        approved_labour(shop, first)
    with frozen(2026, 3, 2, 17, 0):
        deliver(shop, first)
    with frozen(2026, 4, 2, 7, 0), timezone.override("UTC"):
        second = register(shop, concern_category="brakes")
    second.refresh_from_db()
    assert second.comeback_of_id is None


def test_the_advisor_confirms_or_clears_and_a_later_category_change_does_not_override(shop):
    with frozen(2026, 3, 2, 9, 0):
        first = register(shop, concern_category="brakes")
        inspect(shop, first)
        approved_labour(shop, first)
        first = deliver(shop, first)
    with frozen(2026, 3, 10, 9, 0):
        second = register(shop, concern_category="ac")  # another complaint: no suggestion
        assert second.comeback_of_id is None
        services.repair_order_facts_update(order=second, by=shop.advisor, concern_category="brakes")
        second.refresh_from_db()
        assert second.comeback_of_id == first.pk  # suggested once the category matches
        with pytest.raises(PermissionDenied):
            services.repair_order_comeback_confirm(order=second, by=shop.senior)
        services.repair_order_comeback_confirm(order=second, by=shop.advisor)
        second.refresh_from_db()
        assert second.comeback_confirmed_by == shop.advisor and second.comeback_of_id == first.pk
        services.repair_order_comeback_clear(order=second, by=shop.advisor)
        services.repair_order_facts_update(order=second, by=shop.advisor, concern_category="brakes")
    second.refresh_from_db()
    assert second.comeback_of_id is None and second.comeback_confirmed_at is not None  # the advisor's word stands


# --------------------------------------------------------------------------------------------- no-shows


def test_the_no_show_sweep_moves_a_booking_after_its_start_plus_grace_once(shop):
    customer = make_customer(shop.store, by=shop.advisor, name="赵六", phone="13900139000")
    vehicle = make_vehicle(customer, by=shop.advisor, plate="沪A67890")
    with frozen(2026, 3, 2, 9, 0):
        late, kept = (
            services.appointment_book(
                store=shop.store,
                start=shanghai(2026, 3, 3, hour, 30),
                service_type="maintenance",
                channel="phone",
                customer=c,
                vehicle=v,
                by=shop.advisor,
            )
            for hour, c, v in ((10, customer, vehicle), (11, shop.customer, shop.vehicle))
        )
    with frozen(2026, 3, 3, 11, 30):
        services.appointment_check_in(appointment=kept, by=shop.advisor)
    with frozen(2026, 3, 3, 11, 0):  # slot start 10:30 + 30 min grace: not yet passed
        assert services.no_show_sweep() == 0
    with time_at(shanghai(2026, 3, 3, 11, 0, 1)):
        assert services.no_show_sweep() == 1
        assert services.no_show_sweep() == 0  # idempotent
    late.refresh_from_db()
    kept.refresh_from_db()
    assert late.status == AppointmentStatus.NO_SHOW
    assert kept.status == AppointmentStatus.ARRIVED


def test_the_grace_is_a_store_setting(shop):
    set_store_setting(shop, no_show_grace_minutes=90)
    with frozen(2026, 3, 2, 9, 0):
        booking = services.appointment_book(
            store=shop.store,
            start=shanghai(2026, 3, 3, 10, 30),
            service_type="maintenance",
            channel="phone",
            customer=shop.customer,
            vehicle=shop.vehicle,
            by=shop.advisor,
        )
    with frozen(2026, 3, 3, 12, 0):
        assert services.no_show_sweep() == 0
    with frozen(2026, 3, 3, 12, 1):
        assert services.no_show_sweep() == 1
    assert Appointment.objects.get(pk=booking.pk).status == AppointmentStatus.NO_SHOW


def time_at(moment: dt.datetime):
    import time_machine

    return time_machine.travel(moment, tick=False)


# --------------------------------------------------------------------------------------------- the job clock


def test_start_pause_resume_finish_sums_the_clocked_time(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = order_in_progress(shop)
    line = order.estimates.get().lines.get()
    with frozen(2026, 3, 2, 9, 10):
        services.labour_clock_start(line=line, user=shop.senior)
        with pytest.raises(ApplicationError):
            services.labour_clock_start(line=line, user=shop.senior)  # already running
    with frozen(2026, 3, 2, 9, 40):
        services.labour_clock_pause(line=line, user=shop.senior)
    with frozen(2026, 3, 2, 10, 0):
        services.labour_clock_start(line=line, user=shop.senior)
    with frozen(2026, 3, 2, 10, 45):
        services.labour_clock_finish(line=line, user=shop.senior)
        with pytest.raises(ApplicationError):
            services.labour_clock_start(line=line, user=shop.senior)  # finished
    line.refresh_from_db()
    assert line.work_finished_at == shanghai(2026, 3, 2, 10, 45)
    from aftersales.service.services.facts import clocked_hours

    assert clocked_hours(line) == pytest.approx(75 / 60)


def test_only_the_orders_technician_clocks_and_only_approved_labour(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = order_in_progress(shop)
        line = order.estimates.get().lines.get()
        for other in (shop.junior, shop.foreman, shop.advisor):
            with pytest.raises(PermissionDenied):
                services.labour_clock_start(line=line, user=other)
        pending = services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description="四轮定位", standard_hours="0.5"
        )
        services.estimate_send(estimate=pending.estimate, by=shop.advisor)
        with pytest.raises(ApplicationError, match="approved"):
            services.labour_clock_start(line=pending, user=shop.senior)
        with pytest.raises(ApplicationError):
            services.labour_clock_finish(line=line, user=shop.senior)  # never started
    assert not JobClockSegment.objects.exists()


def test_starting_another_line_pauses_the_running_one_and_leaving_work_pauses_all(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = order_in_progress(shop)
        first = order.estimates.get().lines.get()
        second = approved_labour(shop, order, "0.5")
    with frozen(2026, 3, 2, 9, 10):
        services.labour_clock_start(line=first, user=shop.senior)
    with frozen(2026, 3, 2, 9, 20):
        services.labour_clock_start(line=second, user=shop.senior)
    assert JobClockSegment.objects.get(line=first).ended_at == shanghai(2026, 3, 2, 9, 20)
    with frozen(2026, 3, 2, 9, 30):
        walk(shop, order, S.WAITING_PARTS)
    assert not JobClockSegment.objects.filter(ended_at__isnull=True).exists()
    assert JobClockSegment.objects.get(line=second).ended_at == shanghai(2026, 3, 2, 9, 30)


# --------------------------------------------------------------------------------------------- API


def post(client, url, token, body=None):
    kwargs = {"HTTP_ACCEPT_LANGUAGE": "en", **token}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return client.post(f"/api/v1{url}", **kwargs)


def test_check_in_through_the_api_takes_the_facts_and_refuses_an_unknown_category(client, shop, api_token):
    alice = api_token(shop.advisor)
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
    with frozen(2026, 3, 2, 10, 20):
        refused = post(client, f"/appointments/{booking.pk}/check-in", alice, {"concern_category": "gearbox"})
        assert refused.status_code == 422, refused.content
        assert "concern_category" in refused.json()["errors"]
        assert not RepairOrder.objects.exists()
        assert Appointment.objects.get(pk=booking.pk).status == AppointmentStatus.BOOKED
        # `receive` is off by default now (the customer waits in the queue); the advisor checking in receives.
        body = {
            "arrived_at": "2026-03-02T10:05:00+08:00",
            "receive": True,
            "waits_on_site": True,
            "concern_category": "brakes",
        }
        answer = post(client, f"/appointments/{booking.pk}/check-in", alice, body)
    assert answer.status_code == 201, answer.content
    order = answer.json()
    assert order["arrived_at"] == "2026-03-02T10:05:00+08:00"
    assert order["reception_started_at"] == "2026-03-02T10:20:00+08:00"
    assert order["waits_on_site"] is True and order["concern_category"] == "brakes"
    assert order["comeback_of"] is None


def test_the_clock_through_the_api_is_the_technicians_own(client, shop, api_token):
    with frozen(2026, 3, 2, 9, 0):
        order = order_in_progress(shop)
    line = order.estimates.get().lines.get()
    url = f"/repair-orders/{order.pk}/lines/{line.pk}/clock"
    with frozen(2026, 3, 2, 9, 10):
        assert post(client, f"{url}/start", api_token(shop.junior)).status_code == 403
        assert post(client, f"{url}/start", api_token(shop.senior)).json()["running"] is True
    with frozen(2026, 3, 2, 9, 40):
        done = post(client, f"{url}/finish", api_token(shop.senior)).json()
    assert done == {
        "line": line.pk,
        "running": False,
        "clocked_minutes": 30,
        "work_finished_at": "2026-03-02T09:40:00+08:00",
    }
