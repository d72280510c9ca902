"""Slots from opening hours, capacity, booking the last place, lead time and horizon at their edges,
reschedule, cancel, pick-up windows and the confirmation message through the outbox."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.core.exceptions import ApplicationError
from aftersales.customers import crypto
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import Bay
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.models import AdvisorSlotLoad, Appointment, Slot

from .conftest import frozen, set_store_setting, shanghai

pytestmark = pytest.mark.django_db

TUESDAY = dt.date(2026, 3, 3)


def book(shop, start, **extra):
    """A booking made online by the customer (Party.CUSTOMER), or by the advisor on any other channel."""
    channel = extra.get("channel", "online")
    fields = {
        "by": Party.CUSTOMER if channel == "online" else shop.advisor,
        "store": shop.store,
        "start": start,
        "service_type": "maintenance",
        "channel": "online",
        "customer": shop.customer,
        "vehicle": shop.vehicle,
    }
    return services.appointment_book(**{**fields, **extra})


def other_car(shop, plate):
    customer = make_customer(shop.store, by=shop.advisor, name="赵六")
    return customer, make_vehicle(customer, by=shop.advisor, plate=plate)


def slot_at(shop, start):
    return Slot.objects.get(store=shop.store, start=start)


class SlotTests:
    def test_a_weekday_has_eleven_one_hour_slots_from_opening_hours(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            slots = services.slots_ensure(store=shop.store, day=TUESDAY)
        # 08:30–20:00 with 60-minute slots: 08:30, 09:30 … 18:30 (the 19:30 slot would end after closing).
        assert len(slots) == 11
        assert slots[0].start == shanghai(2026, 3, 3, 8, 30)
        assert slots[0].end == shanghai(2026, 3, 3, 9, 30)
        assert slots[-1].start == shanghai(2026, 3, 3, 18, 30)
        assert slots[-1].end == shanghai(2026, 3, 3, 19, 30)

    def test_thirty_minute_slots_reach_the_evening_until_eight(self, shop):
        set_store_setting(shop, slot_minutes=30)
        slots = services.slots_ensure(store=shop.store, day=TUESDAY)
        assert len(slots) == 23  # 08:30 … 19:30
        assert slots[-1].start == shanghai(2026, 3, 3, 19, 30)
        assert slots[-1].end == shanghai(2026, 3, 3, 20, 0)
        assert slots[-1].start.isoformat() == "2026-03-03T11:30:00+00:00"  # stored aware, same instant

    @pytest.mark.parametrize("day", [dt.date(2026, 3, 7), dt.date(2026, 3, 8)])
    def test_saturday_and_sunday_have_slots(self, shop, day):
        slots = services.slots_ensure(store=shop.store, day=day)
        assert len(slots) == 11
        assert slots[0].start == dt.datetime.combine(day, dt.time(8, 30), tzinfo=shanghai(2026, 1, 1).tzinfo)

    def test_asking_twice_does_not_create_twice(self, shop):
        services.slots_ensure(store=shop.store, day=TUESDAY)
        services.slots_ensure(store=shop.store, day=TUESDAY)
        assert Slot.objects.filter(store=shop.store).count() == 11

    def test_capacity_is_limited_by_active_bays(self, shop):
        # 3 active bays; 2 advisors (alice, bob) × 2 per slot = 4 → min(3, 4) = 3.
        assert {s.capacity for s in services.slots_ensure(store=shop.store, day=TUESDAY)} == {3}
        Bay.objects.filter(pk=shop.bay_2.pk).update(is_active=False)
        # min(2, 4) = 2 on a day not created yet.
        assert {s.capacity for s in services.slots_ensure(store=shop.store, day=TUESDAY + dt.timedelta(1))} == {2}

    def test_capacity_is_limited_by_advisors(self, shop):
        set_store_setting(shop, bookings_per_advisor_per_slot=1)
        # min(3 bays, 2 advisors × 1) = 2
        assert {s.capacity for s in services.slots_ensure(store=shop.store, day=TUESDAY)} == {2}


class BookingTests:
    def test_booking_takes_one_place(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(shop, shanghai(2026, 3, 3, 9, 30), by=shop.advisor, customer_words="刹车异响")
        slot = slot_at(shop, shanghai(2026, 3, 3, 9, 30))
        assert (slot.booked, slot.remaining) == (1, 2)
        assert appointment.slot == slot
        assert (appointment.status, appointment.channel, appointment.customer_words) == ("booked", "online", "刹车异响")
        assert appointment.created_by == shop.advisor

    def test_the_last_place_is_taken_once_then_the_slot_is_full_and_nothing_is_written(self, shop):
        start = shanghai(2026, 3, 3, 9, 30)
        with frozen(2026, 3, 2, 8, 0):
            book(shop, start)
            for plate in ("沪A22222", "沪A33333"):
                customer, vehicle = other_car(shop, plate)
                book(shop, start, customer=customer, vehicle=vehicle)
            assert slot_at(shop, start).remaining == 0
            customer, vehicle = other_car(shop, "沪A44444")
            messages = OutboxMessage.objects.count()
            with pytest.raises(ApplicationError) as caught:
                book(shop, start, customer=customer, vehicle=vehicle)
        assert caught.value.extra == {"code": "slot_full"}
        assert caught.value.message == "This slot is full. Please choose another time."
        assert slot_at(shop, start).booked == 3
        assert Appointment.objects.filter(slot__start=start).count() == 3
        assert not Appointment.objects.filter(customer=customer).exists()
        assert OutboxMessage.objects.count() == messages

    def test_an_advisor_takes_at_most_the_setting_per_slot(self, shop):
        start = shanghai(2026, 3, 3, 9, 30)
        with frozen(2026, 3, 2, 8, 0):
            book(shop, start, advisor=shop.cast.alice)
            customer, vehicle = other_car(shop, "沪A22222")
            book(shop, start, customer=customer, vehicle=vehicle, advisor=shop.cast.alice)
            customer, vehicle = other_car(shop, "沪A33333")
            with pytest.raises(ApplicationError) as caught:
                book(shop, start, customer=customer, vehicle=vehicle, advisor=shop.cast.alice)
            assert caught.value.extra == {"code": "advisor_full"}
            slot = slot_at(shop, start)
            assert slot.booked == 2  # the slot's place claimed before the advisor check was given back
            assert AdvisorSlotLoad.objects.get(slot=slot, advisor=shop.cast.alice).booked == 2
            # Another advisor still has room in the same slot.
            book(shop, start, customer=customer, vehicle=vehicle, advisor=shop.cast.bob)
        assert slot_at(shop, start).booked == 3

    def test_only_an_advisor_of_the_store_can_be_chosen(self, shop):
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, shanghai(2026, 3, 3, 9, 30), advisor=shop.cast.carol)
        assert "advisor" in caught.value.message_dict

    # Lead time 30 min: the 08:30 slot can be booked until 08:00 inclusive.
    @pytest.mark.parametrize(("now", "ok"), [((7, 59), True), ((8, 0), True), ((8, 1), False)])
    def test_lead_time_edge(self, shop, now, ok):
        with frozen(2026, 3, 3, *now):
            if ok:
                assert book(shop, shanghai(2026, 3, 3, 8, 30)).pk
            else:
                with pytest.raises(ValidationError) as caught:
                    book(shop, shanghai(2026, 3, 3, 8, 30))
                assert caught.value.message_dict["start"] == ["This time has passed or is too soon to book."]

    # Horizon 30 days: at 2026-03-02 08:30 the slot 2026-04-01 08:30 is exactly at the horizon.
    @pytest.mark.parametrize(("now", "ok"), [((8, 29), False), ((8, 30), True), ((8, 31), True)])
    def test_horizon_edge(self, shop, now, ok):
        with frozen(2026, 3, 2, *now):
            if ok:
                assert book(shop, shanghai(2026, 4, 1, 8, 30)).pk
            else:
                with pytest.raises(ValidationError) as caught:
                    book(shop, shanghai(2026, 4, 1, 8, 30))
                assert caught.value.message_dict["start"] == ["Bookings are open for the coming 30 days only."]
                assert not Slot.objects.filter(start__date=dt.date(2026, 4, 1)).exists()

    def test_a_naive_time_is_refused(self, shop):
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, dt.datetime(2026, 3, 3, 9, 30))  # noqa: DTZ001 - the point of the test
        assert "offset" in caught.value.message_dict["start"][0]

    def test_a_start_that_is_not_a_slot_is_refused(self, shop):
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, shanghai(2026, 3, 3, 9, 0))
        assert caught.value.message_dict["start"] == ["The store has no slot starting at this time."]

    def test_the_same_instant_given_in_utc_is_the_slot(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(shop, dt.datetime(2026, 3, 3, 1, 30, tzinfo=dt.UTC))
        assert appointment.slot.start == shanghai(2026, 3, 3, 9, 30)

    def test_a_vehicle_of_another_customer_is_refused(self, shop):
        _customer, vehicle = other_car(shop, "沪A22222")
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, shanghai(2026, 3, 3, 9, 30), vehicle=vehicle)
        assert "vehicle" in caught.value.message_dict
        assert not Appointment.objects.exists()
        assert not Slot.objects.filter(booked__gt=0).exists()

    def test_a_customer_of_another_store_is_refused(self, shop):
        stranger = make_customer(shop.cast.store_b, by=shop.cast.carol, name="外店")
        car = make_vehicle(stranger, by=shop.cast.carol, plate="浙A12345")
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, shanghai(2026, 3, 3, 9, 30), customer=stranger, vehicle=car)
        assert "customer" in caught.value.message_dict
        assert not Appointment.objects.exists()

    @pytest.mark.parametrize(("field", "value"), [("service_type", "massage"), ("channel", "fax")])
    def test_unknown_choices_name_the_field(self, shop, field, value):
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, shanghai(2026, 3, 3, 9, 30), **{field: value})
        assert field in caught.value.message_dict


class RescheduleAndCancelTests:
    def test_reschedule_claims_the_new_slot_and_frees_the_old(self, shop):
        old, new = shanghai(2026, 3, 3, 9, 30), shanghai(2026, 3, 3, 18, 30)
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(shop, old, advisor=shop.cast.alice)
            services.appointment_reschedule(appointment=appointment, start=new, by=shop.advisor)
        assert slot_at(shop, old).booked == 0
        assert slot_at(shop, new).booked == 1
        assert Appointment.objects.get(pk=appointment.pk).slot.start == new
        assert AdvisorSlotLoad.objects.get(slot=slot_at(shop, old), advisor=shop.cast.alice).booked == 0
        assert AdvisorSlotLoad.objects.get(slot=slot_at(shop, new), advisor=shop.cast.alice).booked == 1

    def test_reschedule_to_a_full_slot_is_refused_and_the_booking_stays(self, shop):
        old, full = shanghai(2026, 3, 3, 9, 30), shanghai(2026, 3, 3, 10, 30)
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(shop, old)
            for plate in ("沪A22222", "沪A33333", "沪A44444"):
                customer, vehicle = other_car(shop, plate)
                book(shop, full, customer=customer, vehicle=vehicle)
            with pytest.raises(ApplicationError) as caught:
                services.appointment_reschedule(appointment=appointment, start=full, by=shop.advisor)
        assert caught.value.extra == {"code": "slot_full"}
        assert Appointment.objects.get(pk=appointment.pk).slot.start == old
        assert slot_at(shop, old).booked == 1
        assert slot_at(shop, full).booked == 3

    def test_cancel_frees_the_place_and_cannot_be_done_twice(self, shop):
        start = shanghai(2026, 3, 3, 9, 30)
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(shop, start)
            cancelled = services.appointment_cancel(appointment=appointment, by=shop.advisor, reason="临时出差")
            assert cancelled.status == "cancelled"
            assert cancelled.cancelled_at == shanghai(2026, 3, 2, 8, 0)
            assert cancelled.cancel_reason == "临时出差"
            assert slot_at(shop, start).booked == 0
            with pytest.raises(ApplicationError, match="Only a booked appointment can be cancelled"):
                services.appointment_cancel(appointment=appointment, by=shop.advisor)
        assert slot_at(shop, start).booked == 0

    def test_a_cancelled_booking_cannot_be_rescheduled(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(shop, shanghai(2026, 3, 3, 9, 30))
            services.appointment_cancel(appointment=appointment, by=shop.advisor)
            with pytest.raises(ApplicationError, match="Only a booked appointment can be moved"):
                services.appointment_reschedule(
                    appointment=appointment, start=shanghai(2026, 3, 3, 10, 30), by=shop.advisor
                )


class PickupTests:
    def test_a_valid_pickup_is_stored_with_the_address_encrypted(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            appointment = book(
                shop,
                shanghai(2026, 3, 3, 9, 30),
                pickup_address="上海市徐汇区漕溪北路1号",
                pickup_from=shanghai(2026, 3, 3, 8, 30),
                pickup_to=shanghai(2026, 3, 3, 9, 30),
            )
        assert appointment.pickup is True
        assert "漕溪北路" not in appointment.pickup_address_encrypted
        assert crypto.decrypt(appointment.pickup_address_encrypted) == "上海市徐汇区漕溪北路1号"

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"pickup_address": "上海市徐汇区漕溪北路1号"}, "pickup_from"),
            (
                {"pickup_from": shanghai(2026, 3, 3, 8, 30), "pickup_to": shanghai(2026, 3, 3, 9, 0)},
                "pickup_address",
            ),
            (
                {
                    "pickup_address": "徐汇区",
                    "pickup_from": shanghai(2026, 3, 3, 9, 0),
                    "pickup_to": shanghai(2026, 3, 3, 9, 0),
                },
                "pickup_from",
            ),
            (
                {
                    "pickup_address": "徐汇区",
                    "pickup_from": shanghai(2026, 3, 3, 9, 0),
                    "pickup_to": shanghai(2026, 3, 3, 9, 31),
                },
                "pickup_to",
            ),
        ],
    )
    def test_a_bad_pickup_is_refused_naming_the_field(self, shop, extra, field):
        with frozen(2026, 3, 2, 8, 0), pytest.raises(ValidationError) as caught:
            book(shop, shanghai(2026, 3, 3, 9, 30), **extra)
        assert field in caught.value.message_dict
        assert not Appointment.objects.exists()

    def test_a_driver_is_assigned_only_to_a_pickup_and_from_the_store(self, shop):
        with frozen(2026, 3, 2, 8, 0):
            plain = book(shop, shanghai(2026, 3, 3, 9, 30))
        with pytest.raises(ApplicationError, match="no pick-up"):
            services.appointment_assign_driver(appointment=plain, driver=shop.junior, by=shop.advisor)


class ConfirmationTests:
    def test_the_confirmation_is_queued_in_the_transaction_and_sent_after_commit(
        self, shop, console_outbox, django_capture_on_commit_callbacks
    ):
        with frozen(2026, 3, 2, 8, 0):
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                appointment = book(shop, shanghai(2026, 3, 3, 9, 30))
                message = OutboxMessage.objects.get(related_id=str(appointment.pk), template="booking_confirmed")
                assert message.status == "pending"
                assert list(console_outbox) == []  # nothing leaves before the commit
            assert len(callbacks) == 1
            for callback in callbacks:
                callback()
        message.refresh_from_db()
        assert message.status == "sent"
        assert len(console_outbox) == 1
        body = message.body
        assert "2026-03-03 09:30" in body
        assert "预计等候约90分钟" in body  # duration_maintenance_minutes default
        assert shop.store.address in body
        assert "行驶证、保养手册" in body
        assert "/a/" in body  # the appointment's own link

    def test_a_failed_booking_queues_no_message(self, shop, django_capture_on_commit_callbacks):
        with frozen(2026, 3, 2, 8, 0), django_capture_on_commit_callbacks(execute=False) as callbacks:
            with pytest.raises(ValidationError):
                book(shop, shanghai(2026, 3, 3, 9, 0))
        assert callbacks == []
        assert not OutboxMessage.objects.exists()
