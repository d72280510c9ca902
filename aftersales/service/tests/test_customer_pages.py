"""The customer's pages, opened from signed links without an account: booking, the appointment link and
the repair-order page (decisions, evidence, parts, bill, rating).  Bad or foreign links are refused."""

import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Bay, OpeningHours
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.choices import LineDecision
from aftersales.service.models import Appointment, DeferredWork, EstimateLine, RepairOrder
from aftersales.service.services.links import appointment_link_token, order_link_token
from aftersales.service.services.orders import QC_CHECKLIST

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
TOMORROW_10 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(cast, clock):
    store = cast.store_a
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=d, opens=dt.time(8, 0), closes=dt.time(20, 0)) for d in range(7)]
    )
    for code in ("A1", "A2", "A3"):
        Bay.objects.create(store=store, code=code, name=code, capabilities=["general"])
    technician = make_user("tech", Role.TECHNICIAN, store=store)
    technician.staff_profile.technician_grade = "senior"
    technician.staff_profile.save()
    customer = make_customer(store, name="王建华", phone="13812345678")
    vehicle = make_vehicle(customer, plate="沪A12345")
    return {"store": store, "customer": customer, "vehicle": vehicle, "technician": technician}


def _order_with_estimate(world, cast):
    appointment = services.appointment_book(
        store=world["store"],
        start=TOMORROW_10,
        service_type="repair",
        channel="phone",
        customer=world["customer"],
        vehicle=world["vehicle"],
        by=cast.alice,
    )
    order = services.appointment_check_in(appointment=appointment, by=cast.alice)
    services.inspection_record(order=order, by=cast.alice, mileage_in=12000, fuel_level=50)
    labour = services.estimate_line_add(
        order=order, by=cast.alice, kind="labour", description="更换刹车片", standard_hours="1.0", hourly_rate="300"
    )
    oem = services.estimate_line_add(
        order=order, by=cast.alice, kind="part", description="刹车片（原厂）", grade="oem", unit_price="680", quantity=1
    )
    brand = services.estimate_line_add(
        order=order,
        by=cast.alice,
        kind="part",
        description="刹车片（品牌件）",
        grade="brand",
        unit_price="420",
        quantity=1,
        alternative_to=oem,
    )
    wipers = services.estimate_line_add(
        order=order, by=cast.alice, kind="part", description="雨刮片", grade="oem", unit_price="160", quantity=2
    )
    # At reception no technician has the job yet: the advisor photographs the worn pads.
    services.attachment_add(
        order=order, by=cast.alice, purpose="evidence", line=labour, upload=_upload("pads.png", PNG)
    )
    services.estimate_send(estimate=labour.estimate, by=cast.alice)
    return order, {"labour": labour, "oem": oem, "brand": brand, "wipers": wipers}


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/png")


