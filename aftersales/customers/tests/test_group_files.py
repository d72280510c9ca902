"""One file per customer and vehicle in the dealer group: a store's lists show its own customers, an exact
mobile, plate or VIN finds the group's customer of a sister store, and serving them links the file (audited)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.core.models import AuditEntry
from aftersales.customers.models import CustomerStoreLink
from aftersales.service.models import RepairOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def sister_customer(cast):
    customer = make_customer(cast.store_b, name="杭州王先生", phone="13955556666")
    return customer, make_vehicle(customer, plate="浙A66666", vin="LSVAB2BM1LN000099")


def _list(client, user, query):  # noqa: ANN001, ANN202
    client.force_login(user)
    return client.get(reverse("customers:customer-list"), {"q": query}).content.decode()


class FoundInTheGroupTests:
    @pytest.mark.parametrize("query", ["13955556666", "浙A66666", "LSVAB2BM1LN000099"])
    def test_an_exact_identifier_finds_the_sister_stores_customer_masked(self, client, cast, sister_customer, query):
        html = _list(client, cast.alice, query)
        card = html[html.index('id="found-in-group"') :]
        card = card[: card.index("card-footer")]
        assert "杭州王先生" in card and "139****6666" in card  # masked: only what was typed is shown in clear
        assert "13955556666" not in card.replace('name="q" value="13955556666"', "")

    @pytest.mark.parametrize("query", ["杭州王", "6666", "浙A666"])
    def test_a_name_or_a_fragment_never_reaches_across_stores(self, client, cast, sister_customer, query):
        html = _list(client, cast.alice, query)
        assert "杭州王先生" not in html

    def test_another_groups_customer_is_never_found(self, client, cast):
        make_customer(cast.store_c, name="北京客户", phone="13977778888")
        assert "北京客户" not in _list(client, cast.alice, "13977778888")

    def test_serving_links_the_file_to_the_store_and_audits_it(self, client, cast, sister_customer):
        customer, _car = sister_customer
        client.force_login(cast.alice)
        url = reverse("customers:customer-serve-here", args=[customer.pk])
        response = client.post(url, {"store": cast.store_a.pk, "q": "13955556666"})
        assert response.status_code == 302
        assert set(customer.store_links.values_list("store__code", flat=True)) == {"HZ01", "SH01"}
        assert AuditEntry.objects.filter(action="customer.link_store", object_id=str(customer.pk)).count() == 1
        detail = client.get(reverse("customers:customer-detail", args=[customer.pk]))
        assert detail.status_code == 200 and "杭州王先生" in detail.content.decode()
        # Now one of the store's own customers: the plain list shows it, not the "found in the group" card.
        assert 'id="found-in-group"' not in _list(client, cast.alice, "13955556666")

    def test_an_id_without_the_matching_identifier_opens_nothing(self, client, cast, sister_customer):
        customer, _car = sister_customer
        client.force_login(cast.alice)
        url = reverse("customers:customer-serve-here", args=[customer.pk])
        for query in ("", "13900000000", "杭州王先生"):
            assert client.post(url, {"store": cast.store_a.pk, "q": query}).status_code == 404
        assert not CustomerStoreLink.objects.filter(customer=customer, store=cast.store_a).exists()

    def test_a_role_that_may_not_register_customers_cannot_serve_them(self, client, cast, sister_customer):
        customer, _car = sister_customer
        client.force_login(cast.tom)
        url = reverse("customers:customer-serve-here", args=[customer.pk])
        assert client.post(url, {"store": cast.store_a.pk, "q": "13955556666"}).status_code in (403, 404)
        assert not CustomerStoreLink.objects.filter(customer=customer, store=cast.store_a).exists()


class GroupHistoryTests:
    def test_the_customers_service_section_lists_every_stores_visits_naming_the_store(
        self, client, cast, sister_customer
    ):
        customer, car = sister_customer
        CustomerStoreLink.objects.create(customer=customer, store=cast.store_a, reason="visit")
        now = timezone.now()
        for number, store in (("RO-HZ-1", cast.store_b), ("RO-SH-1", cast.store_a)):
            RepairOrder.objects.create(
                store=store, number=number, customer=customer, vehicle=car, service_type="maintenance", arrived_at=now
            )
        client.force_login(cast.alice)
        html = client.get(reverse("service:customer-history", args=[customer.pk])).content.decode()
        assert "RO-HZ-1" in html and "RO-SH-1" in html
        assert cast.store_b.name in html and cast.store_a.name in html
        # Alice works at store A: the sister store's order is named, not opened.
        assert reverse("service:order-detail", args=[RepairOrder.objects.get(number="RO-SH-1").pk]) in html
        assert reverse("service:order-detail", args=[RepairOrder.objects.get(number="RO-HZ-1").pk]) not in html
