"""One error model (issue 15): every API answer that is not 2xx is an RFC 9457 problem, the schema declares each
operation's error answers with that model, unknown query parameters are refused, times carry the store's offset."""

import json
import re
from unittest import mock

import pytest
from django.test import Client
from openapi_spec_validator import validate

from aftersales.config.api import api
from aftersales.config.testing import make_customer
from aftersales.core.problems import PROBLEM_TYPES

pytestmark = pytest.mark.django_db

API = "/api/v1"
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def _schema(client):
    return json.loads(client.get(f"{API}/openapi.json").content)


def _problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] == f"/api/v1/problems/{code}"
    return body


@pytest.fixture
def as_alice(cast, api_token):
    return {**api_token(cast.alice), **ENGLISH}


class TestAnswers:
    def test_an_unknown_route_and_a_wrong_method_are_problems_not_pages(self, client, cast, as_alice):
        body = _problem(client.get(f"{API}/no-such-thing", **as_alice), 404, "not_found")
        assert "/api/v1/no-such-thing" in body["detail"]
        _problem(client.get("/api/v2/customers", **as_alice), 404, "not_found")
        response = client.delete(f"{API}/customers", **as_alice)
        body = _problem(response, 405, "method_not_allowed")
        assert set(body["allowed"]) == {"GET", "POST"} and "GET" in response["Allow"]

    def test_without_a_token_the_answer_is_a_401_problem_with_the_challenge(self, client, cast):
        response = client.get(f"{API}/customers", **ENGLISH)
        body = _problem(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"] == "Bearer"
        assert "Bearer" in body["detail"]

    def test_a_role_that_may_not_is_a_403_problem(self, client, cast, api_token):
        headers = {**api_token(cast.tom), **ENGLISH}  # a technician does not open customers' files
        body = {"store": "SH01", "name": "王五", "phone": "13900001111"}
        response = client.post(f"{API}/customers", data=body, content_type="application/json", **headers)
        _problem(response, 403, "forbidden")

    def test_every_bad_field_is_named_at_once(self, client, cast, as_alice):
        body = {"store": "SH01", "name": "", "phone": "12", "is_priority": "perhaps"}
        response = client.post(f"{API}/customers", data=body, content_type="application/json", **as_alice)
        problem = _problem(response, 422, "validation_error")
        assert {"is_priority"} <= set(problem["errors"]), problem
        for field in problem["errors"]:
            assert field in problem["detail"]
        response = client.post(
            f"{API}/appointments",
            data={"store": "SH01", "service_type": "nonsense", "channel": "nonsense"},
            content_type="application/json",
            **as_alice,
        )
        problem = _problem(response, 422, "validation_error")
        assert {"service_type", "channel", "start", "customer", "vehicle"} <= set(problem["errors"]), problem

    def test_a_body_that_is_not_an_object_is_a_400_problem_naming_the_body(self, client, cast, as_alice):
        response = client.post(f"{API}/customers", data="[1, 2]", content_type="application/json", **as_alice)
        assert set(_problem(response, 400, "bad_request")["errors"]) == {"body"}

    def test_a_business_rule_is_a_409_problem_with_its_own_code(self, client, cast, as_alice):
        with mock.patch(
            "aftersales.customers.selectors.customer_list",
            side_effect=__import__("aftersales.core.exceptions", fromlist=["x"]).ApplicationError(
                "The list is resting.", {"code": "resting", "retry_after": 5}
            ),
        ):
            response = client.get(f"{API}/customers", **as_alice)
        body = _problem(response, 409, "resting")
        assert body["detail"] == "The list is resting." and body["retry_after"] == 5
        assert body["title"] == "Refused by a business rule"

    def test_a_server_error_under_the_api_is_a_problem_too(self, cast, api_token):
        client = Client(raise_request_exception=False)
        with mock.patch("aftersales.customers.selectors.customer_list", side_effect=RuntimeError("boom")):
            response = client.get(f"{API}/customers", **api_token(cast.alice), **ENGLISH)
        body = _problem(response, 500, "server_error")
        assert "boom" not in json.dumps(body)  # nothing of the inside leaks to the caller

    def test_the_caller_language_changes_the_words_never_the_code(self, client, cast, api_token):
        english = _problem(client.get(f"{API}/customers/999999", **api_token(cast.alice), **ENGLISH), 404, "not_found")
        chinese = _problem(client.get(f"{API}/customers/999999", **api_token(cast.alice), **CHINESE), 404, "not_found")
        assert english["title"] == "Not found"
        assert chinese["title"] != english["title"] and re.search(r"[\u4e00-\u9fff]", chinese["title"])

    def test_every_problem_type_is_described_at_its_type_uri(self, client, db):
        listed = client.get(f"{API}/problems", **ENGLISH).json()
        assert {p["code"] for p in listed} == set(PROBLEM_TYPES)
        for problem in listed:
            one = client.get(f"{API}/problems/{problem['code']}", **ENGLISH)
            assert one.status_code == 200 and one.json() == problem
        _problem(client.get(f"{API}/problems/nope", **ENGLISH), 404, "not_found")


class TestUnknownQueryParameters:
    def test_an_unknown_filter_is_refused_naming_it_instead_of_answering_everything(self, client, cast, as_alice):
        problem = _problem(client.get(f"{API}/appointments?customre=3001", **as_alice), 422, "validation_error")
        assert set(problem["errors"]) == {"customre"}

    def test_unknown_and_bad_parameters_are_named_together(self, client, cast, as_alice):
        problem = _problem(client.get(f"{API}/customers?limit=0&colour=red", **as_alice), 422, "validation_error")
        assert set(problem["errors"]) == {"limit", "colour"}

    def test_every_operation_knows_exactly_the_query_parameters_its_schema_declares(self, client, db):
        from aftersales.core.api import _query_names

        schema = _schema(client)
        by_id = {
            op["operationId"]: {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            for item in schema["paths"].values()
            for op in item.values()
        }
        for operation in api.all_operations():
            if not operation.include_in_schema:  # the gateway's signed callback (campaigns/inbound_api.py)
                continue
            assert operation.refuses_unknown_query_parameters, operation.view_func.__name__
            assert _query_names(operation) == by_id[operation.view_func.__name__], operation.view_func.__name__


class TestSchema:
    def test_the_schema_is_valid_openapi(self, client, db):
        validate(_schema(client))

    def test_every_operation_declares_its_error_answers_with_the_problem_model(self, client, db):
        schema = _schema(client)
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        checked = 0
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                responses = operation["responses"]
                expected = {"404", "422"}
                if operation.get("security"):
                    expected |= {"401", "403"}
                if method != "get":
                    expected.add("409")
                if "requestBody" in operation:
                    expected |= {"400", "413"}
                errors = {status for status in responses if status >= "400"}
                assert errors == expected, (method, path, errors)
                for status in errors:
                    assert responses[status]["content"] == {"application/problem+json": {"schema": problem_ref}}
                checked += 1
        assert checked >= 80

    def test_operation_ids_are_the_handler_names_short_and_unique(self, client, db):
        schema = _schema(client)
        ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"[a-z][a-z0-9_]{2,40}", i) for i in ids), ids
        assert "customer_create" in ids and "appointment_list" in ids

    def test_every_post_declares_the_idempotency_key_header(self, client, db):
        for item in _schema(client)["paths"].values():
            if "post" in item:
                names = {(p["in"], p["name"]) for p in item["post"].get("parameters", [])}
                assert ("header", "Idempotency-Key") in names, item["post"]["operationId"]

    def test_no_schema_is_left_that_nothing_refers_to(self, client, db):
        schema = _schema(client)
        text = json.dumps(schema["paths"]) + json.dumps(schema["components"]["schemas"])
        for name in schema["components"]["schemas"]:
            assert f'"#/components/schemas/{name}"' in text, name
        assert not any(name.endswith("Filter") for name in schema["components"]["schemas"])


class TestTimes:
    def test_every_time_carries_the_store_offset(self, client, cast, as_alice):
        make_customer(cast.store_a, name="时间")
        body = client.get(f"{API}/customers", **as_alice).json()
        created = body["items"][0]["created_at"]
        assert created.endswith("+08:00"), created

    def test_stores_name_their_time_zone(self, client, cast, as_alice):
        stores = client.get(f"{API}/stores", **as_alice).json()
        assert stores and {s["time_zone"] for s in stores} == {"Asia/Shanghai"}
