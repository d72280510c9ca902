"""Sweeps over every operation in the OpenAPI document.

* Store isolation: every path with a path parameter is filled with the id of an object of store B (HZ01);
  users who may not see store B get 404 for every method, exactly as for a missing object, and the object
  is left unchanged.  A new path parameter without an entry in `objects_of_store_b` fails the sweep.
  Writes carry a minimal body that satisfies the operation's schema (built from the OpenAPI document), so
  the request reaches the handler: a 404 then means isolation, not a rejected body.
* Authentication: every operation answers 401 without a token, with an unknown token and with a revoked one.
"""

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core import clock
from aftersales.core.models import AuditEntry
from aftersales.customers.models import Consent, ConsentEvent, Customer, Vehicle
from aftersales.customers.services import consent_set
from aftersales.feedback import services as feedback_services
from aftersales.feedback.models import (
    CallAttempt,
    Capa,
    CapaAction,
    Complaint,
    ComplaintTransfer,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyResponse,
)
from aftersales.organisation.choices import Role
from aftersales.organisation.models import ApiToken, Bay, OpeningHours
from aftersales.rescue import services as rescue_services
from aftersales.service import services
from aftersales.service.models import (
    Appointment,
    Estimate,
    EstimateLine,
    QualityCheck,
    RepairOrder,
    RepairOrderEvent,
    Slot,
)
from tests import (
    isolation_audits_api,
    isolation_campaigns,
    isolation_privacy_requests,
    isolation_sops,
    isolation_webhooks,
)

pytestmark = pytest.mark.django_db

OPENAPI = "/api/v1/openapi.json"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
_PARAM = re.compile(r"{([^}]+)}")


def openapi(client):
    response = client.get(OPENAPI)
    assert response.status_code == 200
    return json.loads(response.content)


# Readable without a token, and holding no record: the descriptions of the problem types (core/problems.py).
PUBLIC_OPERATIONS = {("get", "/api/v1/problems"), ("get", "/api/v1/problems/{code}")}


def operations(client):
    """[(method, path template)] for every operation in the OpenAPI document that needs a token."""
    paths = openapi(client)["paths"]
    ops = [
        (method, path)
        for path, item in paths.items()
        for method in item
        if method in HTTP_METHODS and (method, path) not in PUBLIC_OPERATIONS
    ]
    assert len(ops) >= 10, ops  # the sweep must never pass vacuously
    return ops


