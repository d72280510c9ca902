"""The staff pages of the service process: each renders for the role that uses it and refuses the others,
bad input is shown next to its field and writes nothing, and the busy pages keep a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.config.navigation import navigation_for
from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core import clock
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile
from aftersales.service import services
from aftersales.service.choices import AppointmentStatus, DeferredStatus, LineDecision
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import Appointment, Attachment, DeferredWork, EstimateLine, RepairOrder

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
QC_KEYS = ("work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts")


class Desk:
    """Store A of the cast, open every day 08:30–20:00, two bays, a senior technician (tom) and a foreman."""

    def __init__(self, cast):
        self.cast = cast
        self.store = cast.store_a
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(store=self.store, weekday=day, opens=dt.time(8, 30), closes=dt.time(20, 0))
                for day in range(7)
            ]
        )
        self.bay = Bay.objects.create(store=self.store, code="B01", name="机修1", capabilities=[BayCapability.GENERAL])
        self.bay_2 = Bay.objects.create(
            store=self.store, code="N01", name="新能源", capabilities=[BayCapability.NEV_HIGH_VOLTAGE]
        )
        StaffProfile.objects.filter(user=cast.tom).update(technician_grade=TechnicianGrade.SENIOR)
        cast.tom.refresh_from_db()
        self.foreman = make_user("fred", Role.FOREMAN, store=self.store)
        self.customer = make_customer(self.store, by=cast.alice, name="王五")
        self.vehicle = make_vehicle(self.customer, by=cast.alice, plate="沪A12345", mileage_km=12000)

    def car(self, n: int):
        customer = make_customer(self.store, by=self.cast.alice, name=f"客户{n}")
        return make_vehicle(customer, by=self.cast.alice, plate=f"沪B{n:05d}", mileage_km=1000)

    def open(self, vehicle=None) -> RepairOrder:
        vehicle = vehicle or self.vehicle
        return services.walk_in_register(
            store=self.store, by=self.cast.alice, service_type="repair", plate=vehicle.plate
        )

    def approved(self, order: RepairOrder, *, hours: str = "1.0", part: bool = False) -> EstimateLine:
        services.inspection_record(order=order, by=self.cast.alice, mileage_in=order.vehicle.mileage_km, fuel_level=50)
        line = services.estimate_line_add(
            order=order, by=self.cast.alice, kind="labour", description="更换刹车片", standard_hours=hours
        )
        if part:
            services.estimate_line_add(
                order=order, by=self.cast.alice, kind="part", description="刹车片", grade="oem", unit_price="380"
            )
        services.estimate_send(estimate=line.estimate, by=self.cast.alice)
        for pending in EstimateLine.objects.filter(estimate=line.estimate):
            services.estimate_line_decide(line=pending, decision="approved", channel="desk", by=self.cast.alice)
        return line

    def in_progress(self, vehicle=None, bay=None, **kwargs) -> RepairOrder:
        order = self.open(vehicle)
        self.approved(order, **kwargs)
        services.repair_order_assign(order=order, by=self.foreman, technician=self.cast.tom, bay=bay or self.bay)
        # The advisor releases the car to the workshop; tom moves his own job on.
        order = services.repair_order_transition(order=order, to=S.WAITING, by=self.cast.alice)
        for target in (S.IN_BAY, S.IN_PROGRESS):
            order = services.repair_order_transition(order=order, to=target, by=self.cast.tom)
        return order

    def at_qc(self) -> RepairOrder:
        order = self.in_progress()
        return services.repair_order_transition(order=order, to=S.QC, by=self.cast.tom)

    def ready(self) -> RepairOrder:
        order = self.at_qc()
        services.quality_check_record(
            order=order, by=self.foreman, passed=True, checklist=dict.fromkeys(QC_KEYS, True), skip_washing=True
        )
        order.refresh_from_db()
        return order


@pytest.fixture
def client():
    """Pages answer in English here (the store default is Chinese), so tests can read the messages."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def desk(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return Desk(cast)


