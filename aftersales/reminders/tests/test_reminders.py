"""Reminders end to end on a controlled clock: what falls due when (mileage first, date first, the advisor's own
date, first maintenance, insurance 30 days before), the sweep sending each item once however often it runs,
consent per purpose, snoozing, the one-tap booking link, and the staff pages."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.config.testing import make_customer
from aftersales.core.models import AuditEntry
from aftersales.customers import services as customer_services
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.rules import Party
from aftersales.reminders import selectors, services
from aftersales.reminders.choices import ReminderKind as K
from aftersales.reminders.choices import ReminderState as S
from aftersales.reminders.models import Reminder, ServiceInterval
from aftersales.reminders.tests.conftest import car, frozen, visit
from aftersales.service.choices import ServiceType

pytestmark = pytest.mark.django_db
D = dt.date


def _item(vehicle, kind, on):
    return next(u for u in selectors.next_reminders_for_vehicle(vehicle, on=on) if u.kind == kind)


def _messages(template):
    return list(OutboxMessage.objects.filter(template=template).order_by("id"))


# ------------------------------------------------------------------------------------------------- what is due


def test_maintenance_falls_due_by_mileage_first_for_a_car_that_drives_a_lot(shop):
    vehicle = car(shop, purchase_date=D(2025, 1, 1))
    visit(vehicle, D(2025, 10, 3), 10_000, service_type=ServiceType.REPAIR)
    visit(vehicle, D(2026, 1, 1), 19_000)  # 9 000 km in 90 days: 100 km/day
    projection = selectors.mileage_projection(vehicle, on=D(2026, 3, 2))
    assert projection.km_per_day == pytest.approx(100.0)
    assert projection.projected_km == 19_000 + 60 * 100
    due = _item(vehicle, K.MAINTENANCE, D(2026, 3, 2))
    # 29 000 km is reached 100 days after 1 January, long before the 12 months are up.
    assert (due.due_on, due.due_km) == (D(2026, 4, 11), 29_000)
    assert due.remind_on == D(2026, 4, 4)  # maintenance_reminder_days = 7


def test_maintenance_falls_due_by_date_first_for_a_car_that_stands_still(shop):
    vehicle = car(shop, purchase_date=D(2024, 6, 1))
    visit(vehicle, D(2025, 1, 1), 1_000, service_type=ServiceType.REPAIR)
    visit(vehicle, D(2026, 1, 1), 4_650)  # 10 km/day: 14 650 km only after 1 000 days
    due = _item(vehicle, K.MAINTENANCE, D(2026, 3, 2))
    assert (due.due_on, due.due_km) == (D(2027, 1, 1), 14_650)


def test_the_advisors_next_maintenance_wins_over_the_interval(shop):
    vehicle = car(shop)
    visit(vehicle, D(2025, 10, 3), 10_000, service_type=ServiceType.REPAIR)
    visit(vehicle, D(2026, 1, 1), 19_000, next_date=D(2026, 5, 1), next_km=25_000)
    # 25 000 km at 100 km/day: 60 days after 1 January, before the advisor's date.
    due = _item(vehicle, K.MAINTENANCE, D(2026, 2, 1))
    assert (due.due_on, due.due_km) == (D(2026, 3, 2), 25_000)


def test_a_rule_for_the_model_beats_the_powertrain_default(shop):
    vehicle = car(shop, brand="大众", model_name="ID.4 CROZZ", powertrain="bev", purchase_date=D(2026, 1, 1))
    ServiceInterval.objects.create(
        group=shop.store.group, scope="nev", every_km=20_000, every_months=24, first_km=10_000, first_months=12
    )
    rule = ServiceInterval.objects.create(
        group=shop.store.group,
        store=shop.store,
        brand="大众",
        model_pattern="id.4",
        every_km=15_000,
        every_months=12,
        first_km=3_000,
        first_months=3,
    )
    interval = selectors.interval_for(vehicle, selectors.interval_rules(shop.store.group_id))
    assert interval.rule_id == rule.pk and interval.first_months == 3


def test_first_maintenance_is_reminded_three_days_before_it_is_due(shop):
    vehicle = car(shop, purchase_date=D(2026, 1, 10))
    # No visit, no reading: 40 km/day from purchase reaches 5 000 km after 125 days (15 May), before 6 months.
    due = _item(vehicle, K.FIRST_MAINTENANCE, D(2026, 3, 1))
    assert (due.due_on, due.remind_on) == (D(2026, 5, 15), D(2026, 5, 12))
    with frozen(2026, 5, 11, 10, 0):
        services.reminder_sweep()
    assert not _messages("reminder_first_maintenance")
    with frozen(2026, 5, 12, 10, 0):
        services.reminder_sweep()
    [message] = _messages("reminder_first_maintenance")
    assert message.purpose == "service" and "5,000" in message.body


# ------------------------------------------------------------------------------------------------------ sending


def test_insurance_is_reminded_30_days_before_and_only_once(shop):
    vehicle = car(shop, insurance_expires_on=D(2026, 5, 1))
    # The renewal is an offer to sell the policy: marketing, which needs the customer's consent.
    customer_services.consent_set(
        customer=vehicle.customer, purpose="marketing", granted=True, channel="desk", by=shop.cast.alice
    )
    with frozen(2026, 3, 31, 10, 0):
        services.reminder_sweep()
    reminder = Reminder.objects.get(vehicle=vehicle, kind=K.INSURANCE)
    assert (reminder.state, reminder.remind_on) == (S.SCHEDULED, D(2026, 4, 1))
    assert not _messages("reminder_insurance")
    with frozen(2026, 4, 1, 10, 0):
        first = services.reminder_sweep()
        again = services.reminder_sweep()
    with frozen(2026, 4, 2, 10, 0):
        services.reminder_sweep()
    [message] = _messages("reminder_insurance")
    assert first.sent == 1 and again.sent == 0
    assert message.purpose == "marketing" and message.dedupe_key == f"reminder:{reminder.pk}:1"
    assert Reminder.objects.filter(vehicle=vehicle, kind=K.INSURANCE).count() == 1
    reminder.refresh_from_db()
    assert (reminder.state, reminder.send_count, reminder.message_id) == (S.SENT, 1, message.pk)


def test_a_renewed_policy_is_a_new_item(shop):
    vehicle = car(shop, insurance_expires_on=D(2026, 5, 1))
    customer_services.consent_set(
        customer=vehicle.customer, purpose="marketing", granted=True, channel="desk", by=shop.cast.alice
    )
    with frozen(2026, 4, 1, 10, 0):
        services.reminder_sweep()
    customer_services.vehicle_update(vehicle=vehicle, by=shop.cast.alice, insurance_expires_on=D(2027, 5, 1))
    with frozen(2027, 4, 1, 10, 0):
        services.reminder_sweep()
    assert len(_messages("reminder_insurance")) == 2


def test_the_insurance_renewal_without_marketing_consent_is_not_sent(shop):
    vehicle = car(shop, insurance_expires_on=D(2026, 5, 1))
    with frozen(2026, 4, 1, 10, 0):
        result = services.reminder_sweep()
    assert (result.sent, result.suppressed) == (0, 1)
    assert Reminder.objects.get(vehicle=vehicle, kind=K.INSURANCE).state == S.SUPPRESSED


def test_service_notices_need_no_consent_but_the_birthday_greeting_does(shop):
    no_consent = make_customer(shop.store, by=shop.cast.alice, name="赵六", birthday=D(1980, 4, 1))
    car(shop, customer=no_consent, inspection_due_on=D(2026, 5, 1))
    fan = make_customer(shop.store, by=shop.cast.alice, name="钱七", birthday=D(1985, 4, 1))
    customer_services.consent_set(customer=fan, purpose="marketing", granted=True, channel="desk", by=shop.cast.alice)
    with frozen(2026, 4, 1, 10, 0):
        services.reminder_sweep()
    [inspection] = _messages("reminder_inspection")
    assert inspection.status != "suppressed" and inspection.purpose == "service"
    greetings = {m.customer_id: m for m in _messages("reminder_birthday")}
    assert greetings[no_consent.pk].status == "suppressed"
    assert greetings[no_consent.pk].suppressed_reason == "no_marketing_consent"
    assert greetings[fan.pk].status != "suppressed" and greetings[fan.pk].purpose == "marketing"
    assert Reminder.objects.get(customer=no_consent, kind=K.BIRTHDAY).state == S.SUPPRESSED
    assert Reminder.objects.get(customer=fan, kind=K.BIRTHDAY).state == S.SENT


def test_a_maintenance_visit_closes_the_open_cycle(shop):
    vehicle = car(shop)
    visit(vehicle, D(2025, 10, 3), 10_000, service_type=ServiceType.REPAIR)
    visit(vehicle, D(2026, 1, 1), 19_000)  # due 11 April, reminded from 4 April
    with frozen(2026, 3, 20, 10, 0):
        services.reminder_sweep()
    old = Reminder.objects.get(vehicle=vehicle, kind=K.MAINTENANCE)
    assert old.state == S.SCHEDULED and old.due_on == D(2026, 4, 11)
    visit(vehicle, D(2026, 3, 25), 27_000)  # maintained early
    with frozen(2026, 3, 26, 10, 0):
        services.reminder_sweep()
    old.refresh_from_db()
    assert old.state == S.CANCELLED
    assert not _messages("reminder_maintenance")


def test_the_store_the_car_last_visited_sends_its_reminder(shop):
    """One file per group: a customer registered at one store who now goes to the sister store hears from it."""
    from aftersales.service.models import RepairOrder

    vehicle = car(shop)
    visit(vehicle, D(2025, 10, 3), 10_000)
    later = visit(vehicle, D(2026, 1, 1), 19_000)
    RepairOrder.objects.filter(pk=later.pk).update(store=shop.cast.store_b)
    with frozen(2026, 4, 4, 10, 0):
        services.reminder_sweep()
    reminder = Reminder.objects.get(vehicle=vehicle, kind=K.MAINTENANCE)
    assert reminder.store_id == shop.cast.store_b.pk and vehicle.customer.store_id == shop.store.pk


def test_deferred_work_is_reminded_before_its_suggested_date(shop):
    from aftersales.service.models import DeferredWork

    vehicle = car(shop)
    for description, amount in (("更换前刹车片", "180.00"), ("前刹车片", "300.00")):  # a job's labour and part
        DeferredWork.objects.create(
            store=shop.store, vehicle=vehicle, description=description, amount=amount, suggested_date=D(2026, 4, 10)
        )
    with frozen(2026, 4, 7, 10, 0):
        services.reminder_sweep()
    [message] = _messages("reminder_deferred_work")  # one message for the day's items, not one per row
    assert "更换前刹车片、前刹车片" in message.body and "service=repair" in message.body


# ------------------------------------------------------------------------------------------------------- snooze


def _sent_maintenance(shop):
    vehicle = car(shop)
    visit(vehicle, D(2025, 10, 3), 10_000, service_type=ServiceType.REPAIR)
    visit(vehicle, D(2026, 1, 1), 19_000)
    with frozen(2026, 4, 4, 10, 0):
        services.reminder_sweep()
    return Reminder.objects.get(vehicle=vehicle, kind=K.MAINTENANCE)


def test_snooze_sends_once_more_when_the_snooze_ends(shop):
    reminder = _sent_maintenance(shop)
    assert reminder.state == S.SENT
    with frozen(2026, 4, 5, 12, 0):
        services.reminder_snooze(reminder=reminder, days=7, by=Party.CUSTOMER)
    assert (reminder.state, reminder.snoozed_until) == (S.SNOOZED, D(2026, 4, 12))
    with frozen(2026, 4, 11, 10, 0):
        services.reminder_sweep()
    assert len(_messages("reminder_maintenance")) == 1
    with frozen(2026, 4, 12, 10, 0):
        services.reminder_sweep()
        services.reminder_sweep()
    messages = _messages("reminder_maintenance")
    assert [m.dedupe_key for m in messages] == [f"reminder:{reminder.pk}:1", f"reminder:{reminder.pk}:2"]
    reminder.refresh_from_db()
    assert (reminder.state, reminder.send_count, reminder.snoozed_until) == (S.SENT, 2, None)


def test_snooze_checks_the_role_and_the_days(shop):
    reminder = _sent_maintenance(shop)
    with pytest.raises(PermissionDenied):
        services.reminder_snooze(reminder=reminder, days=7, by=shop.cast.tom)
    with pytest.raises(PermissionDenied):
        services.reminder_snooze(reminder=reminder, days=7, by=shop.cast.carol)  # another store's advisor
    with pytest.raises(ValidationError) as exc:
        services.reminder_snooze(reminder=reminder, days=0, by=shop.cast.alice)
    assert "days" in exc.value.message_dict
    reminder.refresh_from_db()
    assert reminder.state == S.SENT
    services.reminder_snooze(reminder=reminder, days=30, by=shop.cast.alice)
    assert AuditEntry.objects.filter(action="reminder.snooze", object_id=str(reminder.pk)).exists()


# ------------------------------------------------------------------------------------------- the booking link


def test_the_link_opens_the_booking_page_prefilled_for_the_vehicle(shop, client):
    reminder = _sent_maintenance(shop)
    body = reminder.message.body
    url = re.search(r"https?://\S+", body).group(0)  # the link stands apart from the text around it
    parts = urlsplit(url)
    assert parts.path == f"/book/{shop.store.code}/"
    assert "service=maintenance" in parts.query and "day=2026-04-11" in parts.query
    with frozen(2026, 4, 4, 11, 0):
        html = client.get(f"{parts.path}?{parts.query}").content.decode()
    assert 'value="maintenance" checked' in html
    assert f'value="{reminder.vehicle.plate}"' in html
    assert 'value="2026-04-11"' in html


def test_the_booking_page_ignores_a_bad_prefill(shop, client):
    with frozen(2026, 4, 4, 11, 0):
        html = client.get(f"/book/{shop.store.code}/?service=teleport&plate=%00x").content.decode()
    assert " checked" not in html.split('name="service_type"')[1][:80]
    assert 'value="teleport"' not in html and 'value="x"' not in html


# ------------------------------------------------------------------------------------------------- staff pages


def test_the_list_shows_the_stores_reminders_to_who_may_see_them(shop, client):
    reminder = _sent_maintenance(shop)
    client.force_login(shop.cast.alice)
    html = client.get("/reminders/").content.decode()
    assert f'id="reminder-{reminder.pk}"' in html
    assert client.get("/reminders/?state=scheduled").content.decode().count(f'id="reminder-{reminder.pk}"') == 0
    client.force_login(shop.cast.carol)  # store B
    assert f'id="reminder-{reminder.pk}"' not in client.get("/reminders/").content.decode()
    assert client.post(f"/reminders/{reminder.pk}/snooze/", {"days": "7"}).status_code == 404
    client.force_login(shop.cast.tom)
    assert client.get("/reminders/").status_code == 403


def test_snooze_from_the_list(shop, client):
    reminder = _sent_maintenance(shop)
    client.force_login(shop.cast.alice)
    response = client.post(f"/reminders/{reminder.pk}/snooze/", {"days": "7", "next": "/reminders/?kind=maintenance"})
    assert response.status_code == 302 and response["Location"] == "/reminders/?kind=maintenance"
    reminder.refresh_from_db()
    assert reminder.state == S.SNOOZED


def test_the_manager_sets_a_store_rule_and_the_advisor_may_not(shop, client):
    client.force_login(shop.cast.alice)
    assert client.get("/reminders/intervals/").status_code == 403
    client.force_login(shop.cast.mia)
    page = client.get("/reminders/intervals/")
    assert page.status_code == 200
    assert ServiceInterval.objects.filter(group=shop.store.group).count() == 2  # the defaults, made on first use
    data = {
        "store": shop.store.code,
        "level": "store",
        "scope": "all",
        "brand": "大众",
        "model_pattern": "朗逸",
        "every_km": "7500",
        "every_months": "6",
        "first_km": "5000",
        "first_months": "6",
    }
    assert client.post("/reminders/intervals/", data).status_code == 302
    rule = ServiceInterval.objects.get(store=shop.store)
    assert (rule.every_km, rule.model_pattern) == (7_500, "朗逸")
    # A group-wide rule needs the group's settings role, which the store manager does not hold.
    assert client.post("/reminders/intervals/", {**data, "level": "group"}).status_code == 403
    bad = client.post("/reminders/intervals/", {**data, "every_km": "50"})
    assert bad.status_code == 400 and ServiceInterval.objects.filter(store=shop.store).count() == 1


def test_a_scheduled_reminder_follows_new_readings_and_a_new_owner(shop):
    vehicle = car(shop)
    visit(vehicle, D(2025, 10, 3), 10_000, service_type=ServiceType.REPAIR)
    visit(vehicle, D(2026, 1, 1), 19_000)
    with frozen(2026, 3, 20, 10, 0):
        services.reminder_sweep()
    reminder = Reminder.objects.get(vehicle=vehicle, kind=K.MAINTENANCE)
    assert reminder.due_on == D(2026, 4, 11)
    visit(vehicle, D(2026, 3, 21), 28_000, service_type=ServiceType.REPAIR)  # driving faster than before
    buyer = make_customer(shop.store, by=shop.cast.alice, name="孙八")
    type(vehicle).objects.filter(pk=vehicle.pk).update(customer=buyer)  # sold on (as data, not through a page)
    with frozen(2026, 3, 22, 10, 0):
        services.reminder_sweep()
    reminder.refresh_from_db()
    assert reminder.state == S.SCHEDULED and reminder.due_on < D(2026, 4, 11)
    assert reminder.customer_id == buyer.pk
    assert Reminder.objects.filter(vehicle=vehicle, kind=K.MAINTENANCE).count() == 1
