"""Property-based fuzzing of every API operation from its OpenAPI schema (schemathesis): whatever the
input, the answer is never a server error, and it conforms to what the schema declares — a declared status
code, the declared content type (JSON, or a problem as `application/problem+json`), a body valid against the
declared schema, the `Allow` header of a 405.  Runs in-process against the WSGI app and the test database."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    allow_header_conformance,
]


@pytest.fixture
def in_process_requests():
    """Like Django's test client: a request must not close the test's connection (and its transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def advisor_headers(cast, api_token, in_process_requests):
    customer = make_customer(cast.store_a, name="模糊测试")
    make_vehicle(customer, plate="沪A12345")
    make_customer(cast.store_b, name="别店")
    header = api_token(cast.alice)["HTTP_AUTHORIZATION"]
    return {"Authorization": header}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case, advisor_headers):
    case.call_and_validate(headers=advisor_headers, checks=CHECKS)
