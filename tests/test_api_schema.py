"""A schema integrators enjoy (issue 15 item 5): closed sets are enums equal to the models' choices, every schema,
request body and operation says what it is, every schema and request body carries an example that validates
against it, and the examples of the key request bodies are accepted by the API as they stand (ids aside)."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import time_machine

from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.config.api import api
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.core.api_schema import enum_values
from aftersales.customers.choices import Tier
from aftersales.customers.models import Customer, Vehicle
from aftersales.ehr.models import EhrSubmission
from aftersales.feedback.models import (
    CallAttempt,
    Capa,
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyItem,
    SurveyResponse,
)
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile
from aftersales.parts.models import Part
from aftersales.rescue.models import RescueRequest
from aftersales.service.models import Appointment, Attachment, Estimate, EstimateLine, RepairOrder, RepairOrderEvent
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def schema():
    import aftersales.config.urls  # noqa: F401 - every router is mounted

    return json.loads(json.dumps(api.get_openapi_schema()))


def _components(schema):
    return schema["components"]["schemas"]


def _refs(node):
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.add(value.rsplit("/", 1)[-1])
            else:
                found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _response_schemas(schema):
    """The components an answer (2xx) can contain."""
    components = _components(schema)
    names = set()
    for item in schema["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if str(status).startswith("2"):
                    names |= _refs(response)
    pending = list(names)
    while pending:
        for ref in _refs(components.get(pending.pop(), {})) - names:
            names.add(ref)
            pending.append(ref)
    return names


def _enum_of(prop):
    """The enum of a property, whether it may be null or not (anyOf [enum, null])."""
    for option in [prop, *prop.get("anyOf", [])]:
        if "enum" in option:
            return option["enum"]
        if "const" in option:  # a set of one
            return [option["const"]]
    return None


# --------------------------------------------------------------------------------------------- enums

# (schema, field) → (model, model field): the answer's closed set is exactly the model field's choices ("" when blank).
CONVERTED = {
    ("AppointmentOut", "status"): (Appointment, "status"),
    ("AppointmentOut", "service_type"): (Appointment, "service_type"),
    ("AppointmentOut", "channel"): (Appointment, "channel"),
    ("AppointmentOut", "pickup_status"): (Appointment, "pickup_status"),
    ("AppointmentCreated", "status"): (Appointment, "status"),
    ("PickupOut", "pickup_status"): (Appointment, "pickup_status"),
    ("PickupOut", "order_status"): (RepairOrder, "status"),
    ("EventOut", "from_status"): (RepairOrderEvent, "from_status"),
    ("EventOut", "to_status"): (RepairOrderEvent, "to_status"),
    ("LineOut", "kind"): (EstimateLine, "kind"),
    ("LineOut", "min_grade"): (EstimateLine, "min_grade"),
    ("LineOut", "capability"): (EstimateLine, "capability"),
    ("LineOut", "grade"): (EstimateLine, "grade"),
    ("LineOut", "decision"): (EstimateLine, "decision"),
    ("LineOut", "decision_channel"): (EstimateLine, "decision_channel"),
    ("EvidenceOut", "purpose"): (Attachment, "purpose"),
    ("EstimateOut", "status"): (Estimate, "status"),
    ("RepairOrderSummaryOut", "status"): (RepairOrder, "status"),
    ("RepairOrderSummaryOut", "service_type"): (RepairOrder, "service_type"),
    ("RepairOrderOut", "status"): (RepairOrder, "status"),
    ("QualityCheckOut", "order_status"): (RepairOrder, "status"),
    ("CertificateOut", "kind"): (Certificate, "kind"),
    ("TechnicianOut", "grade"): (StaffProfile, "technician_grade"),
    ("GradeOut", "grade"): (GradeRecord, "grade"),
    ("GradeOut", "current_grade"): (StaffProfile, "technician_grade"),
    ("TrainingOut", "result"): (TrainingRecord, "result"),
    ("StockOut", "category"): (Part, "category"),
    ("RescueRequestDetailOut", "source"): (RescueRequest, "source"),
    ("SubmissionOut", "status"): (EhrSubmission, "status"),
    ("DeliveryOut", "status"): (OutboxMessage, "status"),
    ("MessageOut", "channel"): (OutboxMessage, "channel"),
    ("MessageOut", "purpose"): (OutboxMessage, "purpose"),
    ("MessageOut", "language"): (OutboxMessage, "language"),
    ("MessageOut", "status"): (OutboxMessage, "status"),
    ("MessageOut", "suppressed_reason"): (OutboxMessage, "suppressed_reason"),
    ("CampaignOut", "purpose"): (Campaign, "purpose"),
    ("CampaignOut", "status"): (Campaign, "status"),
    ("ArmOut", "arm"): (CampaignMember, "arm"),
    ("VehicleOut", "powertrain"): (Vehicle, "powertrain"),
    ("CustomerOut", "gender"): (Customer, "gender"),
    ("ComplaintOut", "channel"): (Complaint, "channel"),
    ("ComplaintOut", "category"): (Complaint, "category"),
    ("ComplaintOut", "priority"): (Complaint, "priority"),
    ("ComplaintOut", "status"): (Complaint, "status"),
    ("ComplaintDetailOut", "status"): (Complaint, "status"),
    ("ClockOut", "clock"): (ComplaintEscalation, "clock"),
    ("ComplaintEventOut", "from_status"): (ComplaintEvent, "from_status"),
    ("ComplaintEventOut", "to_status"): (ComplaintEvent, "to_status"),
    ("SuggestionOut", "channel"): (Suggestion, "channel"),
    ("SuggestionOut", "status"): (Suggestion, "status"),
    ("SuggestionOut", "decision"): (Suggestion, "decision"),
    ("SurveyItemOut", "kind"): (SurveyItem, "kind"),
    ("SurveyResponseOut", "channel"): (SurveyResponse, "channel"),
    ("FollowUpOut", "status"): (FollowUp, "status"),
    ("AttemptOut", "outcome"): (CallAttempt, "outcome"),
    ("RecoveryOut", "status"): (RecoveryTask, "status"),
    ("RecoveryOut", "outcome"): (RecoveryTask, "outcome"),
    ("CapaOut", "status"): (Capa, "status"),
    ("CapaOut", "cluster_category"): (Capa, "cluster_category"),
    ("HistoryComplaintOut", "channel"): (Complaint, "channel"),
    ("HistoryComplaintOut", "category"): (Complaint, "category"),
    ("HistoryComplaintOut", "priority"): (Complaint, "priority"),
    ("HistoryComplaintOut", "status"): (Complaint, "status"),
    ("HistorySuggestionOut", "channel"): (Suggestion, "channel"),
    ("HistorySuggestionOut", "status"): (Suggestion, "status"),
    ("HistorySuggestionOut", "decision"): (Suggestion, "decision"),
    ("HistorySurveyOut", "channel"): (SurveyResponse, "channel"),
}

# Response fields with a closed-set name that stay free strings, and why.
NOT_CLOSED = {
    ("RepairOrderOut", "concern_category"),  # the code of a catalogue each store keeps
}

CLOSED_NAMES = re.compile(
    r"(^|_)(status|channel|category|priority|kind|purpose|outcome|decision|result|role|gender|powertrain)$"
)


@pytest.mark.parametrize(("schema_name", "field"), sorted(CONVERTED))
def test_a_closed_set_in_an_answer_is_the_model_fields_choices(schema, schema_name, field):
    model, model_field = CONVERTED[(schema_name, field)]
    prop = _components(schema)[schema_name]["properties"][field]
    assert _enum_of(prop) == enum_values(model, model_field), (schema_name, field, prop)
    nullable = any(option.get("type") == "null" for option in prop.get("anyOf", []))
    null_by_relation = (schema_name, field) == ("PickupOut", "order_status")  # before arrival there is no order
    assert nullable == (model._meta.get_field(model_field).null or null_by_relation)


def test_the_escalation_level_and_the_tier_are_closed_sets_too(schema):
    components = _components(schema)
    assert _enum_of(components["ClockOut"]["properties"]["escalated_to"]) == enum_values(
        ComplaintEscalation, "level", empty=True
    )
    for name, field in (("TierOut", "code"), ("HistoryCustomerOut", "tier")):  # "" is answered as null
        assert _enum_of(components[name]["properties"][field]) == list(Tier.values), (name, field)


def test_no_answer_names_a_closed_set_as_a_plain_string(schema):
    components = _components(schema)
    plain = []
    for name in sorted(_response_schemas(schema)):
        for field, prop in components[name].get("properties", {}).items():
            if not CLOSED_NAMES.search(field) or (name, field) in NOT_CLOSED:
                continue
            types = [prop.get("type")] + [option.get("type") for option in prop.get("anyOf", [])]
            if "string" in types and _enum_of(prop) is None:
                plain.append(f"{name}.{field}")
    assert not plain, plain


# --------------------------------------------------------------------------------------------- descriptions


def test_every_schema_request_body_and_operation_says_what_it_is(schema):
    components = _components(schema)
    assert not [name for name, component in components.items() if not component.get("description")]
    bodies, summaries = [], []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if not operation.get("summary"):
                summaries.append(f"{method} {path}")
            if "requestBody" in operation and not operation["requestBody"].get("description"):
                bodies.append(f"{method} {path}")
    assert not bodies, bodies
    assert not summaries, summaries


# --------------------------------------------------------------------------------------------- examples


def _validator(schema, component):
    document = {**component, "components": {"schemas": _components(schema)}}
    return jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker())


def test_every_schema_has_an_example_that_validates_against_it(schema):
    wrong = {}
    for name, component in _components(schema).items():
        assert "example" in component, name
        errors = [e.message for e in _validator(schema, component).iter_errors(component["example"])]
        if errors:
            wrong[name] = errors[:3]
    assert not wrong, wrong


def test_every_request_body_shows_its_schemas_example(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                assert "example" in media, (method, path)
                component = _components(schema)[media["schema"]["$ref"].rsplit("/", 1)[-1]]
                assert media["example"] == component["example"], (method, path)


def test_examples_show_real_looking_data(schema):
    components = _components(schema)
    vehicle = components["VehicleIn"]["example"]
    assert re.fullmatch(r"[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}", vehicle["plate"]), vehicle
    appointment = components["AppointmentOut"]["example"]
    assert appointment["start"].endswith("+08:00"), appointment


# --------------------------------------------------------------------------------------------- examples accepted


@pytest.fixture
def saturday_noon(cast, api_token):
    """Store A (SH01) open 08:00–22:00 every day with two bays; the clock at noon of the Saturday the examples
    log a complaint on (their booking is for the Monday after)."""
    for weekday in range(7):
        OpeningHours.objects.create(store=cast.store_a, weekday=weekday, opens=dt.time(8), closes=dt.time(22))
    for number in (1, 2):
        Bay.objects.create(store=cast.store_a, code=f"B0{number}", name=f"{number}号工位", capabilities=["general"])
    with time_machine.travel(dt.datetime(2026, 12, 5, 12, 0, tzinfo=SHANGHAI), tick=False):
        yield {**api_token(cast.alice), "HTTP_ACCEPT_LANGUAGE": "en"}


def _post(client, path, body, headers):
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db
def test_the_key_request_bodies_examples_are_accepted(client, cast, saturday_noon, schema):
    components = _components(schema)
    customer_body = dict(components["CustomerIn"]["example"])
    response = _post(client, "/customers", customer_body, saturday_noon)
    assert response.status_code == 201, response.content

    customer = make_customer(cast.store_a)
    vehicle = make_vehicle(customer)
    vehicle_body = {**components["VehicleIn"]["example"], "customer": customer.pk}
    response = _post(client, "/vehicles", vehicle_body, saturday_noon)
    assert response.status_code == 201, response.content

    booking = {**components["AppointmentIn"]["example"], "customer": customer.pk, "vehicle": vehicle.pk}
    day = booking["start"][:10]
    # as a client would: the booked start is one of the day's slots
    slots = client.get(f"{API}/slots", {"store": booking["store"], "date": day}, **saturday_noon).json()
    assert booking["start"] in [slot["start"] for slot in slots], slots
    booking["advisor"] = cast.alice.pk
    response = _post(client, "/appointments", booking, saturday_noon)
    assert response.status_code == 201, response.content

    complaint = {**components["ComplaintIn"]["example"], "customer": customer.pk}
    complaint.pop("order", None)
    response = _post(client, "/complaints", complaint, saturday_noon)
    assert response.status_code == 201, response.content
