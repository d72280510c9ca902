"""The customers and vehicles JSON API (/api/v1/): lists, filters, writes, validation, store isolation."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.config.testing import make_customer, make_vehicle, unique_mobile, unique_vin, valid_id_number
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent, ConsentEvent, Customer, Vehicle
from aftersales.customers.validators import vin_check_digit

pytestmark = pytest.mark.django_db

API = "/api/v1"


# --------------------------------------------------------------------------------------------- helpers


def send(client, method, url, headers, body=None):
    """One request; `body` is JSON-encoded unless it is already a string (to send malformed JSON)."""
    kwargs = dict(headers)
    if body is not None:
        kwargs["data"] = body if isinstance(body, str) else json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(url, **kwargs)


def row_counts():
    return {model.__name__: model.objects.count() for model in (Customer, Vehicle, Consent, ConsentEvent, AuditEntry)}


def bad_checksum_id_number():
    good = valid_id_number()
    return good[:17] + ("0" if good[17] != "0" else "1")


def bad_check_digit_vin():
    vin = unique_vin()
    wrong = "0" if vin[8] != "0" else "1"
    return vin[:8] + wrong + vin[9:]


def customer_body(**overrides):
    body = {"store": "SH01", "name": "李四", "phone": unique_mobile()}
    body.update(overrides)
    return body


def vehicle_body(owner, /, **overrides):
    body = {"customer": owner.pk, "vin": unique_vin(), "brand": "比亚迪", "model_name": "秦PLUS"}
    body.update(overrides)
    return body


def assert_field_error(response, field, status=422):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert field in body["errors"], body
    return body


@pytest.fixture
def as_alice(cast, api_token):
    return api_token(cast.alice)


@pytest.fixture
def as_tom(cast, api_token):
    return api_token(cast.tom)


@pytest.fixture
def as_grace(cast, api_token):
    return api_token(cast.grace)


@pytest.fixture
def as_carol(cast, api_token):
    return api_token(cast.carol)


# --------------------------------------------------------------------------------------------- lists


class CustomerListTests:
    def test_the_list_is_paginated_with_items_and_count(self, client, cast, as_alice):
        for _ in range(3):
            make_customer(cast.store_a)
        response = client.get(f"{API}/customers?limit=2&offset=0", **as_alice)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        assert len(body["items"]) == 2
        rest = client.get(f"{API}/customers?limit=2&offset=2", **as_alice).json()
        assert len(rest["items"]) == 1
        assert {c["id"] for c in body["items"]} | {c["id"] for c in rest["items"]} == set(
            Customer.objects.values_list("pk", flat=True)
        )

    def test_each_customer_carries_its_id_and_vehicles_with_id_plate_and_vin(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        vehicle = make_vehicle(customer, plate="沪A12345")
        body = client.get(f"{API}/customers", **as_alice).json()
        [item] = body["items"]
        assert item["id"] == customer.pk
        assert item["store"] == "SH01"
        [out] = item["vehicles"]
        assert out["id"] == vehicle.pk
        assert out["plate"] == "沪A12345"
        assert out["vin"] == vehicle.vin

    def test_the_full_mobile_never_appears_in_the_list(self, client, cast, as_alice):
        customer = make_customer(cast.store_a, phone="13912345678")
        response = client.get(f"{API}/customers", **as_alice)
        assert "13912345678" not in response.content.decode()
        assert response.json()["items"][0]["phone_masked"] == "139****5678"
        assert customer.phone == "13912345678"

    def test_an_advisor_sees_only_their_own_stores_customers(self, client, cast, as_alice):
        mine = make_customer(cast.store_a)
        make_customer(cast.store_b)
        make_customer(cast.store_c)
        body = client.get(f"{API}/customers", **as_alice).json()
        assert [c["id"] for c in body["items"]] == [mine.pk]
        assert body["count"] == 1

    def test_a_group_manager_sees_both_stores_of_the_group_but_not_the_other_group(self, client, cast, as_grace):
        a = make_customer(cast.store_a)
        b = make_customer(cast.store_b)
        make_customer(cast.store_c)
        body = client.get(f"{API}/customers", **as_grace).json()
        assert {c["id"] for c in body["items"]} == {a.pk, b.pk}

    def test_the_store_filter_narrows_to_one_visible_store(self, client, cast, as_grace):
        make_customer(cast.store_a)
        b = make_customer(cast.store_b)
        body = client.get(f"{API}/customers?store=HZ01", **as_grace).json()
        assert [c["id"] for c in body["items"]] == [b.pk]

    @pytest.mark.parametrize("code", ["HZ01", "BJ01", "NOPE"])
    def test_the_store_filter_with_a_store_the_user_may_not_see_is_422_on_store(self, client, cast, as_alice, code):
        make_customer(cast.store_b)
        response = client.get(f"{API}/customers?store={code}", **as_alice)
        assert_field_error(response, "store")

    def test_the_store_filter_with_another_groups_code_is_422_for_a_group_manager(self, client, cast, as_grace):
        assert_field_error(client.get(f"{API}/customers?store=BJ01", **as_grace), "store")

    def test_q_finds_by_name(self, client, cast, as_alice):
        hit = make_customer(cast.store_a, name="王小明")
        make_customer(cast.store_a, name="赵六")
        body = client.get(f"{API}/customers", {"q": "小明"}, **as_alice).json()
        assert [c["id"] for c in body["items"]] == [hit.pk]

    @pytest.mark.parametrize("typed", ["13987654321", "139 8765 4321", "+8613987654321"])
    def test_q_finds_by_the_full_mobile_however_it_is_typed(self, client, cast, as_alice, typed):
        hit = make_customer(cast.store_a, phone="13987654321")
        make_customer(cast.store_a)
        body = client.get(f"{API}/customers", {"q": typed}, **as_alice).json()
        assert [c["id"] for c in body["items"]] == [hit.pk]

    def test_q_finds_by_the_last_four_digits_of_the_mobile(self, client, cast, as_alice):
        hit = make_customer(cast.store_a, phone="13900007788")
        make_customer(cast.store_a, phone="13900001234")
        body = client.get(f"{API}/customers", {"q": "7788"}, **as_alice).json()
        assert [c["id"] for c in body["items"]] == [hit.pk]

    def test_q_by_last_four_digits_never_finds_another_stores_customer(self, client, cast, as_alice):
        make_customer(cast.store_b, phone="13900005566")
        body = client.get(f"{API}/customers", {"q": "5566"}, **as_alice).json()
        assert body == {"items": [], "count": 0}

    def test_q_finds_by_plate(self, client, cast, as_alice):
        hit = make_customer(cast.store_a)
        make_vehicle(hit, plate="沪B67890")
        make_vehicle(make_customer(cast.store_a), plate="沪C11111")
        body = client.get(f"{API}/customers", {"q": "沪B67890"}, **as_alice).json()
        assert [c["id"] for c in body["items"]] == [hit.pk]

    def test_q_finds_by_vin_in_any_case(self, client, cast, as_alice):
        hit = make_customer(cast.store_a)
        vehicle = make_vehicle(hit)
        make_vehicle(make_customer(cast.store_a))
        body = client.get(f"{API}/customers", {"q": vehicle.vin.lower()}, **as_alice).json()
        assert [c["id"] for c in body["items"]] == [hit.pk]

    def test_q_lists_a_customer_with_two_matching_vehicles_once(self, client, cast, as_alice):
        hit = make_customer(cast.store_a)
        make_vehicle(hit, plate="沪A11111")
        make_vehicle(hit, plate="沪A11112")
        body = client.get(f"{API}/customers", {"q": "沪A1111"}, **as_alice).json()
        assert [c["id"] for c in body["items"]] == [hit.pk]
        assert body["count"] == 1

    @pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=abc", "offset=-1"])
    def test_bad_pagination_is_422_naming_the_parameter(self, client, cast, as_alice, query):
        response = client.get(f"{API}/customers?{query}", **as_alice)
        assert_field_error(response, query.split("=")[0])

    def test_the_query_count_does_not_grow_with_the_number_of_customers(self, client, cast, as_alice):
        def queries_for_list():
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"{API}/customers?limit=100", **as_alice)
            assert response.status_code == 200
            return len(ctx.captured_queries), response.json()["count"]

        make_vehicle(make_customer(cast.store_a))
        queries_for_list()  # warm-up: the token's first use records last_used_at
        one, count = queries_for_list()
        assert count == 1
        for _ in range(24):
            make_vehicle(make_customer(cast.store_a))
        many, count = queries_for_list()
        assert count == 25
        assert many == one


class VehicleListTests:
    def test_the_list_is_paginated_with_items_and_count(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        vehicles = [make_vehicle(customer) for _ in range(3)]
        body = client.get(f"{API}/vehicles?limit=2", **as_alice).json()
        assert body["count"] == 3
        assert len(body["items"]) == 2
        assert {"id", "plate", "vin", "customer", "store"} <= set(body["items"][0])
        rest = client.get(f"{API}/vehicles?limit=2&offset=2", **as_alice).json()
        assert {v["id"] for v in body["items"] + rest["items"]} == {v.pk for v in vehicles}

    def test_an_advisor_sees_only_their_stores_vehicles(self, client, cast, as_alice):
        mine = make_vehicle(make_customer(cast.store_a))
        make_vehicle(make_customer(cast.store_b))
        body = client.get(f"{API}/vehicles", **as_alice).json()
        assert [v["id"] for v in body["items"]] == [mine.pk]

    def test_q_finds_by_plate_and_by_vin(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        by_plate = make_vehicle(customer, plate="沪A54321")
        by_vin = make_vehicle(customer)
        assert [v["id"] for v in client.get(f"{API}/vehicles", {"q": "沪A54321"}, **as_alice).json()["items"]] == [
            by_plate.pk
        ]
        assert [v["id"] for v in client.get(f"{API}/vehicles", {"q": by_vin.vin}, **as_alice).json()["items"]] == [
            by_vin.pk
        ]

    def test_the_store_filter_narrows_for_a_group_manager(self, client, cast, as_grace):
        make_vehicle(make_customer(cast.store_a))
        b = make_vehicle(make_customer(cast.store_b))
        body = client.get(f"{API}/vehicles?store=HZ01", **as_grace).json()
        assert [v["id"] for v in body["items"]] == [b.pk]

    def test_the_store_filter_with_another_groups_code_is_422(self, client, cast, as_alice, as_grace):
        assert_field_error(client.get(f"{API}/vehicles?store=BJ01", **as_grace), "store")
        assert_field_error(client.get(f"{API}/vehicles?store=HZ01", **as_alice), "store")

    def test_the_query_count_does_not_grow_with_the_number_of_vehicles(self, client, cast, as_alice):
        def queries_for_list():
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"{API}/vehicles?limit=100", **as_alice)
            assert response.status_code == 200
            return len(ctx.captured_queries)

        make_vehicle(make_customer(cast.store_a))
        queries_for_list()  # warm-up: the token's first use records last_used_at
        one = queries_for_list()
        for _ in range(24):
            make_vehicle(make_customer(cast.store_a))
        assert queries_for_list() == one


# --------------------------------------------------------------------------------------------- details


class DetailTests:
    def test_an_advisor_reads_their_stores_customer_and_vehicle(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        vehicle = make_vehicle(customer)
        got = client.get(f"{API}/customers/{customer.pk}", **as_alice)
        assert got.status_code == 200
        assert got.json()["id"] == customer.pk
        assert [v["id"] for v in got.json()["vehicles"]] == [vehicle.pk]
        got = client.get(f"{API}/vehicles/{vehicle.pk}", **as_alice)
        assert got.status_code == 200
        assert got.json()["customer"] == customer.pk

    def test_a_missing_id_is_404(self, client, cast, as_alice):
        assert client.get(f"{API}/customers/999999", **as_alice).status_code == 404
        assert client.get(f"{API}/vehicles/999999", **as_alice).status_code == 404

    @pytest.mark.parametrize("raw", ["abc", "1.5", "99999999999999999999999"])
    def test_a_non_integer_or_huge_id_is_a_4xx_not_a_500(self, client, cast, as_alice, raw):
        for kind in ("customers", "vehicles"):
            response = client.get(f"{API}/{kind}/{raw}", **as_alice)
            assert response.status_code in (404, 422), response.content
            assert response["Content-Type"].startswith("application/problem+json")


# --------------------------------------------------------------------------------------------- writes


class CustomerCreateTests:
    def test_an_advisor_creates_a_customer_in_their_store(self, client, cast, as_alice):
        phone = unique_mobile()
        response = send(client, "post", f"{API}/customers", as_alice, customer_body(phone=phone))
        assert response.status_code == 201, response.content
        body = response.json()
        customer = Customer.objects.get(pk=body["id"])
        assert customer.store == cast.store_a
        assert customer.phone == phone
        assert body["vehicles"] == []

    def test_all_optional_fields_and_consents_are_stored(self, client, cast, as_alice):
        body = customer_body(
            gender="female",
            birthday="1990-05-01",
            id_number=valid_id_number(),
            address="上海市浦东新区世纪大道100号",
            is_priority=True,
            consents={"marketing": True, "surveys": False},
        )
        response = send(client, "post", f"{API}/customers", as_alice, body)
        assert response.status_code == 201, response.content
        customer = Customer.objects.get(pk=response.json()["id"])
        assert customer.gender == "female"
        assert str(customer.birthday) == "1990-05-01"
        assert customer.id_number == body["id_number"]
        assert customer.is_priority is True
        assert {c.purpose: c.granted for c in Consent.objects.filter(customer=customer)} == {
            "marketing": True,
            "surveys": False,
        }

    def test_a_manager_may_create_a_customer(self, client, cast, api_token):
        response = send(client, "post", f"{API}/customers", api_token(cast.mia), customer_body())
        assert response.status_code == 201

    def test_a_technician_gets_403_and_nothing_is_written(self, client, cast, as_tom):
        before = row_counts()
        response = send(client, "post", f"{API}/customers", as_tom, customer_body())
        assert response.status_code == 403
        assert row_counts() == before

    def test_a_group_manager_may_not_create_customers(self, client, cast, as_grace):
        before = row_counts()
        response = send(client, "post", f"{API}/customers", as_grace, customer_body(store="HZ01"))
        assert response.status_code == 403
        assert row_counts() == before

    @pytest.mark.parametrize("code", ["HZ01", "BJ01", "XX99"])
    def test_an_advisor_cannot_create_a_customer_in_another_store(self, client, cast, as_alice, code):
        before = row_counts()
        response = send(client, "post", f"{API}/customers", as_alice, customer_body(store=code))
        assert_field_error(response, "store")
        assert row_counts() == before

    def test_the_same_mobile_twice_in_one_store_is_422_on_phone(self, client, cast, as_alice):
        make_customer(cast.store_a, phone="13811112222")
        before = row_counts()
        response = send(client, "post", f"{API}/customers", as_alice, customer_body(phone="+86 138 1111 2222"))
        assert_field_error(response, "phone")
        assert row_counts() == before

    def test_the_same_mobile_in_a_sister_store_is_one_group_file(self, client, cast, as_carol):
        """The group holds one file per person: the sister store finds and serves the customer instead."""
        make_customer(cast.store_a, phone="13811113333")
        response = send(client, "post", f"{API}/customers", as_carol, customer_body(store="HZ01", phone="13811113333"))
        assert_field_error(response, "phone")

    def test_the_same_id_number_twice_in_one_store_is_422_on_id_number(self, client, cast, as_alice):
        make_customer(cast.store_a, id_number=valid_id_number())
        response = send(client, "post", f"{API}/customers", as_alice, customer_body(id_number=valid_id_number()))
        assert_field_error(response, "id_number")

    @pytest.mark.parametrize(
        ("field", "overrides"),
        [
            ("phone", {"phone": "12345"}),
            ("phone", {"phone": "23800000000"}),
            ("id_number", {"id_number": bad_checksum_id_number()}),
            ("id_number", {"id_number": "31011519850612"}),
            ("birthday", {"birthday": "2999-01-01"}),
            ("birthday", {"birthday": "not-a-date"}),
            ("gender", {"gender": "other"}),
            ("name", {"name": "   "}),
            ("name", {"name": "x" * 61}),
            ("name", {"name": 123}),
            ("is_priority", {"is_priority": "maybe"}),
            ("address", {"address": "地" * 201}),
            ("consents.spam", {"consents": {"spam": True}}),
            ("consents.marketing", {"consents": {"marketing": "maybe"}}),
            ("consent_channel", {"consents": {"marketing": True}, "consent_channel": "carrier-pigeon"}),
            ("store", {"store": 7}),
        ],
    )
    def test_bad_input_is_422_naming_the_field_and_writes_nothing(self, client, cast, as_alice, field, overrides):
        before = row_counts()
        response = send(client, "post", f"{API}/customers", as_alice, customer_body(**overrides))
        assert_field_error(response, field)
        assert row_counts() == before

    @pytest.mark.parametrize("missing", ["store", "name", "phone"])
    def test_a_missing_required_field_is_422_naming_it(self, client, cast, as_alice, missing):
        body = customer_body()
        del body[missing]
        before = row_counts()
        assert_field_error(send(client, "post", f"{API}/customers", as_alice, body), missing)
        assert row_counts() == before

    def test_every_bad_field_is_named_at_once(self, client, cast, as_alice):
        response = send(
            client, "post", f"{API}/customers", as_alice, customer_body(phone="1", birthday="2999-01-01", gender="x")
        )
        body = assert_field_error(response, "phone")
        assert {"phone", "birthday", "gender"} <= set(body["errors"])

    @pytest.mark.parametrize("raw", ["{not json", '{"store": "SH01",}', "", "null", "[]", '"text"', "123"])
    def test_a_malformed_or_non_object_body_is_a_4xx_json_answer_not_a_500(self, client, cast, as_alice, raw):
        before = row_counts()
        response = client.post(f"{API}/customers", data=raw, content_type="application/json", **as_alice)
        assert 400 <= response.status_code < 500, response.content
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["detail"]
        assert row_counts() == before

    def test_a_malformed_json_body_uses_the_field_error_shape_naming_body(self, client, cast, as_alice):
        response = client.post(f"{API}/customers", data="{not json", content_type="application/json", **as_alice)
        assert 400 <= response.status_code < 500
        assert "body" in response.json()["errors"]

    def test_a_name_with_a_nul_character_is_422_on_name(self, client, cast, as_alice):
        before = row_counts()
        response = send(client, "post", f"{API}/customers", as_alice, customer_body(name="张\x00三"))
        assert_field_error(response, "name")
        assert row_counts() == before


class CustomerUpdateTests:
    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_an_advisor_updates_some_fields(self, client, cast, as_alice, method):
        customer = make_customer(cast.store_a, name="旧名")
        response = send(
            client, method, f"{API}/customers/{customer.pk}", as_alice, {"name": "新名", "is_priority": True}
        )
        assert response.status_code == 200, response.content
        assert response.json()["name"] == "新名"
        customer.refresh_from_db()
        assert (customer.name, customer.is_priority) == ("新名", True)

    def test_a_customer_may_keep_their_own_mobile(self, client, cast, as_alice):
        customer = make_customer(cast.store_a, phone="13822223333")
        response = send(client, "patch", f"{API}/customers/{customer.pk}", as_alice, {"phone": "13822223333"})
        assert response.status_code == 200

    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_taking_another_customers_mobile_is_422_on_phone_and_changes_nothing(self, client, cast, as_alice, method):
        make_customer(cast.store_a, phone="13822224444")
        customer = make_customer(cast.store_a, phone="13822225555", name="原名")
        before = row_counts()
        response = send(
            client, method, f"{API}/customers/{customer.pk}", as_alice, {"phone": "13822224444", "name": "改名"}
        )
        assert_field_error(response, "phone")
        customer.refresh_from_db()
        assert (customer.phone, customer.name) == ("13822225555", "原名")
        assert row_counts() == before

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("phone", "abc"),
            ("phone", None),
            ("birthday", "2999-12-31"),
            ("id_number", bad_checksum_id_number()),
            ("name", ""),
            ("name", None),
            ("name", 123),
            ("is_priority", "maybe"),
            ("is_priority", None),
            ("gender", "x"),
        ],
    )
    def test_bad_input_is_422_naming_the_field_and_changes_nothing(self, client, cast, as_alice, field, value):
        customer = make_customer(cast.store_a, name="原名")
        before = row_counts()
        response = send(client, "patch", f"{API}/customers/{customer.pk}", as_alice, {field: value, "address": "新"})
        assert_field_error(response, field)
        assert row_counts() == before
        fresh = Customer.objects.get(pk=customer.pk)
        assert (fresh.name, fresh.phone, fresh.address, fresh.updated_at) == (
            customer.name,
            customer.phone,
            customer.address,
            customer.updated_at,
        )

    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_a_technician_gets_403_and_nothing_changes(self, client, cast, as_tom, method):
        customer = make_customer(cast.store_a, name="原名")
        assert client.get(f"{API}/customers/{customer.pk}", **as_tom).status_code == 200
        response = send(client, method, f"{API}/customers/{customer.pk}", as_tom, {"name": "改名"})
        assert response.status_code == 403
        customer.refresh_from_db()
        assert customer.name == "原名"

    @pytest.mark.parametrize("method", ["get", "patch", "put"])
    def test_another_stores_customer_is_404_for_an_advisor(self, client, cast, as_alice, method):
        theirs = make_customer(cast.store_b, by=cast.carol, name="卡罗的客户")
        body = None if method == "get" else {"name": "被改"}
        response = send(client, method, f"{API}/customers/{theirs.pk}", as_alice, body)
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.name == "卡罗的客户"

    def test_a_group_manager_reads_both_stores_but_may_not_edit(self, client, cast, as_grace):
        a = make_customer(cast.store_a)
        b = make_customer(cast.store_b)
        assert client.get(f"{API}/customers/{a.pk}", **as_grace).status_code == 200
        assert client.get(f"{API}/customers/{b.pk}", **as_grace).status_code == 200
        assert send(client, "patch", f"{API}/customers/{b.pk}", as_grace, {"name": "改"}).status_code == 403

    def test_the_store_of_a_customer_cannot_be_moved_by_an_update(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        response = send(client, "patch", f"{API}/customers/{customer.pk}", as_alice, {"store": "HZ01"})
        assert response.status_code in (200, 422)
        customer.refresh_from_db()
        assert customer.store == cast.store_a


class VehicleCreateTests:
    def test_an_advisor_attaches_a_vehicle_to_their_customer(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        body = vehicle_body(customer, plate="沪AD12345", powertrain="bev", mileage_km=1200, purchase_price="189800")
        response = send(client, "post", f"{API}/vehicles", as_alice, body)
        assert response.status_code == 201, response.content
        out = response.json()
        vehicle = Vehicle.objects.get(pk=out["id"])
        assert (vehicle.customer, vehicle.store) == (customer, cast.store_a)
        assert (out["vin"], out["plate"], out["mileage_km"]) == (body["vin"], "沪AD12345", 1200)

    def test_a_lowercase_vin_and_plate_are_normalised(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        vin = unique_vin()
        response = send(
            client, "post", f"{API}/vehicles", as_alice, vehicle_body(customer, vin=vin.lower(), plate="沪a 12345")
        )
        assert response.status_code == 201, response.content
        assert (response.json()["vin"], response.json()["plate"]) == (vin, "沪A12345")

    def test_attaching_a_vehicle_to_another_stores_customer_is_422_on_customer(self, client, cast, as_alice):
        theirs = make_customer(cast.store_b)
        before = row_counts()
        response = send(client, "post", f"{API}/vehicles", as_alice, vehicle_body(theirs))
        assert_field_error(response, "customer")
        assert row_counts() == before

    def test_a_missing_customer_is_422_on_customer(self, client, cast, as_alice):
        assert_field_error(
            send(client, "post", f"{API}/vehicles", as_alice, vehicle_body(Customer(pk=999999))), "customer"
        )

    def test_a_technician_gets_403(self, client, cast, as_tom):
        customer = make_customer(cast.store_a)
        before = row_counts()
        assert send(client, "post", f"{API}/vehicles", as_tom, vehicle_body(customer)).status_code == 403
        assert row_counts() == before

    def test_the_same_vin_twice_in_a_store_is_422_on_vin(self, client, cast, as_alice):
        first = make_vehicle(make_customer(cast.store_a))
        other = make_customer(cast.store_a)
        before = row_counts()
        response = send(client, "post", f"{API}/vehicles", as_alice, vehicle_body(other, vin=first.vin.lower()))
        assert_field_error(response, "vin")
        assert row_counts() == before

    def test_the_same_plate_twice_in_a_store_is_422_on_plate(self, client, cast, as_alice):
        make_vehicle(make_customer(cast.store_a), plate="沪A99999")
        response = send(
            client, "post", f"{API}/vehicles", as_alice, vehicle_body(make_customer(cast.store_a), plate="沪A99999")
        )
        assert_field_error(response, "plate")

    @pytest.mark.parametrize(
        ("field", "overrides"),
        [
            ("vin", {"vin": "LSV"}),
            ("vin", {"vin": "LSVAB12CIT0000001"}),
            ("vin", {"vin": "LSVAB12COT0000001"}),
            ("vin", {"vin": "LSVAB12CQT0000001"}),
            ("vin", {"vin": 12345678901234567}),
            ("plate", {"plate": "ABC123"}),
            ("plate", {"plate": "沪I12345"}),
            ("brand", {"brand": ""}),
            ("model_name", {"model_name": "   "}),
            ("powertrain", {"powertrain": "steam"}),
            ("purchase_date", {"purchase_date": "2999-01-01"}),
            ("purchase_date", {"purchase_date": "31/12/2020"}),
            ("purchase_price", {"purchase_price": "-1"}),
            ("purchase_price", {"purchase_price": "lots"}),
            ("purchase_price", {"purchase_price": 1e308}),
            ("mileage_km", {"mileage_km": -5}),
            ("mileage_km", {"mileage_km": 10**12}),
            ("mileage_km", {"mileage_km": "far"}),
            ("customer", {"customer": "abc"}),
        ],
    )
    def test_bad_input_is_422_naming_the_field_and_writes_nothing(self, client, cast, as_alice, field, overrides):
        customer = make_customer(cast.store_a)
        before = row_counts()
        response = send(client, "post", f"{API}/vehicles", as_alice, vehicle_body(customer, **overrides))
        assert_field_error(response, field)
        assert row_counts() == before

    def test_a_bad_vin_check_digit_is_422_on_vin(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        before = row_counts()
        vin = bad_check_digit_vin()
        response = send(client, "post", f"{API}/vehicles", as_alice, vehicle_body(customer, vin=vin))
        body = assert_field_error(response, "vin")
        assert vin_check_digit(vin) in body["errors"]["vin"][0]  # the message names the expected digit
        assert row_counts() == before

    @pytest.mark.parametrize("missing", ["customer", "vin", "brand", "model_name"])
    def test_a_missing_required_field_is_422_naming_it(self, client, cast, as_alice, missing):
        body = vehicle_body(make_customer(cast.store_a))
        del body[missing]
        before = row_counts()
        assert_field_error(send(client, "post", f"{API}/vehicles", as_alice, body), missing)
        assert row_counts() == before

    def test_a_malformed_json_body_is_a_4xx_json_answer(self, client, cast, as_alice):
        before = row_counts()
        response = client.post(f"{API}/vehicles", data='{"vin": ', content_type="application/json", **as_alice)
        assert 400 <= response.status_code < 500
        assert response["Content-Type"].startswith("application/problem+json")
        assert row_counts() == before


class VehicleUpdateTests:
    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_an_advisor_updates_a_vehicle(self, client, cast, as_alice, method):
        vehicle = make_vehicle(make_customer(cast.store_a))
        response = send(
            client, method, f"{API}/vehicles/{vehicle.pk}", as_alice, {"plate": "沪A24680", "mileage_km": 5000}
        )
        assert response.status_code == 200, response.content
        vehicle.refresh_from_db()
        assert (vehicle.plate, vehicle.mileage_km) == ("沪A24680", 5000)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("vin", "LSVAB12CIT0000001"),
            ("vin", None),
            ("plate", "沪O12345"),
            ("purchase_date", "2999-01-01"),
            ("mileage_km", -1),
            ("mileage_km", None),
            ("purchase_price", "abc"),
            ("brand", ""),
            ("powertrain", "nuclear"),
        ],
    )
    def test_bad_input_is_422_naming_the_field_and_changes_nothing(self, client, cast, as_alice, field, value):
        vehicle = make_vehicle(make_customer(cast.store_a), plate="沪A13579")
        before = row_counts()
        response = send(client, "patch", f"{API}/vehicles/{vehicle.pk}", as_alice, {"brand": "改", field: value})
        assert_field_error(response, field)
        fresh = Vehicle.objects.get(pk=vehicle.pk)
        assert (fresh.vin, fresh.plate, fresh.brand, fresh.updated_at) == (
            vehicle.vin,
            vehicle.plate,
            vehicle.brand,
            vehicle.updated_at,
        )
        assert row_counts() == before

    def test_the_odometer_cannot_go_back(self, client, cast, as_alice):
        vehicle = make_vehicle(make_customer(cast.store_a), mileage_km=10000)
        response = send(client, "patch", f"{API}/vehicles/{vehicle.pk}", as_alice, {"mileage_km": 9000})
        assert_field_error(response, "mileage_km")
        vehicle.refresh_from_db()
        assert vehicle.mileage_km == 10000

    def test_taking_another_vehicles_vin_is_422_on_vin(self, client, cast, as_alice):
        customer = make_customer(cast.store_a)
        first = make_vehicle(customer)
        second = make_vehicle(customer)
        response = send(client, "put", f"{API}/vehicles/{second.pk}", as_alice, {"vin": first.vin})
        assert_field_error(response, "vin")
        second.refresh_from_db()
        assert second.vin != first.vin

    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_a_technician_gets_403(self, client, cast, as_tom, method):
        vehicle = make_vehicle(make_customer(cast.store_a))
        assert client.get(f"{API}/vehicles/{vehicle.pk}", **as_tom).status_code == 200
        assert send(client, method, f"{API}/vehicles/{vehicle.pk}", as_tom, {"brand": "改"}).status_code == 403
        vehicle.refresh_from_db()
        assert vehicle.brand == "上汽大众"

    @pytest.mark.parametrize("method", ["get", "patch", "put"])
    def test_another_stores_vehicle_is_404_for_an_advisor(self, client, cast, as_alice, method):
        theirs = make_vehicle(make_customer(cast.store_b))
        body = None if method == "get" else {"brand": "被改"}
        assert send(client, method, f"{API}/vehicles/{theirs.pk}", as_alice, body).status_code == 404
        theirs.refresh_from_db()
        assert theirs.brand == "上汽大众"


class AnonymousTests:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("get", "/customers", None),
            ("get", "/vehicles", None),
            ("post", "/customers", {"store": "SH01", "name": "x", "phone": "13800000000"}),
            ("post", "/vehicles", {"customer": 1, "vin": "x", "brand": "b", "model_name": "m"}),
        ],
    )
    def test_anonymous_requests_get_401_and_write_nothing(self, client, cast, method, path, body):
        before = row_counts()
        response = send(client, method, f"{API}{path}", {}, body)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert row_counts() == before

    @pytest.mark.parametrize("method", ["get", "patch", "put"])
    def test_anonymous_requests_to_an_existing_object_get_401(self, client, cast, method):
        customer = make_customer(cast.store_a, name="原名")
        vehicle = make_vehicle(customer)
        body = None if method == "get" else {"name": "改", "brand": "改"}
        assert send(client, method, f"{API}/customers/{customer.pk}", {}, body).status_code == 401
        assert send(client, method, f"{API}/vehicles/{vehicle.pk}", {}, body).status_code == 401
        customer.refresh_from_db()
        assert customer.name == "原名"
