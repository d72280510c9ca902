"""Pick-up and drop-off as a job (取送车): the driver's moves and their refusals, the driver's assignment, the list
on the driver's phone (its bounded query count, what it shows in full and to whom), the customer's pages and the
message naming the driver."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core.exceptions import ApplicationError
from aftersales.core.models import AuditEntry
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.choices import Role
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.choices import PickupStatus as P
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import Appointment, PickupEvent, RepairOrder
from aftersales.service.selectors_pickups import pickup_list
from aftersales.service.services.links import appointment_link_token
from aftersales.service.transitions import PICKUP, pickup_moves_for

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ADDRESS = "上海市徐汇区漕溪北路88弄3号"
PHONE = "13912345678"


def _photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("car.png", PNG, content_type="image/png")


def _book(shop, *, hour: int = 10, phone: str = PHONE, plate: str = "沪A67890", day: int = 3) -> Appointment:
    customer = make_customer(shop.store, by=shop.advisor, name="赵六", phone=phone)
    vehicle = make_vehicle(customer, by=shop.advisor, plate=plate, mileage_km=3000)
    start = shanghai(2026, 3, day, hour, 30)
    return services.appointment_book(
        store=shop.store,
        start=start,
        service_type="maintenance",
        channel="phone",
        customer=customer,
        vehicle=vehicle,
        by=shop.advisor,
        pickup_address=ADDRESS,
        pickup_from=start - dt.timedelta(hours=2),
        pickup_to=start - dt.timedelta(hours=1),
    )


@pytest.fixture
def booking(shop):
    """A pick-up booked for Tuesday 3 March 10:30 (window 08:30–09:30), assigned to the driver `dan`."""
    with frozen(2026, 3, 2, 9, 0):
        appointment = _book(shop)
        return services.appointment_assign_driver(appointment=appointment, driver=shop.cast.dan, by=shop.advisor)


def _ready(shop, appointment: Appointment) -> RepairOrder:
    """Check the car in and put its order at `ready` (test data: the workshop's own tests walk the states)."""
    order = services.appointment_check_in(appointment=appointment, by=shop.advisor)
    RepairOrder.objects.filter(pk=order.pk).update(status=S.READY)
    return order


class TestTheMoves:
    def test_a_booking_with_pickup_starts_planned_and_one_without_has_no_status(self, shop, booking):
        assert booking.pickup_status == P.PLANNED
        with frozen(2026, 3, 2, 9, 0):
            plain = services.appointment_book(
                store=shop.store,
                start=shanghai(2026, 3, 3, 11, 30),
                service_type="repair",
                channel="phone",
                customer=shop.customer,
                vehicle=shop.vehicle,
                by=shop.advisor,
            )
        assert plain.pickup_status == ""

    def test_the_whole_job_collected_at_the_store_delivered_back(self, shop, booking):
        dan = shop.cast.dan
        with frozen(2026, 3, 3, 8, 50):
            services.pickup_record(appointment=booking, move="collect", by=dan, photo=_photo())
        booking.refresh_from_db()
        assert booking.pickup_status == P.COLLECTED
        assert booking.collected_at == shanghai(2026, 3, 3, 8, 50)
        with frozen(2026, 3, 3, 9, 20):
            _ready(shop, booking)
        booking.refresh_from_db()
        assert booking.pickup_status == P.AT_STORE  # the check-in put the car at the store
        with frozen(2026, 3, 3, 16, 5):
            services.pickup_record(appointment=booking, move="deliver_back", by=dan)
        booking.refresh_from_db()
        assert booking.pickup_status == P.DELIVERED_BACK
        assert booking.delivered_back_at == shanghai(2026, 3, 3, 16, 5)
        events = list(booking.pickup_events.values_list("move", "from_status", "to_status", "by__username"))
        assert events == [
            ("collect", "planned", "collected", "dan"),
            ("arrive", "collected", "at_store", "alice"),
            ("deliver_back", "at_store", "delivered_back", "dan"),
        ]
        first = booking.pickup_events.get(move="collect")
        assert first.content_type == "image/png" and first.photo.name.endswith(".png")
        assert "car" not in first.photo.name  # stored under a random name
        assert not booking.pickup_events.get(move="deliver_back").photo
        assert set(AuditEntry.objects.filter(object_id=str(booking.pk)).values_list("action", flat=True)) >= {
            "appointment.pickup_collect",
            "appointment.pickup_arrive",
            "appointment.pickup_deliver_back",
        }

    def test_the_advisor_may_record_a_move_for_the_driver(self, shop, booking):
        with frozen(2026, 3, 3, 8, 50):
            services.pickup_record(appointment=booking, move="collect", by=shop.advisor)
        assert Appointment.objects.get(pk=booking.pk).pickup_status == P.COLLECTED

    @pytest.mark.parametrize("who", ["tom", "bob_driver_elsewhere", "other_driver", "carol", "grace"])
    def test_the_rulebook_refuses_everyone_else_and_nothing_is_written(self, shop, booking, who):
        cast = shop.cast
        people = {
            "tom": cast.tom,  # a technician of the store
            "bob_driver_elsewhere": make_user("ben", Role.DRIVER, store=cast.store_b),
            "other_driver": make_user("dora", Role.DRIVER, store=shop.store),  # a driver, but not this job's
            "carol": cast.carol,  # another store's advisor
            "grace": cast.grace,  # the group's analyst
        }
        with frozen(2026, 3, 3, 8, 50), pytest.raises(PermissionDenied):
            services.pickup_record(appointment=booking, move="collect", by=people[who], photo=_photo())
        assert Appointment.objects.get(pk=booking.pk).pickup_status == P.PLANNED
        assert not PickupEvent.objects.exists()

    @pytest.mark.parametrize("party", [Party.CUSTOMER, Party.SYSTEM])
    def test_the_customer_and_the_system_make_no_move(self, booking, party):
        for name in ("collect", "arrive", "deliver_back"):
            assert not PICKUP.may(PICKUP.get(name), actor=party, store_id=booking.store_id)
        with pytest.raises(PermissionDenied):
            services.pickup_record(appointment=booking, move="collect", by=party)

    def test_a_move_from_the_wrong_state_is_refused_after_the_role(self, shop, booking):
        with frozen(2026, 3, 3, 8, 50), pytest.raises(ApplicationError) as caught:
            services.pickup_record(appointment=booking, move="deliver_back", by=shop.cast.dan)
        assert caught.value.extra == {"code": "invalid_transition"}
        # a role without the right is refused before the state says anything
        with pytest.raises(PermissionDenied):
            services.pickup_record(appointment=booking, move="deliver_back", by=shop.cast.tom)
        assert not PickupEvent.objects.exists()

    def test_the_car_goes_back_only_once_its_order_is_ready(self, shop, booking):
        with frozen(2026, 3, 3, 9, 20):
            order = services.appointment_check_in(appointment=booking, by=shop.advisor)
            booking.refresh_from_db()
            with pytest.raises(ApplicationError, match="once its repair order is ready"):
                services.pickup_record(appointment=booking, move="deliver_back", by=shop.cast.dan)
        RepairOrder.objects.filter(pk=order.pk).update(status=S.DELIVERED)
        services.pickup_record(appointment=booking, move="deliver_back", by=shop.cast.dan)
        assert Appointment.objects.get(pk=booking.pk).pickup_status == P.DELIVERED_BACK

    def test_a_cancelled_booking_is_not_collected(self, shop, booking):
        services.appointment_cancel(appointment=booking, by=shop.advisor, reason="改期")
        booking.refresh_from_db()
        with pytest.raises(ApplicationError, match="booking still to come"):
            services.pickup_record(appointment=booking, move="collect", by=shop.cast.dan)

    def test_an_unknown_move_and_a_file_that_is_no_photo_name_their_field(self, shop, booking):
        with pytest.raises(ValidationError) as caught:
            # "arrive" is the check-in's move, not the list's
            services.pickup_record(appointment=booking, move="arrive", by=shop.cast.dan)
        assert set(caught.value.message_dict) == {"move"}
        video = SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40, content_type="video/mp4")
        with pytest.raises(ValidationError) as caught:
            services.pickup_record(appointment=booking, move="collect", by=shop.cast.dan, photo=video)
        assert set(caught.value.message_dict) == {"photo"}
        assert Appointment.objects.get(pk=booking.pk).pickup_status == P.PLANNED  # all or nothing
        assert not PickupEvent.objects.exists()

    def test_the_list_offers_exactly_the_moves_the_rulebook_allows(self, shop, booking):
        assert [m.name for m in pickup_moves_for(appointment=booking, user=shop.cast.dan)] == ["collect"]
        assert [m.name for m in pickup_moves_for(appointment=booking, user=shop.advisor)] == ["collect"]
        assert pickup_moves_for(appointment=booking, user=shop.cast.tom) == []
        assert pickup_moves_for(appointment=booking, user=Party.CUSTOMER) == []