def example(schema, components):
    """The smallest value the schema accepts (required properties only)."""
    if "$ref" in schema:
        return example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [option for option in schema[key] if option.get("type") != "null"]
            return example(options[0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example(properties[name], components) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if schema.get("format") == "date-time":
        return "2030-01-07T10:00:00+08:00"
    if schema.get("format") == "date":
        return "2030-01-07"
    return "x"


def bodies(client):
    """{(method, path): a JSON body the operation's schema accepts}."""
    document = openapi(client)
    components = document.get("components", {}).get("schemas", {})
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                found[(method, path)] = json.dumps(example(content["schema"], components))
    return found


# Path parameters that name no record of a store (the KPI catalogue's keys): the KPI endpoints check the store
# of their query instead (aftersales/analytics/tests), so the record sweeps below leave those paths out.
# Path parameters that name no store's record: a KPI's key; a part code of the group's catalogue (the store is the
# `store` query parameter, checked by store_by_code: test_parts_api.py proves another store's code is refused).
NOT_A_RECORD = {"key": "csat_percent", "code": "BP-2201"}


def names_a_record(path):
    return not any(f"{{{name}}}" in path for name in NOT_A_RECORD)


def fill(path, ids):
    return _PARAM.sub(lambda m: str(ids.get(m.group(1), NOT_A_RECORD.get(m.group(1)))), path)


def call(client, method, url, headers, body="{}"):
    kwargs = dict(headers)
    if method != "get":
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(url, **kwargs)


MODELS = (
    Customer,
    Vehicle,
    Consent,
    ConsentEvent,
    AuditEntry,
    Appointment,
    RepairOrder,
    RepairOrderEvent,
    Estimate,
    EstimateLine,
    QualityCheck,
    Complaint,
    ComplaintTransfer,
    Suggestion,
    FollowUp,
    CallAttempt,
    SurveyResponse,
    RecoveryTask,
    Capa,
    CapaAction,
)


def row_counts():
    return [model.objects.count() for model in MODELS] + [sum(Slot.objects.values_list("booked", flat=True))]


def objects_of_store(store, by, plate_prefix):
    """Path parameter name → an object of `store`, each made through the real services.  Add an entry for
    every new path parameter."""
    for weekday in range(7):
        OpeningHours.objects.create(store=store, weekday=weekday, opens=dt.time(8), closes=dt.time(22))
    Bay.objects.create(store=store, code="B1", name="工位1")
    customer = make_customer(store, by=by, name="杭州客户")
    vehicle = make_vehicle(customer, by=by, plate=f"{plate_prefix}12345")
    tomorrow = clock.today() + dt.timedelta(days=1)
    appointment = services.appointment_book(
        store=store,
        start=timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(10))),
        service_type="maintenance",
        channel="phone",
        customer=customer,
        vehicle=vehicle,
        by=by,
    )
    walk_in_car = make_vehicle(customer, by=by, plate=f"{plate_prefix}54321")
    order = services.walk_in_register(store=store, by=by, service_type="repair", plate=walk_in_car.plate)
    line = services.estimate_line_add(order=order, by=by, kind="fee", description="检测费", amount="50")
    feedback = feedback_objects_of_store(
        store, by, customer, make_vehicle(customer, by=by, plate=f"{plate_prefix}67890")
    )
    return {
        "customer_id": customer,
        "vehicle_id": vehicle,
        "appointment_id": appointment,
        "order_id": order,
        "line_id": line,
        # address only: the request stays with the caller's store (no rescue base in the sweep)
        "rescue_id": rescue_services.rescue_request_create(
            by=by, lat=None, lon=None, road_type="city", fault="没电", address="测试路1号"
        ),
        **feedback,
        **isolation_campaigns.api_objects(store),
        "webhook_id": isolation_webhooks.build_for(store),
        "audit_id": isolation_audits_api.build_for(store),
        "sop_id": isolation_sops.build_for(store),
        "rights_request_id": isolation_privacy_requests.build_for(store, by, customer),
    }


def feedback_objects_of_store(store, by, customer, car):
    """A delivered order with its follow-up, a low-score survey and its recovery task, a complaint, a
    suggestion and a CAPA with an action, all through the real services."""
    technician = make_user(f"tech-{store.code}", Role.TECHNICIAN, store=store)
    foreman = make_user(f"foreman-{store.code}", Role.FOREMAN, store=store)  # dispatches and checks quality
    order = services.walk_in_register(store=store, by=by, service_type="repair", plate=car.plate)
    fee = services.estimate_line_add(order=order, by=by, kind="fee", description="检测费", amount="80")
    services.estimate_send(estimate=fee.estimate, by=by)
    services.estimate_line_decide(line=fee, decision="approved", channel="desk", by=by)
    services.inspection_record(order=order, by=by, mileage_in=1000, fuel_level=50)
    services.repair_order_assign(order=order, by=foreman, technician=technician, bay=Bay.objects.get(store=store))
    order = services.repair_order_transition(order=order, to="waiting", by=by)  # released at reception
    for state in ("in_bay", "in_progress", "qc"):  # the technician on his own job
        order = services.repair_order_transition(order=order, to=state, by=technician, reason="test")
    checklist = dict.fromkeys(
        ("work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts"), True
    )
    services.quality_check_record(order=order, by=foreman, passed=True, checklist=checklist, skip_washing=True)
    order.refresh_from_db()
    order = services.repair_order_deliver(
        order=order, by=by, explanation="已说明", next_service_date=None, next_service_km=None
    )
    feedback_services.follow_up_sweep(store=store)
    consent_set(customer=customer, purpose="surveys", granted=True, channel="desk", by=by)
    agent = make_user(f"agent-{store.code}", Role.AGENT, store=store)  # the follow-up call is the agent's
    response = feedback_services.survey_response_record(
        order=order, channel="follow_up_call", answers={"overall": 5, "recommend": 4}, by=agent
    )
    complaint = feedback_services.complaint_log(
        store=store,
        customer=customer,
        channel="phone",
        category="waiting",
        priority="general",
        description="等太久",
        by=by,
    )
    suggestion = feedback_services.suggestion_log(
        store=store, customer=customer, channel="phone", description="增加休息区", by=by
    )
    manager = make_user(f"manager-{store.code}", Role.MANAGER, store=store)  # CAPA is the manager's
    capa = feedback_services.capa_open(store=store, by=manager, title="等待时间", complaint=complaint)
    action = feedback_services.capa_action_add(
        capa=capa, by=manager, description="增派顾问", owner=by, due_date=clock.today() + dt.timedelta(days=30)
    )
    return {
        "complaint_id": complaint,
        "suggestion_id": suggestion,
        "follow_up_id": FollowUp.objects.get(order=order),
        "response_id": response,
        "recovery_id": RecoveryTask.objects.get(response=response),
        "capa_id": capa,
        "action_id": action,
    }


