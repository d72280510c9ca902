"""Every page that takes an id, asked by a user of another store, answers 404 — GET and POST alike —
and writes nothing.  New pages with an id must be added to OBJECTS, or this test fails."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core import clock
from aftersales.core.models import AuditEntry
from aftersales.customers.models import ConsentEvent, Customer, Vehicle
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Bay, OpeningHours
from aftersales.parts import services as parts_services
from aftersales.service import services
from aftersales.service.models import Appointment, Attachment, DeferredWork, EstimateLine, PickupEvent, RepairOrder
from tests import (
    isolation_audits,
    isolation_campaigns,
    isolation_capa,
    isolation_complaints,
    isolation_ehr,
    isolation_followups,
    isolation_notifications,
    isolation_privacy_export,
    isolation_privacy_requests,
    isolation_reminders,
    isolation_rescue,
    isolation_sops,
    isolation_staff,
    isolation_webhooks,
)

FEEDBACK_PARTS = (
    isolation_followups,
    isolation_complaints,
    isolation_capa,
    isolation_notifications,
    isolation_reminders,
    isolation_campaigns,
    isolation_ehr,
    isolation_rescue,
    isolation_staff,
    isolation_webhooks,
    isolation_audits,
    isolation_sops,
    isolation_privacy_requests,
    isolation_privacy_export,
)

pytestmark = pytest.mark.django_db


def _named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in ("admin", "api"):
                continue  # Django admin is for administrators only; the API has its own sweep
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


# URL name → (builder of the path arguments from store B's objects)
OBJECTS = {
    "customers:customer-detail": lambda o: [o["customer"].pk],
    "customers:customer-edit": lambda o: [o["customer"].pk],
    "customers:customer-reveal": lambda o: [o["customer"].pk, "phone"],
    "customers:consent-update": lambda o: [o["customer"].pk],
    "customers:vehicle-create": lambda o: [o["customer"].pk],
    "customers:vehicle-edit": lambda o: [o["vehicle"].pk],
    "customers:customer-serve-here": lambda o: [o["customer"].pk],  # without the exact mobile/plate/VIN: 404
    # The 360° profile and the vehicle file (crm, read-only)
    "crm:customer-profile": lambda o: [o["customer"].pk],
    "crm:vehicle-profile": lambda o: [o["vehicle"].pk],
    # Staff pages of the service process
    "service:appointment-reschedule": lambda o: [o["appointment"].pk],
    "service:appointment-cancel": lambda o: [o["appointment"].pk],
    "service:appointment-driver": lambda o: [o["appointment"].pk],
    "service:appointment-check-in": lambda o: [o["appointment"].pk],
    "service:pickup-move": lambda o: [o["appointment"].pk, "collect"],
    "service:pickup-photo": lambda o: [o["pickup_event"].pk],
    "service:order-detail": lambda o: [o["order"].pk],
    "organisation:audit-record": lambda o: ["service.repairorder", o["order"].pk],
    "organisation:audit-record-export": lambda o: ["service.repairorder", o["order"].pk, "csv"],
    "service:order-inspection": lambda o: [o["order"].pk],
    "service:order-attachment-add": lambda o: [o["order"].pk],
    "service:estimate-line-add": lambda o: [o["order"].pk],
    "service:order-assign": lambda o: [o["order"].pk],
    "service:order-transition": lambda o: [o["order"].pk],
    "service:order-quality-check": lambda o: [o["order"].pk],
    "service:order-deliver": lambda o: [o["order"].pk],
    "service:order-bill": lambda o: [o["order"].pk],
    "service:deferred-add-to-order": lambda o: [o["order"].pk, o["deferred"].pk],
    "service:estimate-line-remove": lambda o: [o["draft_line"].pk],
    "service:estimate-line-decide": lambda o: [o["sent_line"].pk],
    "service:estimate-choice-decide": lambda o: [o["order"].pk],
    "service:part-trace": lambda o: [o["draft_line"].pk],
    "service:estimate-send": lambda o: [o["draft_line"].estimate_id],
    "service:file": lambda o: [o["attachment"].pk],
    "service:deferred-dismiss": lambda o: [o["deferred"].pk],
    "service:customer-history": lambda o: [o["customer"].pk],
    # The facts the KPIs read (issue 12)
    "service:order-facts": lambda o: [o["order"].pk],
    "service:order-receive": lambda o: [o["order"].pk],
    "service:order-comeback": lambda o: [o["order"].pk, "confirm"],
    "service:line-clock": lambda o: [o["sent_line"].pk, "start"],
    # The parts ledger (issue 14 part 1): a store's batch and stock, a line's parts, a vehicle's parts ledger
    "parts:stocktake": lambda o: [o["batch"].pk],
    "parts:stock-settings": lambda o: [o["part"].pk, o["batch"].store_id],
    "service:parts-line-issue": lambda o: [o["sent_line"].pk],
    "service:parts-line-return": lambda o: [o["sent_line"].pk],
    "service:parts-line-removed": lambda o: [o["sent_line"].pk],
    "service:vehicle-parts": lambda o: [o["vehicle"].pk],
    # A vehicle's connected-car page (issue 14 part 4)
    "telematics:vehicle": lambda o: [o["vehicle"].pk],
}
# The analytics pages (issue 12) take a person, a scorecard, a CAPA or a report of a store, and answer 403 to a
# role without VIEW_KPIS before any look-up; their store isolation is proven in aftersales/analytics/tests
# (test_dashboards, test_dashboard_input, test_scorecards*, test_capa_verification_access, test_reports_access;
# the service-quality model's pages in test_quality_pages).
ANALYTICS_PAGES = {
    "analytics:capa-verify",
    "analytics:drilldown",
    "analytics:quality-matrix",
    "analytics:quality-matrix-check",
    "analytics:quality-node-add",
    "analytics:quality-node-remove",
    "analytics:report-download",
    "analytics:scorecard-detail",
    "analytics:scorecard-review",
    "analytics:staff-numbers",
    "analytics:trend",
}
# A catalogue part is the dealer group's, not a store's: every store of the group reads it (its stock of the store
# only); another group's part is 404 (aftersales/parts/tests/test_pages.py).
CATALOGUE_PAGES = {"parts:part", "parts:part-edit"}
# The quality department's pages of its own dealer group take a quarter or a group checklist, not a store's record:
# a role without MANAGE_AUDITS is refused (403) before any look-up, another group's checklist is 404
# (aftersales/audits/tests/test_pages.py).
AUDIT_GROUP_PAGES = {"audits:plan", "audits:checklist-edit"}
# China's official calendar is one for the whole installation (a year, not a store's record): only MANAGE_CALENDAR
# may change it (aftersales/organisation/tests/test_calendar_page.py).
CALENDAR_PAGES = {"organisation:calendar-year"}
# The customer's own pages take a store code or a signed token, not an id: a link to another order is refused
# by its signature (aftersales/service/tests/test_links.py), and booking is public per store by design.
PUBLIC_LINK_PAGES = {
    "service:customer-book",
    "service:customer-book-slots",
    "service:customer-book-advisors",
    "service:customer-appointment",
    "service:customer-order",
    "service:customer-order-decide",
    "service:customer-order-choose",
    "service:customer-order-rate",
    "service:customer-order-file",
    "service:customer-order-bill",
}
for _part in FEEDBACK_PARTS:
    OBJECTS.update(_part.OBJECTS)
    PUBLIC_LINK_PAGES |= _part.PUBLIC_LINK_PAGES
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def build_store_b(cast):
    """Store B's service objects, built through the services: a booking with pick-up, an order with a declined
    (deferred) line, a draft line and a photo."""
    store = cast.store_b
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=d, opens=dt.time(8, 30), closes=dt.time(20, 0)) for d in range(7)]
    )
    Bay.objects.create(store=store, code="H01", name="杭州1", capabilities=["general"])
    customer = make_customer(store, name="杭州客户", phone="13912340000")
    vehicle = make_vehicle(customer, plate="浙A12345", mileage_km=5000)
    tomorrow = clock.today() + dt.timedelta(days=1)
    at = dt.datetime.combine(tomorrow, dt.time(10, 30), tzinfo=timezone.get_current_timezone())
    appointment = services.appointment_book(
        store=store,
        start=at,
        service_type="maintenance",
        channel="phone",
        customer=customer,
        vehicle=vehicle,
        by=cast.carol,
        pickup_address="杭州市西湖区1号",
        pickup_from=at - dt.timedelta(hours=2),
        pickup_to=at - dt.timedelta(hours=1),
    )
    # the car collected (by the advisor, for the driver) with a photo
    services.pickup_record(
        appointment=appointment, move="collect", by=cast.carol, photo=SimpleUploadedFile("p.png", PNG)
    )
    order = services.walk_in_register(store=store, by=cast.carol, service_type="repair", plate=vehicle.plate)
    sent = services.estimate_line_add(order=order, by=cast.carol, kind="fee", description="检测费", amount=50)
    services.estimate_send(estimate=sent.estimate, by=cast.carol)
    services.estimate_line_decide(line=sent, decision="declined", channel="desk", by=cast.carol)
    draft = services.estimate_line_add(
        order=order, by=cast.carol, kind="part", description="机油", grade="oem", unit_price="300"
    )
    attachment = services.attachment_add(
        order=order, by=cast.carol, upload=SimpleUploadedFile("x.png", PNG), purpose="inspection"
    )
    # a batch of a catalogue part received into store B by its parts clerk
    clerk = make_user("hz-parts", Role.PARTS_CLERK, store=store)
    part = parts_services.part_save(group=store.group, by=clerk, code="HZ-OIL", name="机油", category="oem")
    batch = parts_services.goods_receive(
        store=store,
        by=clerk,
        part=part,
        supplier="杭州汽配",
        received_on=clock.today(),
        unit_cost="50",
        quantity=4,
        batch_number="HZ-B1",
        source_voucher="HZ-V1",
        certificate_checked=True,
    )
    objects = {
        "part": part,
        "batch": batch,
        "customer": customer,
        "vehicle": vehicle,
        "appointment": appointment,
        "pickup_event": PickupEvent.objects.get(appointment=appointment),
        "order": order,
        "sent_line": sent,
        "draft_line": draft,
        "attachment": attachment,
        "deferred": DeferredWork.objects.get(store=store),
    }
    for part in FEEDBACK_PARTS:
        objects.update(part.build(cast, dict(objects)))
    return objects


@pytest.fixture
def store_b_objects(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_store_b(cast)


def _snapshot():
    return (
        Customer.objects.count(),
        Vehicle.objects.count(),
        ConsentEvent.objects.count(),
        AuditEntry.objects.count(),
        RepairOrder.objects.count(),
        EstimateLine.objects.count(),
        Attachment.objects.count(),
        list(RepairOrder.objects.values_list("status", "technician_id", "mileage_in", "rating")),
        list(Appointment.objects.values_list("status", "driver_id", "slot_id", "pickup_status")),
        PickupEvent.objects.count(),
        list(DeferredWork.objects.values_list("status", flat=True)),
        list(EstimateLine.objects.values_list("decision", "batch_number")),
        *(part.snapshot() for part in FEEDBACK_PARTS),
    )


class WebIsolationTests:
    def test_every_page_with_an_id_is_covered(self):
        with_args = {name for name, pattern in _named_patterns() if pattern.pattern.converters}
        uncovered = (
            with_args - PUBLIC_LINK_PAGES - ANALYTICS_PAGES - CATALOGUE_PAGES - AUDIT_GROUP_PAGES - CALENDAR_PAGES
        )
        assert uncovered == set(OBJECTS), "add new pages with ids to OBJECTS"

    @pytest.mark.parametrize("name", sorted(OBJECTS))
    def test_another_stores_object_is_not_found(self, client, cast, store_b_objects, name):
        client.force_login(cast.alice)
        url = reverse(name, args=OBJECTS[name](store_b_objects))
        before = _snapshot()
        payload = {
            "name": "篡改",
            "phone": "13800000000",
            "purpose": "marketing",
            "granted": "yes",
            "channel": "desk",
            "vin": "LSVAB12C0T0000001",
            "brand": "x",
            "model_name": "y",
            "powertrain": "petrol",
            # service actions
            "to": "cancelled",
            "reason": "篡改",
            "driver": cast.alice.pk,
            "decision": "approved",
            "mileage_in": 99999,
            "fuel_level": 50,
            "kind_prefix": "fee",
            "fee-kind": "fee",
            "fee-description": "篡改",
            "fee-amount": "1",
            "technician": cast.tom.pk,
            "passed": "0",
            "notes": "篡改",
            "explanation": "篡改",
            "batch_number": "X",
            "file": SimpleUploadedFile("x.png", PNG),
        }
        for part in FEEDBACK_PARTS:
            payload.update(part.POST_FIELDS)
        assert client.get(url).status_code in (404, 405)  # 405: a POST-only action, refused before any lookup
        assert client.post(url, payload).status_code == 404
        assert _snapshot() == before
        store_b_objects["customer"].refresh_from_db()
        assert store_b_objects["customer"].name == "杭州客户"

    @pytest.mark.parametrize("name", sorted(OBJECTS))
    def test_a_group_manager_of_another_group_is_refused_too(self, client, cast, store_b_objects, name):
        client.force_login(cast.otto)
        assert client.post(reverse(name, args=OBJECTS[name](store_b_objects))).status_code == 404

    def test_pages_without_ids_never_fail_and_never_show_another_store(self, client, cast, store_b_objects):
        client.force_login(cast.alice)
        for name, pattern in _named_patterns():
            if pattern.pattern.converters or name in ("logout", "set_language", "store-switch"):
                continue
            try:
                url = reverse(name)
            except Exception:  # noqa: S112 - patterns that need arguments Django cannot fill
                continue
            response = client.get(url)
            assert response.status_code in (200, 302, 403, 405), (name, response.status_code)
            if response.status_code == 200:
                assert "杭州客户" not in response.content.decode(), name
