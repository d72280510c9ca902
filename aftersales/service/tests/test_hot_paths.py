"""The hot paths of issue #10 (docs/performance.md): what they cost in queries, and the reads that keep them cheap
at a national network's size — the customer's page fingerprint, the booking call, the outbox de-duplication."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.core.scoping import forget_visible_stores, visible_store_ids
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import _queued_under
from aftersales.organisation.access import can
from aftersales.organisation.permissions import Capability
from aftersales.service import selectors, services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import Appointment, RepairOrder
from aftersales.service.tests.conftest import approved_labour, inspect, open_order, walk
from aftersales.service.tests.test_api import (  # noqa: F401 - fixtures
    API,
    a_car,
    booking_body,
    clock_at_monday,
    headers,
    send,
    workshop,
)

pytestmark = pytest.mark.django_db

# Token and user, the stores and roles (one read of the memberships), the store, the vehicle with its owner; then
# in the booking's block: settings, slot, claim, appointment, audit, the outbox's de-duplication and insert (its
# savepoint and release).  Two of them are the test's own transaction: the booking's block is a savepoint here.
# One more since customers are group-wide: the booking service checks that the store deals with the customer.
BOOKING_QUERIES = 16


class BookingCallTests:
    def test_a_booking_takes_a_fixed_number_of_queries(self, client, workshop, headers):  # noqa: F811
        first, second = a_car(workshop.store_a), a_car(workshop.store_a)
        warm = send(client, "post", f"{API}/appointments", headers("alice"), booking_body(*first))
        assert warm.status_code == 201, warm.content  # the token's first use also records when it was used
        with CaptureQueriesContext(connection) as queries:
            response = send(client, "post", f"{API}/appointments", headers("alice"), booking_body(*second))
        assert response.status_code == 201, response.content
        appointment = Appointment.objects.get(pk=response.json()["id"])
        assert (appointment.customer, appointment.vehicle) == second
        assert OutboxMessage.objects.filter(template="booking_confirmed", customer=second[0]).count() == 1
        assert len(queries) <= BOOKING_QUERIES, "\n".join(q["sql"][:200] for q in queries.captured_queries)

    def test_a_customer_not_owning_the_vehicle_is_refused_on_vehicle(self, client, workshop, headers):  # noqa: F811
        owner, vehicle = a_car(workshop.store_a)
        other, _car = a_car(workshop.store_a)
        response = send(client, "post", f"{API}/appointments", headers("alice"), booking_body(other, vehicle))
        assert response.status_code == 422, response.content
        assert list(response.json()["errors"]) == ["vehicle"]
        assert not Appointment.objects.exists()


class StoresAndRolesTests:
    def test_the_visible_stores_and_the_roles_share_one_read(self, cast, django_assert_num_queries):
        with django_assert_num_queries(1):
            assert visible_store_ids(cast.alice) == {cast.store_a.pk}
            assert can(cast.alice, Capability.BOOK, store_id=cast.store_a.pk)
            assert not can(cast.alice, Capability.BOOK, store_id=cast.store_b.pk)

    def test_forgetting_the_stores_forgets_the_roles_too(self, cast):
        from aftersales.organisation.choices import Role
        from aftersales.organisation.models import Membership

        assert not can(cast.alice, Capability.BOOK, store_id=cast.store_b.pk)
        Membership.objects.create(user=cast.alice, group=cast.group, store=cast.store_b, role=Role.ADVISOR)
        forget_visible_stores(cast.alice)
        assert visible_store_ids(cast.alice) == {cast.store_a.pk, cast.store_b.pk}
        assert can(cast.alice, Capability.BOOK, store_id=cast.store_b.pk)


class FingerprintTests:
    """The customer's page is cached under this fingerprint: whatever the page shows must change it."""

    def _print(self, order: RepairOrder) -> str | None:
        order.refresh_from_db()
        return selectors.order_page_fingerprint(order_id=order.pk, nonce=order.link_nonce)

    def test_each_kind_of_change_changes_it_and_nothing_else_does(self, shop):
        order = inspect(shop, open_order(shop))
        seen = [self._print(order)]
        assert self._print(order) == seen[0]  # the same order reads the same
        line = approved_labour(shop, order)  # a line (added, then decided)
        seen.append(self._print(order))
        walk(shop, order, S.WAITING)  # an event and a state
        seen.append(self._print(order))
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("pads.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")
        services.attachment_add(order=order, by=shop.advisor, purpose="evidence", line=line, upload=upload)
        seen.append(self._print(order))  # a photo
        assert len(set(seen)) == len(seen), seen

    def test_it_is_none_for_a_wrong_link_key(self, shop):
        order = open_order(shop)
        assert selectors.order_page_fingerprint(order_id=order.pk, nonce="not-the-key") is None
        assert selectors.order_page_fingerprint(order_id=order.pk + 1000, nonce=order.link_nonce) is None

    def test_it_is_one_query(self, shop, django_assert_num_queries):
        order = open_order(shop)
        with django_assert_num_queries(1):
            assert selectors.order_page_fingerprint(order_id=order.pk, nonce=order.link_nonce)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's rule for partial indexes")
def test_the_outbox_deduplication_reads_its_index_not_the_outbox():
    with CaptureQueriesContext(connection) as queries:
        assert _queued_under("booking_confirmed:1:1:booked") is None
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + queries.captured_queries[0]["sql"])
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "USING INDEX outbox_dedupe_key_unique" in plan, plan