def objects_of_store_b(cast):
    """Path parameter name → an object of store B (HZ01).  Add an entry for every new path parameter."""
    return objects_of_store(cast.store_b, cast.carol, "浙A")


def snapshot(objects):
    return {name: type(obj).objects.filter(pk=obj.pk).values().get() for name, obj in objects.items()}


class StoreIsolationSweepTests:
    def test_every_path_parameter_has_a_store_b_object(self, client, cast):
        found = {name for _method, path in operations(client) for name in _PARAM.findall(path)}
        assert found, "no path with a parameter found; the sweep would prove nothing"
        mapped = set(objects_of_store_b(cast)) | set(NOT_A_RECORD)
        assert found <= mapped, f"add these path parameters to objects_of_store_b: {sorted(found - mapped)}"

    @pytest.mark.parametrize("persona", ["alice", "bob", "tom", "mia", "otto"])
    def test_users_outside_store_b_get_404_on_every_operation_on_its_objects(self, client, cast, api_token, persona):
        objects = objects_of_store_b(cast)
        ids = {name: obj.pk for name, obj in objects.items()}
        headers = api_token(getattr(cast, persona))
        with_params = [(m, p) for m, p in operations(client) if _PARAM.search(p) and names_a_record(p)]
        assert with_params
        assert set(_PARAM.findall(" ".join(p for _m, p in with_params))) <= set(ids)

        body_of = bodies(client)
        before_rows, before = row_counts(), snapshot(objects)
        answers = {
            (m, p): call(client, m, fill(p, ids), headers, body_of.get((m, p), "{}")).status_code
            for m, p in with_params
        }
        assert answers == dict.fromkeys(answers, 404), answers
        assert snapshot(objects) == before
        assert row_counts() == before_rows

    def test_store_b_users_reach_the_same_objects_so_the_404s_mean_isolation(self, client, cast, api_token):
        objects = objects_of_store_b(cast)
        ids = {name: obj.pk for name, obj in objects.items()}
        for persona in ("carol", "grace"):
            headers = api_token(getattr(cast, persona))
            for method, path in operations(client):
                if persona == "carol" and "{webhook_id}" in path:
                    continue  # an advisor does not manage webhooks (manage_webhooks): the group manager reaches them
                if persona == "carol" and "{audit_id}" in path:
                    continue  # an advisor does not read audits (view_audits): the group manager reaches them
                if persona == "grace" and "{rights_request_id}" in path:
                    continue  # a group manager does not read rights requests (the privacy officer does): carol does
                if method == "get" and _PARAM.search(path) and names_a_record(path):
                    assert call(client, method, fill(path, ids), headers).status_code == 200, (persona, path)

    def test_alice_gets_the_same_answer_for_store_b_objects_as_for_missing_ones(self, client, cast, api_token):
        objects = objects_of_store_b(cast)
        real = {name: obj.pk for name, obj in objects.items()}
        missing = {name: 10_000_000 + obj.pk for name, obj in objects.items()}
        headers = api_token(cast.alice)
        body_of = bodies(client)
        for method, path in operations(client):
            if not _PARAM.search(path) or not names_a_record(path):
                continue
            body = body_of.get((method, path), "{}")
            theirs = call(client, method, fill(path, real), headers, body)
            nothing = call(client, method, fill(path, missing), headers, body)
            assert (theirs.status_code, theirs.json()) == (nothing.status_code, nothing.json()), (method, path)


