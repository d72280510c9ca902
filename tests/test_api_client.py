"""The API as an integrator meets it (issue 15): a typed client generated with openapi-python-client from the live
`/api/v1/openapi.json`, then a call centre's flow over real HTTP against the live test server — find the caller,
create the customer with the vehicle in one call, free slots, book, check in, log a complaint, read it back —
with the typed errors (403, 409, 422 naming two fields at once) and an idempotent retry."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from aftersales.config.testing import make_cast, make_customer, make_user, make_vehicle
from aftersales.feedback.models import Complaint
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Bay, OpeningHours
from aftersales.organisation.services import api_token_issue
from aftersales.service import services

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI)
TUESDAY = dt.date(2026, 11, 24)
PACKAGE = "aftersales_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package, generated from the schema the running code serves (not from a file kept in the repo)."""
    folder: Path = tmp_path_factory.mktemp("client")
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    (folder / "openapi.json").write_bytes(schema.content)
    (folder / "config.yaml").write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    run = subprocess.run(  # noqa: S603 - our own venv's generator on the schema we just served
        [str(generator), "generate", "--path", "openapi.json", "--meta", "none"]
        + ["--output-path", PACKAGE, "--config", "config.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr  # nothing of the schema was skipped
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def world(transactional_db):
    with time_machine.travel(MONDAY, tick=True):
        cast = make_cast()
        for weekday in range(7):
            OpeningHours.objects.create(store=cast.store_a, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
        for number in (1, 2, 3):
            Bay.objects.create(store=cast.store_a, code=f"B{number}", name=f"工位{number}", capabilities=["general"])
        cast.ada = make_user("ada", Role.AGENT, store=cast.store_a)
        yield cast


def _client(generated, live_server, user):
    token, _record = api_token_issue(username=user.username)
    return generated.AuthenticatedClient(
        base_url=live_server.url, token=token, headers={"Accept-Language": "en"}, raise_on_unexpected_status=True
    )


def test_a_call_centre_flow_through_the_generated_client(generated, live_server, world):
    models = _module("models")
    Problem = models.Problem
    customer_list = _module("api.customers.customer_list")
    customer_create = _module("api.customers.customer_create")
    slot_list = _module("api.service.slot_list")
    appointment_create = _module("api.service.appointment_create")
    appointment_check_in = _module("api.service.appointment_check_in")
    complaint_create = _module("api.feedback.complaint_create")
    complaint_detail = _module("api.feedback.complaint_detail")
    complaint_list = _module("api.feedback.complaint_list")

    agent = _client(generated, live_server, world.alice)
    technician = _client(generated, live_server, world.tom)
    new_customer = models.CustomerIn(
        store="SH01",
        name="李雷",
        phone="13812345678",
        vehicles=[
            models.CustomerVehicleIn(vin="LSVAU218XN2183294", brand="大众", model_name="帕萨特", plate="沪A66Z88")
        ],
    )

    # A technician may not open customers' files: a typed 403 problem, nothing written.
    refused = customer_create.sync_detailed(client=technician, body=new_customer)
    assert refused.status_code == 403 and isinstance(refused.parsed, Problem)
    assert refused.parsed.code == "forbidden"

    # Find the caller: nobody with this number yet.
    found = customer_list.sync(client=agent, q="13812345678")
    assert found.count == 0

    # Two bad fields at once: both named.
    bad = customer_create.sync_detailed(
        client=agent, body=models.CustomerIn(store="SH01", name="李雷", phone="12", birthday="yesterday")
    )
    assert bad.status_code == 422 and isinstance(bad.parsed, Problem)
    assert bad.parsed.code == "validation_error"
    assert {"phone", "birthday"} <= set(bad.parsed.errors.additional_properties), bad.parsed.errors

    # The customer with the vehicle in one call, retried with the same idempotency key: one customer.
    created = customer_create.sync_detailed(client=agent, body=new_customer, idempotency_key="call-0001-customer")
    assert created.status_code == 201, created.content
    retried = customer_create.sync_detailed(client=agent, body=new_customer, idempotency_key="call-0001-customer")
    assert retried.status_code == 201 and retried.parsed.id == created.parsed.id
    assert retried.headers.get("Idempotent-Replayed") == "true"
    customer = created.parsed
    assert [v.plate for v in customer.vehicles] == ["沪A66Z88"]
    assert customer_list.sync(client=agent, q="5678").count == 1

    # Free slots of tomorrow, then book the first.
    slots = slot_list.sync(client=agent, store="SH01", date=TUESDAY)
    free = [slot for slot in slots if slot.remaining > 0]
    assert free, slots
    booking = models.AppointmentIn(
        store="SH01",
        start=free[0].start,
        service_type=models.AppointmentInServiceType.MAINTENANCE,
        channel=models.AppointmentInChannel.PHONE,
        customer=customer.id,
        vehicle=customer.vehicles[0].id,
    )
    booked = appointment_create.sync_detailed(client=agent, body=booking, idempotency_key="call-0001-booking")
    assert booked.status_code == 201, booked.content
    assert booked.parsed.start.utcoffset() == dt.timedelta(hours=8)

    # The slot fills up: the next booking there is a typed 409 with its own code.
    for _ in range(free[0].remaining - 1):
        other = make_customer(world.store_a)
        services.appointment_book(
            store=world.store_a,
            start=free[0].start,
            service_type="maintenance",
            channel="phone",
            customer=other,
            vehicle=make_vehicle(other),
            by=world.alice,
        )
    late = make_customer(world.store_a)
    late_vehicle = make_vehicle(late)
    full = appointment_create.sync_detailed(
        client=agent,
        body=models.AppointmentIn(
            store="SH01",
            start=free[0].start,
            service_type=models.AppointmentInServiceType.MAINTENANCE,
            channel=models.AppointmentInChannel.PHONE,
            customer=late.pk,
            vehicle=late_vehicle.pk,
        ),
    )
    assert full.status_code == 409 and isinstance(full.parsed, Problem)
    assert full.parsed.code == "slot_full"

    # The car arrives.
    order = appointment_check_in.sync_detailed(booked.parsed.id, client=agent)
    assert order.status_code == 201, order.content

    # The customer complains by phone; the agent's tool retries the post after a time-out: one complaint.
    complaint = models.ComplaintIn(
        store="SH01",
        customer=customer.id,
        channel=models.ComplaintInChannel.PHONE,
        category=models.ComplaintInCategory.WAITING,
        priority=models.ComplaintInPriority.IMPORTANT,
        description="等了两个小时还没开始修。",
        order=order.parsed.id,
        external_source="callcenter",
        external_ref="CC-2026-0001",
    )
    first = complaint_create.sync_detailed(client=agent, body=complaint, idempotency_key="call-0001-complaint")
    again = complaint_create.sync_detailed(client=agent, body=complaint, idempotency_key="call-0001-complaint")
    assert first.status_code == again.status_code == 201
    assert first.parsed.id == again.parsed.id
    assert Complaint.objects.filter(customer_id=customer.id).count() == 1

    # Read it back, alone and in the caller's list.
    read = complaint_detail.sync(first.parsed.id, client=agent)
    assert (read.status, read.description, read.external_ref) == ("new", "等了两个小时还没开始修。", "CC-2026-0001")
    mine = complaint_list.sync(client=agent, customer=customer.id)
    assert [c.id for c in mine.items] == [first.parsed.id]

    # Another key, same reference: the duplicate is refused with the existing id.
    duplicate = complaint_create.sync_detailed(client=agent, body=complaint, idempotency_key="call-0002-complaint")
    assert duplicate.status_code == 409 and duplicate.parsed.code == "duplicate_external_ref"
    assert duplicate.parsed.additional_properties["existing_id"] == first.parsed.id

    # The same key with another body is a conflict, not a silent replay.
    complaint.description = "另一件事。"
    reused = complaint_create.sync_detailed(client=agent, body=complaint, idempotency_key="call-0001-complaint")
    assert reused.status_code == 409 and reused.parsed.code == "idempotency_key_reused"
    assert json.loads(reused.content)["status"] == 409
