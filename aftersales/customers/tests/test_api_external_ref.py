"""POST /api/v1/customers as an integrator uses it: an external reference (unique per source in the dealer group,
a second customer with it is 409 naming the first), the list filtered by it, and the customer's vehicles
registered in the same call, all or nothing."""

import json

import pytest

from aftersales.config.testing import make_customer, make_user, make_vehicle, unique_mobile, unique_vin
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent, Customer, CustomerStoreLink, Vehicle
from aftersales.organisation.choices import Role

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"


def post(client, body, headers):
    return client.post(CUSTOMERS, data=json.dumps(body), content_type="application/json", **headers)


def body_of(**overrides):
    return {"store": "SH01", "name": "赵六", "phone": unique_mobile(), **overrides}


def vehicle(**overrides):
    return {"vin": unique_vin(), "brand": "比亚迪", "model_name": "汉EV", **overrides}


def bad_vin():
    vin = unique_vin()
    return vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]


def rows():
    return {m.__name__: m.objects.count() for m in (Customer, CustomerStoreLink, Vehicle, Consent, AuditEntry)}


def assert_fields(response, *fields):
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_error", body
    assert set(fields) <= set(body["errors"]), body["errors"]
    return body["errors"]


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def as_alice(cast, api_token):
    return api_token(cast.alice)


class ExternalRefTests:
    def test_it_is_kept_and_answered(self, client, cast, as_alice):
        response = post(client, body_of(external_source=" CallCenter ", external_ref=" T-1001 "), as_alice)
        assert response.status_code == 201, response.content
        data = response.json()
        assert (data["external_source"], data["external_ref"]) == ("callcenter", "T-1001")
        assert client.get(f"{CUSTOMERS}/{data['id']}", **as_alice).json()["external_ref"] == "T-1001"

    def test_without_one_both_are_empty(self, client, cast, as_alice):
        data = post(client, body_of(), as_alice).json()
        assert (data["external_source"], data["external_ref"]) == ("", "")

    def test_a_second_customer_with_the_pair_is_409_naming_the_first(self, client, cast, as_alice):
        first = post(client, body_of(external_source="callcenter", external_ref="T-1"), as_alice).json()
        before = rows()
        response = post(client, body_of(external_source="callcenter", external_ref="T-1"), as_alice)
        assert response.status_code == 409, response.content
        body = response.json()
        assert body["code"] == "duplicate_external_ref"
        assert body["existing_id"] == first["id"]
        assert rows() == before

    def test_unique_in_the_whole_dealer_group(self, client, cast, api_token):
        first = post(client, body_of(external_source="callcenter", external_ref="T-2"), api_token(cast.alice)).json()
        response = post(
            client, body_of(store="HZ01", external_source="callcenter", external_ref="T-2"), api_token(cast.carol)
        )
        assert response.status_code == 409 and response.json()["existing_id"] == first["id"]

    def test_another_group_or_another_source_may_use_the_same_ref(self, client, cast, api_token):
        first = post(client, body_of(external_source="callcenter", external_ref="T-3"), api_token(cast.alice))
        assert first.status_code == 201
        beijing_advisor = make_user("oscar", Role.ADVISOR, store=cast.store_c)
        other_group = post(
            client, body_of(store="BJ01", external_source="callcenter", external_ref="T-3"), api_token(beijing_advisor)
        )
        assert other_group.status_code == 201, other_group.content
        other_source = post(client, body_of(external_source="dianping", external_ref="T-3"), api_token(cast.alice))
        assert other_source.status_code == 201, other_source.content

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"external_ref": "T-9"}, "external_source"),
            ({"external_source": "callcenter"}, "external_ref"),
            ({"external_source": "call center", "external_ref": "T-9"}, "external_source"),
            ({"external_source": "x" * 41, "external_ref": "T-9"}, "external_source"),
            ({"external_source": "callcenter", "external_ref": "x" * 101}, "external_ref"),
            ({"external_source": "callcenter", "external_ref": "T\u00079"}, "external_ref"),
        ],
    )
    def test_a_bad_pair_is_422_naming_the_field(self, client, cast, as_alice, extra, field):
        before = rows()
        assert_fields(post(client, body_of(**extra), as_alice), field)
        assert rows() == before

    def test_the_list_filters_by_source_and_reference(self, client, cast, as_alice):
        wanted = post(client, body_of(external_source="callcenter", external_ref="T-5"), as_alice).json()
        post(client, body_of(external_source="callcenter", external_ref="T-6"), as_alice)
        post(client, body_of(external_source="dianping", external_ref="T-5"), as_alice)
        post(client, body_of(), as_alice)

        def ids(query):
            response = client.get(f"{CUSTOMERS}?{query}", **as_alice)
            assert response.status_code == 200, response.content
            return {item["id"] for item in response.json()["items"]}

        assert ids("external_source=callcenter&external_ref=T-5") == {wanted["id"]}
        assert len(ids("external_ref=T-5")) == 2
        assert len(ids("external_source=CallCenter")) == 2
        assert ids("external_source=callcenter&external_ref=nope") == set()

    def test_another_stores_customer_is_not_listed_by_its_ref(self, client, cast, api_token):
        post(client, body_of(store="HZ01", external_source="callcenter", external_ref="T-7"), api_token(cast.carol))
        response = client.get(f"{CUSTOMERS}?external_ref=T-7", **api_token(cast.alice))
        assert response.json()["items"] == []