class AuthenticationSweepTests:
    @pytest.fixture
    def own_ids(self, cast):
        """Ids of store A objects, so that a request slipping past authentication would succeed."""
        return {name: obj.pk for name, obj in objects_of_store(cast.store_a, cast.alice, "沪A").items()}

    def _assert_all_401(self, client, own_ids, headers):
        body_of = bodies(client)
        before = row_counts()
        answers = {
            (m, p): call(client, m, fill(p, own_ids), headers, body_of.get((m, p), "{}")) for m, p in operations(client)
        }
        assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 401)
        assert all(r["WWW-Authenticate"] == "Bearer" for r in answers.values())
        assert row_counts() == before

    def test_every_operation_answers_401_without_a_token(self, client, cast, own_ids):
        self._assert_all_401(client, own_ids, {})

    def test_every_operation_answers_401_with_an_unknown_token(self, client, cast, own_ids):
        self._assert_all_401(client, own_ids, {"HTTP_AUTHORIZATION": "Bearer as_unknown-token"})

    def test_every_operation_answers_401_with_a_revoked_token(self, client, cast, own_ids, api_token):
        headers = api_token(cast.alice)
        assert client.get("/api/v1/stores", **headers).status_code == 200
        ApiToken.objects.filter(user=cast.alice).update(revoked_at=timezone.now())
        self._assert_all_401(client, own_ids, headers)


class ListFilterIsolationTests:
    """Every list that takes a `customer` or `vehicle` filter (found in the OpenAPI document): store B's customer
    or vehicle gives users outside store B an empty list, exactly like an unknown id, never store B's rows."""

    def _filtered_lists(self, client):
        found = []
        for path, item in openapi(client)["paths"].items():
            names = {p["name"] for p in item.get("get", {}).get("parameters", [])}
            if "get" in item and not _PARAM.search(path) and {"limit", "offset"} <= names:
                found += [(path, name) for name in ("customer", "vehicle") if name in names]
        assert len(found) >= 10, found  # the sweep must never pass vacuously
        return found

    @pytest.mark.parametrize("persona", ["alice", "bob", "tom", "mia", "otto"])
    def test_another_stores_customer_or_vehicle_gives_an_empty_list(self, client, cast, api_token, persona):
        objects = objects_of_store_b(cast)
        theirs = {"customer": objects["customer_id"].pk, "vehicle": objects["vehicle_id"].pk}
        headers = api_token(getattr(cast, persona))
        answers = {}
        for path, name in self._filtered_lists(client):
            response = client.get(path, {name: theirs[name]}, **headers)
            answers[(path, name)] = (response.status_code, response.json().get("count"))
        assert answers == dict.fromkeys(answers, (200, 0)), answers

    def test_store_b_staff_get_rows_for_the_same_filters_so_the_empty_lists_mean_isolation(
        self, client, cast, api_token
    ):
        objects = objects_of_store_b(cast)
        theirs = {"customer": objects["customer_id"].pk, "vehicle": objects["vehicle_id"].pk}
        headers = api_token(cast.carol)
        counts = {
            (path, name): client.get(path, {name: theirs[name]}, **headers).json()["count"]
            for path, name in self._filtered_lists(client)
        }
        for path in ("/api/v1/appointments", "/api/v1/complaints", "/api/v1/suggestions", "/api/v1/vehicles"):
            assert counts[(path, "customer")] >= 1, (path, counts)
        assert counts[("/api/v1/appointments", "vehicle")] == 1, counts