class OnlineBookingTests:
    def test_a_new_customer_books_from_the_phone_page(self, client, world):
        url = reverse("service:customer-book", args=["SH01"])
        page = client.get(url, {"day": "2026-11-24"}, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200 and "10:00" in page.content.decode()
        response = client.post(
            url,
            {
                "service_type": "maintenance",
                "day": "2026-11-24",
                "start": TOMORROW_10.isoformat(),
                "name": "李秀英",
                "phone": "139 0000 2222",
                "plate": "沪AD54321",
                "vin": _vin(),
                "model_name": "大众 ID.4",
                "consent_surveys": "on",
            },
        )
        assert response.status_code == 302
        appointment = Appointment.objects.get(customer__name="李秀英")
        assert appointment.channel == "online" and appointment.slot.start == TOMORROW_10
        assert appointment.customer.consents.get().purpose == "surveys"
        assert client.get(response["Location"]).status_code == 200

    def test_the_anonymous_page_withdraws_a_known_customers_consent_but_never_grants_it(self, client, world):
        """Anyone who knows a mobile number and a plate can fill the page: a tick must not re-subscribe a customer
        who said stop, while an unticked box that withdraws is always honoured."""
        from aftersales.customers.models import Consent, Customer
        from aftersales.customers.services import consent_set

        known = Customer.objects.get(pk=world["customer"].pk)
        consent_set(customer=known, purpose="marketing", granted=False, channel="message_reply", by=None)
        consent_set(customer=known, purpose="surveys", granted=True, channel="desk", by=None)
        response = client.post(
            reverse("service:customer-book", args=["SH01"]),
            {
                "service_type": "repair",
                "day": "2026-11-24",
                "start": TOMORROW_10.isoformat(),
                "name": "王建华",
                "phone": "13812345678",
                "plate": "沪A12345",
                "consent_marketing": "on",
            },
        )
        assert response.status_code == 302  # booked
        assert not Consent.objects.get(customer=known, purpose="marketing").granted
        assert Consent.objects.get(customer=known, purpose="surveys").granted  # unticked: not asked, unchanged

    def test_a_known_customer_books_with_phone_and_plate_only(self, client, world):
        response = client.post(
            reverse("service:customer-book", args=["SH01"]),
            {
                "service_type": "repair",
                "day": "2026-11-24",
                "start": TOMORROW_10.isoformat(),
                "name": "王建华",
                "phone": "13812345678",
                "plate": "沪A12345",
            },
        )
        assert response.status_code == 302
        assert Customer.objects.count() == 1 and Vehicle.objects.count() == 1
        assert Appointment.objects.get().vehicle == world["vehicle"]

    def test_bad_input_names_the_field_and_writes_nothing(self, client, world):
        response = client.post(
            reverse("service:customer-book", args=["SH01"]),
            {
                "service_type": "repair",
                "day": "2026-11-24",
                "start": TOMORROW_10.isoformat(),
                "name": "新客户",
                "phone": "12345",
                "plate": "沪I12345",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
        html = response.content.decode()
        assert 'data-error-for="phone"' in html and 'data-error-for="plate"' in html
        assert Customer.objects.count() == 1 and not Appointment.objects.exists()

    def test_a_full_slot_says_so_and_leaves_no_new_customer(self, client, world, cast):
        for index in range(3):  # three bays: three places
            other = make_customer(world["store"], name=f"客户{index}")
            services.appointment_book(
                store=world["store"],
                start=TOMORROW_10,
                service_type="repair",
                channel="phone",
                customer=other,
                vehicle=make_vehicle(other),
                by=cast.alice,
            )
        before = Customer.objects.count()
        from aftersales.config.testing import unique_vin

        response = client.post(
            reverse("service:customer-book", args=["SH01"]),
            {
                "service_type": "repair",
                "day": "2026-11-24",
                "start": TOMORROW_10.isoformat(),
                "name": "晚到的人",
                "phone": "13700007777",
                "plate": "沪B77777",
                "vin": unique_vin(),
                "model_name": "大众 朗逸",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert "full" in response.content.decode()
        assert Customer.objects.count() == before

    def test_an_unknown_store_is_404(self, client, world):
        assert client.get(reverse("service:customer-book", args=["NOPE"])).status_code == 404


class AppointmentLinkTests:
    def test_the_customer_moves_and_cancels_from_the_link(self, client, world, cast):
        appointment = services.appointment_book(
            store=world["store"],
            start=TOMORROW_10,
            service_type="repair",
            channel="phone",
            customer=world["customer"],
            vehicle=world["vehicle"],
            by=cast.alice,
        )
        url = reverse("service:customer-appointment", args=[appointment_link_token(appointment)])
        later = TOMORROW_10 + dt.timedelta(hours=2)
        assert client.post(url, {"action": "move", "day": "2026-11-24", "start": later.isoformat()}).status_code == 302
        appointment.refresh_from_db()
        assert appointment.slot.start == later
        client.post(url, {"action": "cancel", "reason": "出差"})
        appointment.refresh_from_db()
        assert appointment.status == "cancelled" and appointment.slot.booked == 0

    def test_a_tampered_link_is_refused(self, client, world, cast):
        appointment = services.appointment_book(
            store=world["store"],
            start=TOMORROW_10,
            service_type="repair",
            channel="phone",
            customer=world["customer"],
            vehicle=world["vehicle"],
            by=cast.alice,
        )
        token = appointment_link_token(appointment)
        response = client.get(reverse("service:customer-appointment", args=[token[:-2] + "xx"]))
        assert response.status_code == 403


class OrderPageTests:
    def test_the_page_shows_state_estimate_and_evidence(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        html = client.get(
            reverse("service:customer-order", args=[order_link_token(order)]), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
        assert 'data-status="reception"' in html and "更换刹车片" in html and "Approve" in html
        assert f'data-line="{lines["labour"].pk}"' in html
        assert "/files/" in html  # the evidence photo

    def test_the_customer_approves_one_grade_and_declines_a_line(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        token = order_link_token(order)
        for line, decision in (
            (lines["labour"], "approved"),
            (lines["brand"], "approved"),
            (lines["wipers"], "declined"),
        ):
            response = client.post(
                reverse("service:customer-order-decide", args=[token, line.pk]), {"decision": decision}
            )
            assert response.status_code == 302
        decisions = dict(EstimateLine.objects.values_list("description", "decision"))
        assert decisions == {
            "更换刹车片": "approved",
            "刹车片（原厂）": "declined",
            "刹车片（品牌件）": "approved",
            "雨刮片": "declined",
        }
        assert list(DeferredWork.objects.values_list("description", flat=True)) == ["雨刮片"]
        assert EstimateLine.objects.get(pk=lines["labour"].pk).decision_channel == "link"

    def test_deciding_twice_shows_a_clear_message(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        token = order_link_token(order)
        url = reverse("service:customer-order-decide", args=[token, lines["wipers"].pk])
        client.post(url, {"decision": "approved"})
        response = client.post(url, {"decision": "declined"}, HTTP_ACCEPT_LANGUAGE="en")
        assert "error=" in response["Location"]
        assert EstimateLine.objects.get(pk=lines["wipers"].pk).decision == LineDecision.APPROVED

    def test_a_line_of_another_order_cannot_be_decided_with_this_link(self, client, world, cast):
        order, _lines = _order_with_estimate(world, cast)
        other_customer = make_customer(world["store"], name="别人")
        other_vehicle = make_vehicle(other_customer)
        other = services.walk_in_register(
            store=world["store"],
            by=cast.alice,
            service_type="repair",
            plate=other_vehicle.plate or "",
            phone=other_customer.phone,
        )
        foreign = services.estimate_line_add(order=other, by=cast.alice, kind="fee", description="检测费", amount="50")
        services.estimate_send(estimate=foreign.estimate, by=cast.alice)
        response = client.post(
            reverse("service:customer-order-decide", args=[order_link_token(order), foreign.pk]),
            {"decision": "approved"},
        )
        assert response.status_code == 404
        assert EstimateLine.objects.get(pk=foreign.pk).decision == "pending"

    @pytest.mark.parametrize("mangle", ["tamper", "other_purpose", "revoked", "expired"])
    def test_bad_links_are_refused(self, client, world, cast, clock, mangle):
        order, _lines = _order_with_estimate(world, cast)
        token = order_link_token(order)
        if mangle == "tamper":
            token = token[:-3] + "abc"
        elif mangle == "other_purpose":
            token = appointment_link_token(order.appointment)
        elif mangle == "revoked":
            RepairOrder.objects.filter(pk=order.pk).update(link_nonce="rotated")
        else:
            clock.shift(dt.timedelta(days=31))
        response = client.get(reverse("service:customer-order", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403 and 'id="link-error"' in response.content.decode()

    def test_the_page_needs_a_fixed_number_of_queries(self, client, world, cast):
        from django.core.cache import cache

        order, lines = _order_with_estimate(world, cast)
        url = reverse("service:customer-order", args=[order_link_token(order)])
        cache.clear()
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for index in range(15):
            line = services.estimate_line_add(
                order=order, by=cast.alice, kind="fee", description=f"费用{index}", amount="10"
            )
            services.attachment_add(
                order=order, by=cast.alice, purpose="evidence", line=line, upload=_upload(f"{index}.png", PNG)
            )
        services.estimate_send(estimate=order.estimates.get(number=2), by=cast.alice)
        cache.clear()
        with CaptureQueriesContext(connection) as many:
            html = client.get(url).content.decode()
        assert "费用14" in html
        # the page's own (fingerprint, order, events, estimates, lines, attachments, the pick-up) and 2 for the
        # estimated ready time (selectors_customer.order_ready_estimate)
        assert len(many) == len(few) <= 9, "\n".join(q["sql"] for q in many.captured_queries)
        with CaptureQueriesContext(connection) as warm:
            again = client.get(url).content.decode()
        assert again.split("<main", 1)[1] == html.split("<main", 1)[1]
        assert len(warm) == 1  # unchanged order: the order's own query, the rendering comes from the cache

    def test_a_decision_shows_at_once_although_the_page_is_cached(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        url = reverse("service:customer-order", args=[order_link_token(order)])
        assert 'data-decision="pending"' in client.get(url).content.decode()
        services.estimate_line_decide(line=lines["wipers"], decision="declined", channel="phone", by=cast.alice)
        html = client.get(url).content.decode()
        assert f'data-line="{lines["wipers"].pk}" data-decision="declined"' in html
        services.repair_order_transition(order=order, to="cancelled", by=cast.alice, reason="客户改期")
        assert 'data-status="cancelled"' in client.get(url).content.decode()

    def test_evidence_is_served_only_through_its_own_orders_link(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        attachment = order.attachments.get()
        url = reverse("service:customer-order-file", args=[order_link_token(order), attachment.pk])
        response = client.get(url)
        assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
        other = services.walk_in_register(
            store=world["store"],
            by=cast.alice,
            service_type="repair",
            plate="沪B11111",
            phone="13600001111",
            name="别人",
            vin=_vin(),
            brand="大众",
            model_name="朗逸",
        )
        foreign = reverse("service:customer-order-file", args=[order_link_token(other), attachment.pk])
        assert client.get(foreign).status_code == 404


def _vin():
    from aftersales.config.testing import unique_vin

    return unique_vin()


class DeliveryOnThePageTests:
    def _deliver(self, world, cast, order, lines):
        for line, decision in (
            (lines["labour"], "approved"),
            (lines["oem"], "approved"),
            (lines["wipers"], "declined"),
        ):
            services.estimate_line_decide(line=line, decision=decision, channel="link", by=Party.CUSTOMER)
        order.refresh_from_db()
        services.repair_order_transition(order=order, to="waiting", by=cast.alice)
        services.repair_order_assign(
            order=order, by=cast.mia, technician=world["technician"], bay=Bay.objects.get(code="A1")
        )
        for state in ("in_bay", "in_progress", "qc"):
            services.repair_order_transition(order=order, to=state, by=world["technician"])
        services.quality_check_record(
            order=order,
            by=cast.mia,
            passed=True,
            checklist={key: True for key, _label in QC_CHECKLIST},
            skip_washing=True,
        )
        services.part_trace_record(  # whoever dispatches records the batch (here the manager, as above)
            line=lines["oem"],
            by=cast.mia,
            batch_number="B2026-11-001",
            origin="德国",
            production_date=dt.date(2026, 9, 1),
            warranty_months=24,
        )
        services.repair_order_deliver(
            order=order,
            by=cast.alice,
            explanation="已更换刹车片",
            next_service_date=dt.date(2027, 5, 23),
            next_service_km=22000,
        )
        order.refresh_from_db()
        return order

    def test_bill_parts_and_rating_after_delivery(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        order = self._deliver(world, cast, order, lines)
        token = order_link_token(order)
        html = client.get(reverse("service:customer-order", args=[token]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert order.billed_total == 980  # 300 labour + 680 OEM pads; the wipers were declined
        assert 'id="bill-total">¥980.00' in html
        assert "B2026-11-001" in html and "德国" in html
        assert client.post(reverse("service:customer-order-rate", args=[token]), {"rating": "9"}).status_code == 302
        order.refresh_from_db()
        assert order.rating == 9
        again = client.post(reverse("service:customer-order-rate", args=[token]), {"rating": "2"})
        assert "error=" in again["Location"]
        order.refresh_from_db()
        assert order.rating == 9

    def test_a_bad_rating_is_refused(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        order = self._deliver(world, cast, order, lines)
        response = client.post(reverse("service:customer-order-rate", args=[order_link_token(order)]), {"rating": "11"})
        assert "error=" in response["Location"]
        order.refresh_from_db()
        assert order.rating is None

    def test_the_pdf_bill_renders_chinese(self, client, world, cast):
        order, lines = _order_with_estimate(world, cast)
        order = self._deliver(world, cast, order, lines)
        response = client.get(reverse("service:customer-order-bill", args=[order_link_token(order)]))
        assert response.status_code == 200
        if response["Content-Type"] == "application/pdf":
            assert response.content.startswith(b"%PDF")
            from pypdf import PdfReader  # noqa: PLC0415 - only where a PDF was produced

            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
            assert "更换刹车片" in text and "980.00" in text and "雨刮片" not in text
        else:
            pytest.fail("WeasyPrint could not render a PDF on this machine (missing pango?)")
