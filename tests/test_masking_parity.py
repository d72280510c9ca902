"""Masking is the same on every interface: data inventory × roles over every page and API read of a customer.

For each identifying field of the inventory's `SHOWN_IN_FULL_WITH` map and each role, the full value may appear in
a page or an API answer only when the role holds the capability named there (never, for the fields named None:
those are unmasked one at a time through the audited reveal, which this test does not press).  So no API field can
show what the same role's page masks.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.config.testing import make_user, unique_vin, valid_id_number
from aftersales.customers import crypto
from aftersales.customers import services as customer_services
from aftersales.customers.inventory import INVENTORY, SHOWN_IN_FULL_WITH
from aftersales.organisation.choices import Role
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.services import api_token_issue
from aftersales.service.models import Appointment, Slot

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
ADDRESS = "上海市浦东新区张江路888弄6号"
PLATE = "沪A9C7K2"
PICKUP_ADDRESS = "上海市徐汇区漕溪北路88弄3号"
ID_NUMBER = valid_id_number()
# The full value of each inventory field, in every form it could be written in.
FULL: dict[tuple[str, str], tuple[str, ...]] = {
    ("customers.Customer", "phone_encrypted"): (PHONE, "138 0013 8000", "138-0013-8000"),
    ("customers.Customer", "id_number_encrypted"): (ID_NUMBER,),
    ("customers.Customer", "address_encrypted"): (ADDRESS, "张江路888弄"),
    ("customers.Vehicle", "plate"): (PLATE, "沪A·9C7K2"),
    ("service.Appointment", "pickup_address_encrypted"): (PICKUP_ADDRESS, "漕溪北路88弄"),
}
ROLES = {
    "advisor": Role.ADVISOR,
    "technician": Role.TECHNICIAN,
    "foreman": Role.FOREMAN,
    "agent": Role.AGENT,
    "parts": Role.PARTS_CLERK,
    "driver": Role.DRIVER,
    "manager": Role.MANAGER,
}


def test_every_identifying_field_of_the_inventory_declares_how_it_is_shown():
    identifying = {(f.model, f.field) for f in INVENTORY if f.encrypted and not f.model.startswith("messaging.")}
    identifying.add(("customers.Vehicle", "plate"))
    assert identifying == set(SHOWN_IN_FULL_WITH)
    assert set(FULL) == set(SHOWN_IN_FULL_WITH)


@pytest.fixture
def record(cast):
    customer = customer_services.customer_create(
        store=cast.store_a, by=cast.alice, name="钱多多", phone=PHONE, id_number=ID_NUMBER, address=ADDRESS
    )
    vehicle = customer_services.vehicle_create(
        customer=customer, by=cast.alice, vin=unique_vin(), plate=PLATE, brand="比亚迪", model_name="汉"
    )
    return customer, vehicle


@pytest.fixture
def pickup(record, people):
    """Tomorrow's booking of the car with a pick-up at another address, assigned to the store's driver (test data:
    the booking service's own tests cover how it is made)."""
    customer, vehicle = record
    start = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    slot = Slot.objects.create(store=customer.store, start=start, end=start + dt.timedelta(hours=1), capacity=2)
    return Appointment.objects.create(
        store=customer.store,
        slot=slot,
        customer=customer,
        vehicle=vehicle,
        service_type="maintenance",
        channel="phone",
        pickup=True,
        pickup_status="planned",
        pickup_address_encrypted=crypto.encrypt(PICKUP_ADDRESS),
        pickup_from=start - dt.timedelta(hours=2),
        pickup_to=start - dt.timedelta(hours=1),
        driver=people["driver"],
    )


@pytest.fixture
def people(cast):
    users = {name: make_user(f"m_{name}", role, store=cast.store_a) for name, role in ROLES.items()}
    users["group"] = cast.grace
    return users


def _texts(client, user, customer, vehicle, day) -> dict[str, str]:
    """Everything the role reads about this customer: its pages and its API answers (the booking with pick-up
    of `day` included: the bookings, the driver's list)."""
    token = api_token_issue(username=user.username)[0]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api = [
        client.get("/api/v1/customers", {"q": customer.name}, **auth),
        client.get(f"/api/v1/customers/{customer.pk}", **auth),
        client.get("/api/v1/vehicles", {"q": PLATE}, **auth),
        client.get(f"/api/v1/vehicles/{vehicle.pk}", **auth),
        client.get("/api/v1/appointments", {"date": day}, **auth),
        client.get("/api/v1/pickups", {"date": day}, **auth),
    ]
    client.force_login(user)
    pages = [
        client.get(reverse("customers:customer-list"), {"q": customer.name}),
        client.get(reverse("customers:customer-detail", args=[customer.pk])),
        client.get(reverse("service:appointment-list"), {"day": day}),
        client.get(reverse("service:pickup-list"), {"day": day}),
    ]
    client.logout()
    return {
        "api": " ".join(json.dumps(r.json(), ensure_ascii=False) for r in api if r.status_code == 200),
        "page": " ".join(r.content.decode() for r in pages if r.status_code == 200),
    }


def test_no_interface_shows_a_role_what_the_inventory_masks_for_it(client, cast, record, people, pickup, settings):
    customer, vehicle = record
    day = timezone.localtime(pickup.slot.start).date().isoformat()
    seen = {}
    for name, user in people.items():
        texts = _texts(client, user, customer, vehicle, day)
        assert texts["api"] and texts["page"], name  # every role here reads the customer somewhere
        for key, capability in SHOWN_IN_FULL_WITH.items():
            may = capability is not None and user_can(user, Capability(capability), customer.store_id)
            for where, text in texts.items():
                shown = any(value in text for value in FULL[key])
                seen[(name, key, where)] = shown
                assert shown is False or may, f"{name} sees {key} in full in the {where}"
    # and the masking is not simply everything hidden: the roles that work with the car see its plate on both
    for name in ("advisor", "technician", "manager"):
        assert seen[(name, ("customers.Vehicle", "plate"), "api")], name
        assert seen[(name, ("customers.Vehicle", "plate"), "page")], name
    # and the driver works with the pick-up address and the customer's phone, on the page and in the API
    for key in (("service.Appointment", "pickup_address_encrypted"), ("customers.Customer", "phone_encrypted")):
        assert seen[("driver", key, "api")] and seen[("driver", key, "page")], key