class TestAssigningTheDriver:
    def test_only_a_driver_of_the_store_is_assigned_and_the_customer_is_told_the_name(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            appointment = _book(shop)
            services.appointment_assign_driver(appointment=appointment, driver=shop.cast.dan, by=shop.advisor)
        message = OutboxMessage.objects.get(template="pickup_driver_assigned")
        assert message.customer_id == appointment.customer_id
        assert "Dan" in message.body and "2026-03-03 08:30–09:30" in message.body

    @pytest.mark.parametrize("who", ["bob", "tom", "mia", "driver_of_b"])
    def test_anyone_else_is_refused_naming_the_field_with_one_message(self, shop, who):
        cast = shop.cast
        person = {
            "bob": cast.bob,
            "tom": cast.tom,
            "mia": cast.mia,
            "driver_of_b": make_user("ben", Role.DRIVER, store=cast.store_b),
        }[who]
        with frozen(2026, 3, 2, 9, 0):
            appointment = _book(shop)
            with pytest.raises(ValidationError) as caught:
                services.appointment_assign_driver(appointment=appointment, driver=person, by=shop.advisor)
        assert caught.value.message_dict == {"driver": ["Choose one of the store's drivers."]}
        assert Appointment.objects.get(pk=appointment.pk).driver_id is None
        assert not OutboxMessage.objects.filter(template="pickup_driver_assigned").exists()

    def test_the_staff_form_offers_only_the_drivers(self, client, shop):
        with frozen(2026, 3, 3, 7, 0):
            appointment = _book(shop, day=3)
            client.force_login(shop.advisor)
            page = client.get(reverse("service:appointment-list"), {"day": "2026-03-03"}).content.decode()
        select = page.split(f'id="driver-{appointment.pk}"')[1].split("</select>")[0]
        assert f'value="{shop.cast.dan.pk}"' in select
        for other in (shop.cast.alice, shop.cast.bob, shop.cast.tom, shop.cast.mia):
            assert f'value="{other.pk}"' not in select

    def test_the_staff_form_refuses_a_colleague_who_is_no_driver(self, client, shop):
        with frozen(2026, 3, 2, 9, 0):
            appointment = _book(shop)
            client.force_login(shop.advisor)
            client.post(reverse("service:appointment-driver", args=[appointment.pk]), {"driver": shop.cast.bob.pk})
        assert Appointment.objects.get(pk=appointment.pk).driver_id is None

    @pytest.mark.parametrize("who", ["bob", "carol", "missing", "driver"])
    def test_the_api_answers_one_422_naming_the_field(self, client, shop, api_token, who):
        cast = shop.cast
        ids = {"bob": cast.bob.pk, "carol": cast.carol.pk, "missing": 999_999, "driver": cast.dan.pk}
        with frozen(2026, 3, 2, 9, 0):
            appointment = _book(shop)
            response = client.post(
                f"/api/v1/appointments/{appointment.pk}/driver",
                {"driver": ids[who]},
                content_type="application/json",
                HTTP_ACCEPT_LANGUAGE="en",
                **api_token(shop.advisor),
            )
        if who == "driver":
            assert response.status_code == 200, response.content
            assert response.json()["driver"] == cast.dan.pk
        else:
            assert response.status_code == 422
            message = "No member of this store's staff with this id can take this on."
            assert response.json()["errors"] == {"driver": [message]}
            assert Appointment.objects.get(pk=appointment.pk).driver_id is None


class TestTheDriversList:
    def test_the_driver_sees_their_own_jobs_with_address_and_phone_in_full(self, client, shop, booking):
        with frozen(2026, 3, 3, 7, 30):
            other = _book(shop, hour=11, phone="13700001111", plate="沪B11111")  # no driver yet
            client.force_login(shop.cast.dan)
            response = client.get(reverse("service:pickup-list"), HTTP_ACCEPT_LANGUAGE="en")
        page = response.content.decode()
        assert response.status_code == 200
        assert ADDRESS in page and f'href="tel:{PHONE}"' in page
        assert "08:30–09:30" in page
        assert f"pickup-{other.pk}" not in page and "13700001111" not in page  # not the driver's job
        assert reverse("service:pickup-move", args=[booking.pk, "collect"]) in page
        entry = AuditEntry.objects.get(action="appointment.pickup_list")
        assert entry.changes["shown_in_full"] == [booking.pk]

    def test_the_advisor_sees_every_pickup_masked_and_who_drives(self, client, shop, booking):
        with frozen(2026, 3, 3, 7, 30):
            client.force_login(shop.advisor)
            page = client.get(reverse("service:pickup-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert f"pickup-{booking.pk}" in page and "Dan" in page
        assert ADDRESS not in page and PHONE not in page and "tel:" not in page
        assert "139****5678" in page

    @pytest.mark.parametrize("who", ["tom", "grace", "parts"])
    def test_roles_without_pickups_are_refused(self, client, shop, who):
        user = make_user("pat", Role.PARTS_CLERK, store=shop.store) if who == "parts" else getattr(shop.cast, who)
        client.force_login(user)
        assert client.get(reverse("service:pickup-list")).status_code == 403

    def test_another_stores_advisor_sees_none_of_them(self, shop, booking):
        with frozen(2026, 3, 3, 7, 30):
            seen = pickup_list(user=shop.cast.carol, day=dt.date(2026, 3, 3))
        assert (seen.pickups, seen.drop_offs) == ([], [])

    def test_a_drop_off_appears_when_the_order_is_ready(self, client, shop, booking):
        with frozen(2026, 3, 3, 9, 20):
            order = services.appointment_check_in(appointment=booking, by=shop.advisor)
        with frozen(2026, 3, 4, 9, 0):
            before = pickup_list(user=shop.cast.dan, day=dt.date(2026, 3, 4))
            RepairOrder.objects.filter(pk=order.pk).update(status=S.READY)
            after = pickup_list(user=shop.cast.dan, day=dt.date(2026, 3, 4))
        assert (before.pickups, before.drop_offs) == ([], [])
        assert [(r.appointment.pk, [m.name for m in r.moves]) for r in after.drop_offs] == [
            (booking.pk, ["deliver_back"])
        ]
        # The driver's card says what the driver does next: bring it back (待送回), not the customer's "pick-up".
        client.force_login(shop.cast.dan)
        with frozen(2026, 3, 4, 9, 0):
            zh = client.get(reverse("service:pickup-list"), {"day": "2026-03-04"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        card = zh.content.decode().split(f'id="pickup-{booking.pk}"')[1]
        assert "待送回" in card and "待取车" not in card

    def test_the_move_from_the_phone_with_a_photo(self, client, shop, booking):
        client.force_login(shop.cast.dan)
        with frozen(2026, 3, 3, 8, 45):
            response = client.post(reverse("service:pickup-move", args=[booking.pk, "collect"]), {"photo": _photo()})
        assert response.status_code == 302
        event = PickupEvent.objects.get()
        assert (event.to_status, event.at) == (P.COLLECTED, shanghai(2026, 3, 3, 8, 45))
        photo = client.get(reverse("service:pickup-photo", args=[event.pk]))
        assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
        client.force_login(make_user("dora", Role.DRIVER, store=shop.store))  # another driver of the store
        assert client.get(reverse("service:pickup-photo", args=[event.pk])).status_code == 403
        client.force_login(shop.cast.carol)
        assert client.get(reverse("service:pickup-photo", args=[event.pk])).status_code == 404

    def test_the_list_answers_in_a_bounded_number_of_queries(self, client, shop, django_assert_max_num_queries):
        def jobs(n: int, first: int = 0) -> None:
            with frozen(2026, 3, 2, 9, 0):
                for i in range(first, first + n):
                    a = _book(shop, hour=9 + i, phone=f"1371234{i:04d}", plate=f"沪C{i:05d}")
                    services.appointment_assign_driver(appointment=a, driver=shop.cast.dan, by=shop.advisor)

        client.force_login(shop.cast.dan)

        def count() -> int:
            with frozen(2026, 3, 3, 7, 0):
                from django.db import connection
                from django.test.utils import CaptureQueriesContext

                with CaptureQueriesContext(connection) as queries:
                    assert client.get(reverse("service:pickup-list")).status_code == 200
            return len(queries)

        jobs(1)
        one = count()
        jobs(5, first=1)
        with django_assert_max_num_queries(one):  # six jobs cost what one did
            count()
        assert one <= 10  # 9 today: session, user, roles, stores, the jobs, their events, the audit entry, the shell


class TestTheCustomerSees:
    def test_the_appointment_page_shows_the_status_and_the_drivers_name(self, client, shop, booking):
        url = reverse("service:customer-appointment", args=[appointment_link_token(booking)])
        with frozen(2026, 3, 2, 10, 0):
            page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Pick-up planned" in page and "Dan" in page
        assert "08:30–09:30" in page

    def test_the_order_page_shows_the_car_at_the_store_then_delivered_back(self, client, shop, booking):
        from aftersales.service.services.links import order_link_token

        with frozen(2026, 3, 3, 9, 20):
            order = _ready(shop, booking)
        url = reverse("service:customer-order", args=[order_link_token(order)])
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "At the store" in page and "Dan" in page
        with frozen(2026, 3, 3, 16, 0):
            services.pickup_record(appointment=booking, move="deliver_back", by=shop.cast.dan)
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Delivered back" in page  # the cached page follows the move
