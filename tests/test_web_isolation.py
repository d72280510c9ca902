"""Every page that takes an id, asked by a user of another store, answers 404 — GET and POST alike —
and writes nothing.  New pages with an id must be added to OBJECTS, or this test fails."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from aftersales.core.models import AuditEntry
from aftersales.core.testing import make_customer, make_vehicle
from aftersales.customers.models import ConsentEvent, Customer, Vehicle

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
}


@pytest.fixture
def store_b_objects(cast):
    customer = make_customer(cast.store_b, name="杭州客户", phone="13912340000")
    return {"customer": customer, "vehicle": make_vehicle(customer)}


class WebIsolationTests:
    def test_every_page_with_an_id_is_covered(self):
        with_args = {name for name, pattern in _named_patterns() if pattern.pattern.converters}
        assert with_args == set(OBJECTS), "add new pages with ids to OBJECTS"

    @pytest.mark.parametrize("name", sorted(OBJECTS))
    def test_another_stores_object_is_not_found(self, client, cast, store_b_objects, name):
        client.force_login(cast.alice)
        url = reverse(name, args=OBJECTS[name](store_b_objects))
        before = (
            Customer.objects.count(),
            Vehicle.objects.count(),
            ConsentEvent.objects.count(),
            AuditEntry.objects.count(),
        )
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
        }
        assert client.get(url).status_code in (404, 405)  # 405: a POST-only action, refused before any lookup
        assert client.post(url, payload).status_code == 404
        after = (
            Customer.objects.count(),
            Vehicle.objects.count(),
            ConsentEvent.objects.count(),
            AuditEntry.objects.count(),
        )
        assert after == before
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