class VehiclesInOneCallTests:
    def test_the_customer_and_the_vehicles_are_written_together(self, client, cast, as_alice):
        cars = [vehicle(plate="沪A12345"), vehicle(powertrain="bev", mileage_km=1200)]
        response = post(client, body_of(vehicles=cars), as_alice)
        assert response.status_code == 201, response.content
        data = response.json()
        assert sorted(v["vin"] for v in data["vehicles"]) == sorted(c["vin"] for c in cars)
        assert all(v["store"] == "SH01" and v["customer"] == data["id"] for v in data["vehicles"])
        assert Vehicle.objects.filter(customer_id=data["id"]).count() == 2
        assert AuditEntry.objects.filter(action="vehicle.create").count() == 2

    def test_a_bad_vin_in_the_second_vehicle_writes_nothing(self, client, cast, as_alice):
        before = rows()
        response = post(client, body_of(vehicles=[vehicle(), vehicle(vin=bad_vin())]), as_alice)
        errors = assert_fields(response, "vehicles.1.vin")
        assert list(errors) == ["vehicles.1.vin"]
        assert rows() == before

    def test_every_bad_field_is_named_at_once(self, client, cast, as_alice):
        cars = [vehicle(mileage_km=-5), vehicle(vin=bad_vin(), brand=" ")]
        errors = assert_fields(post(client, body_of(phone="123", vehicles=cars), as_alice), "phone")
        assert {"phone", "vehicles.0.mileage_km", "vehicles.1.vin", "vehicles.1.brand"} <= set(errors)

    def test_a_missing_field_of_a_vehicle_is_named_with_its_index(self, client, cast, as_alice):
        car = vehicle()
        del car["brand"]
        before = rows()
        assert_fields(post(client, body_of(vehicles=[vehicle(), car]), as_alice), "vehicles.1.brand")
        assert rows() == before

    def test_a_vin_registered_in_the_group_or_twice_in_the_call_is_refused(self, client, cast, as_alice):
        registered = make_vehicle(make_customer(cast.store_b, by=cast.carol), by=cast.carol)
        before = rows()
        errors = assert_fields(
            post(client, body_of(vehicles=[vehicle(vin=registered.vin)]), as_alice), "vehicles.0.vin"
        )
        assert "already registered" in errors["vehicles.0.vin"][0]
        twice = vehicle()
        assert_fields(post(client, body_of(vehicles=[twice, vehicle(vin=twice["vin"])]), as_alice), "vehicles.1.vin")
        assert_fields(
            post(client, body_of(vehicles=[vehicle(plate="沪B54321"), vehicle(plate="沪B54321")]), as_alice),
            "vehicles.1.plate",
        )
        assert rows() == before

    def test_a_duplicate_external_ref_writes_no_vehicle(self, client, cast, as_alice):
        post(client, body_of(external_source="callcenter", external_ref="T-8"), as_alice)
        before = rows()
        response = post(
            client, body_of(external_source="callcenter", external_ref="T-8", vehicles=[vehicle()]), as_alice
        )
        assert response.status_code == 409 and response.json()["code"] == "duplicate_external_ref"
        assert rows() == before

    def test_too_many_vehicles_at_once(self, client, cast, as_alice):
        errors = assert_fields(post(client, body_of(vehicles=[vehicle() for _ in range(21)]), as_alice), "vehicles")
        assert errors["vehicles"] == ["At most 20 vehicles at once."]

    def test_an_empty_list_is_a_customer_without_vehicles(self, client, cast, as_alice):
        response = post(client, body_of(vehicles=[]), as_alice)
        assert response.status_code == 201 and response.json()["vehicles"] == []

    def test_a_technician_may_not(self, client, cast, api_token):
        response = post(client, body_of(vehicles=[vehicle()]), api_token(cast.tom))
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert not Customer.objects.exists() and not Vehicle.objects.exists()

    def test_an_idempotent_retry_answers_the_same_customer_and_vehicles(self, client, cast, as_alice):
        body = body_of(external_source="callcenter", external_ref="T-10", vehicles=[vehicle()])
        first = post(client, body, {**as_alice, "HTTP_IDEMPOTENCY_KEY": "crm-T-10"})
        again = post(client, body, {**as_alice, "HTTP_IDEMPOTENCY_KEY": "crm-T-10"})
        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
        # Without the key, the reference still catches the retry.
        third = post(client, body, as_alice)
        assert third.status_code == 409 and third.json()["existing_id"] == first.json()["id"]
        assert Customer.objects.count() == 1 and Vehicle.objects.count() == 1