def _tomorrow_at(hour: int) -> dt.datetime:
    day = clock.today() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, 30), tzinfo=timezone.get_current_timezone())


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --------------------------------------------------------------------------------------------- workbench


class WorkbenchTests:
    def test_it_shows_the_queue_with_its_clocks_for_an_advisor(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.get(reverse("service:workbench"))
        assert response.status_code == 200
        body = response.content.decode()
        assert order.number in body
        assert 'hx-trigger="every 30s"' in body
        assert "Reception queue" in body

    def test_priority_customers_come_first_with_a_badge(self, client, desk):
        first = desk.open(desk.car(1))
        vip = desk.car(2)
        vip.customer.is_priority = True
        vip.customer.save(update_fields=["is_priority"])
        second = desk.open(vip)
        client.force_login(desk.cast.alice)
        body = client.get(reverse("service:workbench"), HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in body  # the htmx refresh gets the queue only
        assert body.index(second.number) < body.index(first.number)
        assert "Priority" in body

    def test_an_overdue_walk_in_is_marked_red(self, client, desk, time_machine):
        order = desk.open()
        time_machine.move_to(order.arrived_at + dt.timedelta(minutes=31))
        client.force_login(desk.cast.alice)
        body = client.get(reverse("service:workbench"), HTTP_HX_REQUEST="true").content.decode()
        assert "list-group-item-danger" in body
        assert 'id="overdue"' in body

    def test_it_lists_todays_bookings_with_a_check_in_button(self, client, desk, time_machine):
        start = _tomorrow_at(10)
        time_machine.move_to(_tomorrow_at(7), tick=False)
        appointment = services.appointment_book(
            store=desk.store,
            start=start,
            service_type="maintenance",
            channel="phone",
            customer=desk.customer,
            vehicle=desk.vehicle,
            by=desk.cast.alice,
        )
        client.force_login(desk.cast.alice)
        body = client.get(reverse("service:workbench")).content.decode()
        assert reverse("service:appointment-check-in", args=[appointment.pk]) in body

    def test_a_technician_is_refused(self, client, desk):
        client.force_login(desk.cast.tom)
        assert client.get(reverse("service:workbench")).status_code == 403

    def test_its_query_count_does_not_grow_with_the_queue(self, client, desk):
        desk.open(desk.car(1))
        client.force_login(desk.cast.alice)
        url = reverse("service:workbench")
        one = _count_queries(client, url)
        for n in range(2, 11):
            order = desk.open(desk.car(n))
            if n % 3 == 0:
                desk.approved(order)
        ten = _count_queries(client, url)
        assert one == ten, "the workbench must not run a query per order"
        assert ten <= 20


# --------------------------------------------------------------------------------------------- walk-in


class WalkInTests:
    def test_a_known_plate_opens_an_order_and_goes_to_it(self, client, desk):
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:walk-in"), {"plate": "沪A12345", "service_type": "repair"})
        order = RepairOrder.objects.get(vehicle=desk.vehicle)
        assert response.status_code == 302
        assert response.url == reverse("service:order-detail", args=[order.pk])
        assert order.walk_in

    def test_a_new_customer_without_a_name_is_shown_the_field_and_nothing_is_written(self, client, desk):
        client.force_login(desk.cast.alice)
        response = client.post(
            reverse("service:walk-in"), {"plate": "沪C99999", "phone": "13912345678", "service_type": "repair"}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["name"]
        assert not RepairOrder.objects.exists()

    def test_neither_plate_nor_phone_is_refused(self, client, desk):
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:walk-in"), {"service_type": "repair"})
        assert response.status_code == 400
        assert 'data-error-for="plate"' in response.content.decode()

    def test_a_technician_may_not_register_walk_ins(self, client, desk):
        client.force_login(desk.cast.tom)
        assert client.get(reverse("service:walk-in")).status_code == 403


# --------------------------------------------------------------------------------------------- bookings


class StaffBookingTests:
    def _post(self, client, desk, **changes):
        data = {
            "vehicle": desk.vehicle.pk,
            "service_type": "maintenance",
            "channel": "phone",
            "day": _tomorrow_at(10).date().isoformat(),
            "start": _tomorrow_at(10).isoformat(),
        }
        data.update(changes)
        return client.post(f"{reverse('service:appointment-create')}?customer={desk.customer.pk}", data)

    def test_an_advisor_books_by_phone(self, client, desk):
        client.force_login(desk.cast.alice)
        page = client.get(f"{reverse('service:appointment-create')}?customer={desk.customer.pk}")
        assert page.status_code == 200
        assert 'name="start"' in page.content.decode()  # the slot picker
        response = self._post(client, desk)
        assert response.status_code == 302
        appointment = Appointment.objects.get()
        assert appointment.channel == "phone"
        assert appointment.created_by == desk.cast.alice

    def test_a_pick_up_needs_its_window(self, client, desk):
        client.force_login(desk.cast.alice)
        response = self._post(client, desk, pickup_address="上海市浦东新区1号")
        assert response.status_code == 400
        assert response.context["form"].errors["pickup_from"]
        assert not Appointment.objects.exists()

    def test_without_a_time_the_slot_field_says_so(self, client, desk):
        client.force_login(desk.cast.alice)
        response = self._post(client, desk, start="")
        assert response.status_code == 400
        assert "Choose a time from the list." in response.content.decode()

    def test_without_a_customer_it_offers_a_search(self, client, desk):
        client.force_login(desk.cast.alice)
        response = client.get(reverse("service:appointment-create"), {"q": "王五"})
        assert response.status_code == 200
        assert f"?customer={desk.customer.pk}" in response.content.decode()

    def test_the_slot_picker_answers_htmx(self, client, desk):
        client.force_login(desk.cast.alice)
        response = client.get(
            reverse("service:appointment-slots"),
            {"store": desk.store.pk, "day": _tomorrow_at(10).date().isoformat()},
        )
        assert response.status_code == 200
        assert _tomorrow_at(10).isoformat() in response.content.decode()

    def test_a_technician_may_not_book(self, client, desk):
        client.force_login(desk.cast.tom)
        assert client.get(reverse("service:appointment-create")).status_code == 403


class AppointmentListTests:
    @pytest.fixture
    def booking(self, desk):
        return services.appointment_book(
            store=desk.store,
            start=_tomorrow_at(10),
            service_type="maintenance",
            channel="phone",
            customer=desk.customer,
            vehicle=desk.vehicle,
            by=desk.cast.alice,
            pickup_address="上海市浦东新区1号",
            pickup_from=_tomorrow_at(8),
            pickup_to=_tomorrow_at(9),
        )

    def test_the_day_lists_bookings_with_driver_and_cancel_forms(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        response = client.get(reverse("service:appointment-list"), {"day": _tomorrow_at(10).date().isoformat()})
        body = response.content.decode()
        assert reverse("service:appointment-driver", args=[booking.pk]) in body
        assert reverse("service:appointment-cancel", args=[booking.pk]) in body

    def test_an_empty_day_says_what_to_do(self, client, desk):
        client.force_login(desk.cast.alice)
        body = client.get(reverse("service:appointment-list"), {"day": "2020-01-01"}).content.decode()
        assert "New booking" in body

    def test_a_driver_is_assigned(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        client.post(reverse("service:appointment-driver", args=[booking.pk]), {"driver": desk.cast.dan.pk})
        booking.refresh_from_db()
        assert booking.driver == desk.cast.dan

    def test_a_colleague_who_is_no_driver_is_not_offered_nor_assigned(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        client.post(reverse("service:appointment-driver", args=[booking.pk]), {"driver": desk.cast.bob.pk})
        booking.refresh_from_db()
        assert booking.driver is None

    def test_a_driver_from_another_store_is_refused(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        response = client.post(
            reverse("service:appointment-driver", args=[booking.pk]), {"driver": desk.cast.carol.pk}, follow=True
        )
        booking.refresh_from_db()
        assert booking.driver is None
        assert any("valid choice" in m for m in _messages(response))

    def test_cancel(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        client.post(reverse("service:appointment-cancel", args=[booking.pk]), {"reason": "客户有事"})
        booking.refresh_from_db()
        assert booking.status == AppointmentStatus.CANCELLED
        assert booking.cancel_reason == "客户有事"

    def test_reschedule(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        url = reverse("service:appointment-reschedule", args=[booking.pk])
        assert client.get(url).status_code == 200
        response = client.post(url, {"day": _tomorrow_at(14).date().isoformat(), "start": _tomorrow_at(14).isoformat()})
        assert response.status_code == 302
        booking.refresh_from_db()
        assert booking.slot.start == _tomorrow_at(14)

    def test_check_in_opens_the_order(self, client, desk, booking):
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:appointment-check-in", args=[booking.pk]))
        order = RepairOrder.objects.get(appointment=booking)
        assert response.url == reverse("service:order-detail", args=[order.pk])

    def test_a_technician_may_not_check_in(self, client, desk, booking):
        client.force_login(desk.cast.tom)
        assert client.post(reverse("service:appointment-check-in", args=[booking.pk])).status_code == 403
        assert not RepairOrder.objects.exists()


# --------------------------------------------------------------------------------------------- the order page


class OrderPageTests:
    def test_it_shows_the_customer_link_the_car_outline_and_the_estimate_editor(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.get(reverse("service:order-detail", args=[order.pk]))
        body = response.content.decode()
        assert response.status_code == 200
        assert "/r/" in body and 'data-copy="#customer-link"' in body
        assert "data-car-outline" in body
        assert 'name="damage_front_bumper"' in body
        assert "Add labour" in body and "Add a part" in body and "Add a fee" in body

    def test_a_technician_may_read_it_but_not_write_the_inspection(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.tom)
        assert client.get(reverse("service:order-detail", args=[order.pk])).status_code == 200
        response = client.post(
            reverse("service:order-inspection", args=[order.pk]), {"mileage_in": 13000, "fuel_level": 50}
        )
        assert response.status_code == 403

    def test_a_user_without_a_role_in_the_store_gets_404(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.carol)
        assert client.get(reverse("service:order-detail", args=[order.pk])).status_code == 404

    def test_the_inspection_with_damage_marks_is_saved(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.post(
            reverse("service:order-inspection", args=[order.pk]),
            {"mileage_in": 13000, "fuel_level": 75, "damage_bonnet": "scratch", "valuables_reminded": "on"},
        )
        assert response.status_code == 302
        order.refresh_from_db()
        assert order.damage_marks == [{"zone": "bonnet", "kind": "scratch", "note": ""}]
        assert order.inspection_done_at is not None and order.valuables_reminded
        body = client.get(reverse("service:order-detail", args=[order.pk])).content.decode()
        assert 'data-zone="bonnet"' in body and 'data-marked="1"' not in body.split('data-zone="roof"')[0][:0]

    def test_a_fuel_level_of_150_is_shown_next_to_the_field_and_nothing_is_written(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.post(
            reverse("service:order-inspection", args=[order.pk]), {"mileage_in": 13000, "fuel_level": 150}
        )
        assert response.status_code == 400
        assert response.context["inspection_form"].errors["fuel_level"] == [
            "Enter the fuel or battery level as a percentage from 0 to 100."
        ]
        assert 'data-error-for="fuel_level"' in response.content.decode()
        order.refresh_from_db()
        assert order.inspection_done_at is None and order.mileage_in is None

    def test_a_part_line_without_a_price_is_refused_at_the_field(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.post(
            reverse("service:estimate-line-add", args=[order.pk]),
            {"kind_prefix": "part", "part-kind": "part", "part-description": "刹车片", "part-grade": "oem"},
        )
        assert response.status_code == 400
        assert response.context["line_forms"]["part"].errors["unit_price"] == ["This field is required."]
        assert not EstimateLine.objects.exists()

    def test_lines_alternatives_sending_and_a_desk_decision(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        url = reverse("service:estimate-line-add", args=[order.pk])
        client.post(
            url,
            {
                "kind_prefix": "labour",
                "labour-kind": "labour",
                "labour-description": "更换刹车片",
                "labour-standard_hours": "1.5",
            },
        )
        client.post(
            url,
            {
                "kind_prefix": "part",
                "part-kind": "part",
                "part-description": "刹车片",
                "part-grade": "oem",
                "part-unit_price": "480",
                "part-quantity": "1",
            },
        )
        oem = EstimateLine.objects.get(kind="part")
        body = client.get(reverse("service:order-detail", args=[order.pk])).content.decode()
        assert "Offer another grade" in body
        client.post(
            url,
            {
                "kind_prefix": "part",
                "part-kind": "part",
                "part-alternative_to": oem.pk,
                "part-description": "刹车片 品牌件",
                "part-grade": "brand",
                "part-unit_price": "260",
                "part-quantity": "1",
            },
        )
        brand = EstimateLine.objects.get(grade="brand")
        oem.refresh_from_db()
        assert brand.choice_group == oem.choice_group is not None
        client.post(reverse("service:estimate-send", args=[oem.estimate_id]))
        oem.estimate.refresh_from_db()
        assert oem.estimate.status == "sent"
        client.post(
            reverse("service:estimate-line-decide", args=[brand.pk]), {"decision": "approved", "channel": "phone"}
        )
        brand.refresh_from_db()
        oem.refresh_from_db()
        assert (brand.decision, brand.decision_channel, brand.decided_by) == ("approved", "phone", desk.cast.alice)
        assert oem.decision == LineDecision.DECLINED
        assert not DeferredWork.objects.exists()  # another grade was chosen: nothing lost

    def test_a_draft_line_can_be_removed(self, client, desk):
        order = desk.open()
        line = services.estimate_line_add(order=order, by=desk.cast.alice, kind="fee", description="检测费", amount=50)
        client.force_login(desk.cast.alice)
        client.post(reverse("service:estimate-line-remove", args=[line.pk]))
        assert not EstimateLine.objects.exists()

    def test_a_non_image_upload_is_refused_and_nothing_is_stored(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        upload = SimpleUploadedFile("photo.jpg", b"MZ this is not a photo", content_type="image/jpeg")
        response = client.post(reverse("service:order-attachment-add", args=[order.pk]), {"file": upload})
        assert response.status_code == 400
        assert "Only photos" in response.context["attachment_form"].errors["file"][0]
        assert not Attachment.objects.exists()

    def test_a_photo_is_stored_and_served_to_staff(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        upload = SimpleUploadedFile("x.png", PNG, content_type="image/png")
        client.post(reverse("service:order-attachment-add", args=[order.pk]), {"file": upload, "caption": "左前门"})
        attachment = Attachment.objects.get()
        assert attachment.purpose == "inspection"
        response = client.get(reverse("service:file", args=[attachment.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"

    def test_evidence_for_a_line(self, client, desk):
        order = desk.open()
        line = services.estimate_line_add(order=order, by=desk.cast.alice, kind="fee", description="检测费", amount=50)
        client.force_login(desk.cast.alice)
        upload = SimpleUploadedFile("x.png", PNG, content_type="image/png")
        client.post(reverse("service:order-attachment-add", args=[order.pk]), {"file": upload, "line": line.pk})
        assert Attachment.objects.get().line == line
        assert Attachment.objects.get().purpose == "evidence"

    def test_an_invalid_transition_shows_the_services_message(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.mia)
        response = client.post(reverse("service:order-transition", args=[order.pk]), {"to": S.IN_PROGRESS}, follow=True)
        assert "A repair order cannot go from “Reception” to “In progress”." in _messages(response)
        order.refresh_from_db()
        assert order.status == S.RECEPTION

    def test_work_cannot_be_released_before_approval(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:order-transition", args=[order.pk]), {"to": S.WAITING}, follow=True)
        assert any("approved at least one line" in m for m in _messages(response))

    def test_waiting_for_parts_needs_a_reason(self, client, desk):
        order = desk.in_progress()
        client.force_login(desk.cast.tom)
        response = client.post(reverse("service:order-transition", args=[order.pk]), {"to": S.WAITING_PARTS})
        assert response.status_code == 400
        assert 'data-error-for="reason"' in response.content.decode()
        order.refresh_from_db()
        assert order.status == S.IN_PROGRESS

    def test_only_the_assigned_technician_moves_the_job(self, client, desk):
        order = desk.in_progress()
        other = make_user("tina", Role.TECHNICIAN, store=desk.store)
        client.force_login(other)
        response = client.post(reverse("service:order-transition", args=[order.pk]), {"to": S.QC})
        assert response.status_code == 403

    def test_dispatch_shows_grades_and_assigns(self, client, desk):
        order = desk.open()
        desk.approved(order)
        client.force_login(desk.foreman)
        body = client.get(reverse("service:order-detail", args=[order.pk])).content.decode()
        assert "Senior" in body and "General repair" in body
        client.post(
            reverse("service:order-assign", args=[order.pk]), {"technician": desk.cast.tom.pk, "bay": desk.bay.pk}
        )
        order.refresh_from_db()
        assert (order.technician, order.bay) == (desk.cast.tom, desk.bay)

    def test_an_advisor_may_not_dispatch(self, client, desk):
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:order-assign", args=[order.pk]), {"technician": desk.cast.tom.pk})
        assert response.status_code == 403

    def test_a_failed_qc_without_notes_is_refused_then_counted(self, client, desk):
        order = desk.at_qc()
        client.force_login(desk.foreman)
        url = reverse("service:order-quality-check", args=[order.pk])
        response = client.post(url, {"passed": "0"})
        assert response.status_code == 400
        assert response.context["qc_form"].errors["notes"]
        client.post(url, {"passed": "0", "notes": "异响仍在"})
        order.refresh_from_db()
        assert (order.status, order.qc_failures) == (S.IN_PROGRESS, 1)

    def test_a_passed_qc_moves_on_to_washing(self, client, desk):
        order = desk.at_qc()
        client.force_login(desk.foreman)
        data = {"passed": "1", **{f"check_{key}": "on" for key in QC_KEYS}}
        client.post(reverse("service:order-quality-check", args=[order.pk]), data)
        order.refresh_from_db()
        assert order.status == S.WASHING

    def test_delivery_without_an_explanation_is_refused_at_the_field(self, client, desk):
        order = desk.ready()
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:order-deliver", args=[order.pk]), {"rating": 9})
        assert response.status_code == 400
        assert response.context["delivery_form"].errors["explanation"]
        order.refresh_from_db()
        assert order.status == S.READY and order.rating is None

    def test_delivery(self, client, desk):
        order = desk.ready()
        client.force_login(desk.cast.alice)
        next_date = (clock.today() + dt.timedelta(days=180)).isoformat()
        client.post(
            reverse("service:order-deliver", args=[order.pk]),
            {"explanation": "已更换刹车片", "next_service_date": next_date, "next_service_km": 20000, "rating": 9},
        )
        order.refresh_from_db()
        assert (order.status, order.rating, order.billed_total) == (S.DELIVERED, 9, services.bill_total(order))

    def test_part_trace(self, client, desk):
        order = desk.in_progress(part=True)
        part = EstimateLine.objects.get(kind="part")
        # The rulebook gives the batch record to reception, dispatch and the technician on his own job: another
        # technician of the store may not record it.
        other = make_user("tina", Role.TECHNICIAN, store=desk.cast.store_a)
        client.force_login(other)
        assert client.post(reverse("service:part-trace", args=[part.pk]), {"batch_number": "B1"}).status_code == 403
        part.refresh_from_db()
        assert part.batch_number == ""
        client.force_login(desk.foreman)
        response = client.post(reverse("service:part-trace", args=[part.pk]), {"batch_number": ""})
        assert response.status_code == 400
        assert 'data-error-for="batch_number"' in response.content.decode()
        client.post(reverse("service:part-trace", args=[part.pk]), {"batch_number": "B2026-01", "origin": "上海"})
        part.refresh_from_db()
        assert part.batch_number == "B2026-01"
        assert order.pk

    def test_the_staff_bill(self, client, desk):
        order = desk.ready()
        client.force_login(desk.cast.alice)
        response = client.get(reverse("service:order-bill", args=[order.pk]))
        assert response.status_code == 200

    def test_declined_work_is_offered_at_the_next_visit_and_added_back(self, client, desk):
        order = desk.open()
        line = services.estimate_line_add(
            order=order, by=desk.cast.alice, kind="labour", description="更换雨刮", standard_hours="0.5"
        )
        services.estimate_send(estimate=line.estimate, by=desk.cast.alice)
        services.estimate_line_decide(line=line, decision="declined", channel="desk", by=desk.cast.alice)
        services.repair_order_transition(order=order, to=S.CANCELLED, by=desk.cast.alice, reason="客户离开")
        item = DeferredWork.objects.get()
        second = desk.open()
        client.force_login(desk.cast.alice)
        body = client.get(reverse("service:order-detail", args=[second.pk])).content.decode()
        assert "Declined last time" in body and "更换雨刮" in body
        client.post(reverse("service:deferred-add-to-order", args=[second.pk, item.pk]))
        item.refresh_from_db()
        assert (item.status, item.resolved_order) == (DeferredStatus.DONE, second)
        added = EstimateLine.objects.get(estimate__order=second)
        assert (added.kind, added.standard_hours) == ("labour", Decimal("0.50"))

    def test_another_stores_deferred_work_cannot_be_added(self, client, desk):
        from tests.test_web_isolation import build_store_b

        other = build_store_b(desk.cast)
        order = desk.open()
        client.force_login(desk.cast.alice)
        response = client.post(reverse("service:deferred-add-to-order", args=[order.pk, other["deferred"].pk]))
        assert response.status_code == 404
        assert not EstimateLine.objects.filter(estimate__order=order).exists()

    def test_its_query_count_does_not_grow_with_lines(self, client, desk):
        order = desk.open()
        services.estimate_line_add(order=order, by=desk.cast.alice, kind="fee", description="检测费", amount=50)
        client.force_login(desk.cast.mia)
        url = reverse("service:order-detail", args=[order.pk])
        one = _count_queries(client, url)
        for n in range(9):
            services.estimate_line_add(
                order=order, by=desk.cast.alice, kind="part", description=f"件{n}", grade="oem", unit_price="10"
            )
            services.attachment_add(
                order=order,
                by=desk.cast.alice,
                upload=SimpleUploadedFile("x.png", PNG, content_type="image/png"),
                purpose="inspection",
            )
        ten = _count_queries(client, url)
        assert one == ten, "the order page must not run a query per line or photo"
        assert ten <= 25


# --------------------------------------------------------------------------------------------- the workshop


class BoardTests:
    def test_columns_cards_and_the_over_standard_mark(self, client, desk, time_machine):
        order = desk.in_progress(hours="0.5")
        time_machine.move_to(clock.now() + dt.timedelta(minutes=45))
        client.force_login(desk.foreman)
        response = client.get(reverse("service:board"))
        body = response.content.decode()
        assert response.status_code == 200
        assert 'hx-trigger="every 30s"' in body
        assert f'data-board-card="{order.pk}" data-over="1"' in body

    def test_the_htmx_refresh_gets_the_columns_only(self, client, desk):
        client.force_login(desk.foreman)
        body = client.get(reverse("service:board"), HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in body and 'id="col-in_progress"' in body

    def test_someone_without_a_role_is_refused(self, client, desk, django_user_model):
        client.force_login(django_user_model.objects.create_user("nobody", password="x"))
        assert client.get(reverse("service:board")).status_code == 403

    def test_its_query_count_does_not_grow_with_cars(self, client, desk):
        bays = [desk.bay] + [
            Bay.objects.create(store=desk.store, code=f"G{n}", name=f"机修{n}", capabilities=["general"])
            for n in range(2, 11)
        ]
        desk.in_progress(desk.car(1), bay=bays[0])
        client.force_login(desk.foreman)
        url = reverse("service:board")
        one = _count_queries(client, url)
        for n in range(2, 11):
            desk.in_progress(desk.car(n), bay=bays[n - 1])
        ten = _count_queries(client, url)
        assert one == ten, "the board must not run a query per car"
        assert ten <= 15


class MyJobsTests:
    def test_the_technician_sees_approved_lines_and_big_buttons(self, client, desk):
        order = desk.in_progress()
        client.force_login(desk.cast.tom)
        body = client.get(reverse("service:my-jobs")).content.decode()
        assert order.vehicle.model_name in body
        assert "更换刹车片" in body
        assert 'value="waiting_parts"' in body and 'value="qc"' in body
        assert 'capture="environment"' in body

    def test_a_button_moves_the_job_and_comes_back(self, client, desk):
        order = desk.in_progress()
        client.force_login(desk.cast.tom)
        response = client.post(
            reverse("service:order-transition", args=[order.pk]), {"to": S.QC, "next": reverse("service:my-jobs")}
        )
        assert response.url == reverse("service:my-jobs")
        order.refresh_from_db()
        assert order.status == S.QC

    def test_waiting_for_parts_without_a_reason_comes_back_with_the_message(self, client, desk):
        order = desk.in_progress()
        client.force_login(desk.cast.tom)
        response = client.post(
            reverse("service:order-transition", args=[order.pk]),
            {"to": S.WAITING_PARTS, "next": reverse("service:my-jobs")},
            follow=True,
        )
        assert "Say why." in _messages(response)

    def test_an_empty_list_says_who_assigns_jobs(self, client, desk):
        client.force_login(desk.cast.tom)
        assert "The foreman assigns jobs" in client.get(reverse("service:my-jobs")).content.decode()

    def test_an_advisor_has_no_job_list(self, client, desk):
        client.force_login(desk.cast.alice)
        assert client.get(reverse("service:my-jobs")).status_code == 403


class DeferredWorkTests:
    @pytest.fixture
    def item(self, desk):
        order = desk.open()
        line = services.estimate_line_add(
            order=order, by=desk.cast.alice, kind="fee", description="空调清洗", amount=80
        )
        services.estimate_send(estimate=line.estimate, by=desk.cast.alice)
        services.estimate_line_decide(line=line, decision="declined", channel="desk", by=desk.cast.alice)
        return DeferredWork.objects.get()

    def test_the_list_and_dismiss(self, client, desk, item):
        client.force_login(desk.cast.alice)
        assert "空调清洗" in client.get(reverse("service:deferred-list")).content.decode()
        client.post(reverse("service:deferred-dismiss", args=[item.pk]))
        item.refresh_from_db()
        assert item.status == DeferredStatus.DISMISSED

    def test_a_technician_is_refused(self, client, desk, item):
        client.force_login(desk.cast.tom)
        assert client.get(reverse("service:deferred-list")).status_code == 403
        assert client.post(reverse("service:deferred-dismiss", args=[item.pk])).status_code == 403

    def test_the_customer_profile_shows_history_and_deferred_work(self, client, desk, item):
        client.force_login(desk.cast.alice)
        profile = client.get(reverse("customers:customer-detail", args=[desk.customer.pk])).content.decode()
        url = reverse("service:customer-history", args=[desk.customer.pk])
        assert f'hx-get="{url}"' in profile  # the profile loads the service section, running no query for it
        body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        assert 'id="service-history"' in body
        assert "空调清洗" in body
        assert f"?customer={desk.customer.pk}" in body


class NavigationTests:
    @pytest.mark.parametrize(
        ("who", "expected", "absent"),
        [
            ("alice", {"Workbench", "Workshop", "Deferred"}, {"My jobs"}),
            ("tom", {"Workshop", "My jobs"}, {"Workbench", "Deferred"}),
            ("mia", {"Workbench", "Workshop", "My jobs", "Deferred"}, set()),
        ],
    )
    def test_entries_follow_the_role(self, desk, who, expected, absent):
        labels = {str(item["label"]) for item in navigation_for(getattr(desk.cast, who))}
        assert expected <= labels
        assert not absent & labels
