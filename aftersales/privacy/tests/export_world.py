"""The world of the export and erasure tests: the seeded demo (real rows through the real seeders), one customer
of it who has a value in every personal field of the data inventory, and a privacy officer of the group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models import Count, Q

from aftersales.config.testing import make_user, valid_id_number
from aftersales.core import clock
from aftersales.customers import crypto
from aftersales.customers.inventory import INVENTORY, inventory_by_model
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.services import customer_update
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Store
from aftersales.privacy.export import customer_querysets

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED_ARGS = ["--stores", "1", "--customers", "30", "--months", "4", "--seed", "3", "--today", "2026-06-30"]
NAME = "欧阳测试娜"
ADDRESS = "上海市徐汇区漕溪北路八十八弄七号"
ID_NUMBER = valid_id_number("310104", "19880214", "527")
PHONE = "13957246813"


def seed() -> None:
    call_command("seed", *SEED_ARGS, "--no-progress", stdout=StringIO(), stderr=StringIO())


@dataclass
class World:
    store: Store
    customer: Customer
    officer: Any  # the group's privacy officer


def _value_for(field: models.Field[Any, Any], customer: Customer) -> Any:
    """A non-empty value of the field's type (the customer's row in the test has one in every personal field)."""
    if field.name.endswith("_encrypted"):
        return crypto.encrypt(f"{NAME} {ADDRESS}")
    if field.choices:
        return field.choices[-1][0]
    if isinstance(field, models.JSONField):
        return {"note": f"{NAME} 反馈"}
    if isinstance(field, (models.CharField, models.TextField)):
        return f"{NAME}说: 车有异响"[: field.max_length or 200]
    if isinstance(field, models.DateTimeField):
        return clock.now()
    if isinstance(field, models.DateField):
        return dt.date(2026, 5, 1)
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DecimalField):
        return Decimal("1.5")
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 3
    if isinstance(field, models.ForeignKey):
        related = field.related_model._default_manager.order_by("pk")  # type: ignore[union-attr]
        return related.exclude(pk=customer.pk).first() if field.related_model is Customer else related.first()
    raise AssertionError(f"no test value for {field!r}")


def _move_one_row_to(customer: Customer, vehicle: Vehicle, label: str) -> None:
    """The customer has no row of this model: another customer's row becomes theirs."""
    model = apps.get_model(label)
    names = {f.name for f in model._meta.concrete_fields}
    row = model._default_manager.order_by("pk").first()
    assert row is not None, f"the demo seeds no {label}"
    updates: dict[str, Any] = {}
    if "customer" in names:
        updates["customer"] = customer
    if "vehicle" in names:
        updates["vehicle"] = vehicle
    assert updates, label
    model._default_manager.filter(pk=row.pk).update(**updates)


def build_world() -> World:
    seed()
    store = Store.objects.order_by("pk").first()
    assert store is not None
    officer = make_user("privacy_export", Role.PRIVACY_OFFICER, group=store.group)
    # The customer with the most visits, all delivered (the tests open one where they need an open order).
    customer = (
        Customer.objects.annotate(
            n=Count("repair_orders"), open=Count("repair_orders", filter=~Q(repair_orders__status="delivered"))
        )
        .filter(open=0)
        .order_by("-n", "pk")
        .first()
    )
    assert customer is not None
    customer_update(
        customer=customer,
        by=officer,
        name=NAME,
        phone=PHONE,
        id_number=ID_NUMBER,
        address=ADDRESS,
        gender="female",
        birthday="1988-02-14",
    )
    customer.refresh_from_db()
    vehicle = customer.vehicles.order_by("pk").first()
    assert vehicle is not None
    Vehicle.objects.filter(pk=vehicle.pk).update(plate="沪A9K7Q3")
    # Rows the demo does not seed for anybody: a reply from the customer and a cached API answer naming them.
    InboundMessage = apps.get_model("messaging", "InboundMessage")
    InboundMessage.objects.create(
        store=store,
        gateway="test",
        gateway_message_id="in-1",
        channel="sms",
        sender_encrypted=crypto.encrypt(PHONE),
        sender_hash=crypto.search_hash("phone", PHONE),
        text=f"我是{NAME}, 车牌沪A9K7Q3, 下周二来保养",
        intent="book",
        received_at=clock.now(),
        customer=customer,
    )
    apps.get_model("core", "IdempotencyRecord").objects.create(
        scope_hash="a" * 64,
        key="k-1",
        request_hash="b" * 64,
        path="/api/v1/customers",
        started_at=clock.now(),
        completed_at=clock.now(),
        status_code=201,
        content_type="application/json",
        response_body=f'{{"id": {customer.pk}, "name": "{NAME}", "phone": "139****6813"}}',
    )
    mine = dict((m._meta.label, q) for m, q in customer_querysets(customer))
    listed = inventory_by_model()
    for label in listed:
        if label == "customers.Customer":
            continue
        if not mine[label].exists():
            _move_one_row_to(customer, vehicle, label)
    mine = dict((m._meta.label, q) for m, q in customer_querysets(customer))
    for item in INVENTORY:
        model = apps.get_model(item.model)
        field = model._meta.get_field(item.field)
        rows = mine[item.model]
        empty = Q_empty(field)
        if not rows.exclude(empty).exists():
            first = rows.order_by("pk").first()
            assert first is not None, item.model
            model._default_manager.filter(pk=first.pk).update(**{field.name: _value_for(field, customer)})
    customer.refresh_from_db()
    return World(store=store, customer=customer, officer=officer)


def Q_empty(field: models.Field[Any, Any]) -> models.Q:  # noqa: N802 - reads like the Q it returns
    """The rows where the field holds nothing."""
    condition = models.Q(**{f"{field.name}__isnull": True})
    if isinstance(field, (models.CharField, models.TextField)):
        condition |= models.Q(**{field.name: ""})
    if isinstance(field, models.JSONField):
        condition |= models.Q(**{field.name: {}}) | models.Q(**{field.name: []})
    return condition


def personal_values(customer: Customer) -> dict[str, str]:
    """What identifies the customer, as stored before the erasure: the plain values, their ciphertext and their
    search hashes, and their cars' VINs and plates (the last four digits alone are too short to search for)."""
    found = {
        "name": customer.name,
        "phone": customer.phone,
        "id_number": customer.id_number,
        "address": customer.address,
        "phone_encrypted": customer.phone_encrypted,
        "id_number_encrypted": customer.id_number_encrypted,
        "address_encrypted": customer.address_encrypted,
        "phone_hash": customer.phone_hash,
        "id_number_hash": customer.id_number_hash,
        "phone_last4_hash": customer.phone_last4_hash,
    }
    for vehicle in customer.vehicles.all():
        found[f"vin {vehicle.pk}"] = vehicle.vin
        if vehicle.plate:
            found[f"plate {vehicle.pk}"] = vehicle.plate
    return {key: value for key, value in found.items() if value}
