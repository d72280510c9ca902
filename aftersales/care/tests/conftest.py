"""Fixtures for the care playbooks: the service tests' shop (store A of the cast), and helpers that give a customer
the visits that put them in a tier, as the crm app computes it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.crm.services import tiers_compute
from aftersales.customers.models import Customer, Vehicle
from aftersales.messaging.choices import Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.reminders.tests.conftest import visit
from aftersales.service.choices import ServiceType
from aftersales.service.models import RepairOrder
from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    SHANGHAI,
    console_outbox,
    frozen,
    media_root,
    shanghai,
    shop,
)

__all__ = ["SHANGHAI", "frozen", "shanghai", "visit"]


def person(the_shop: Any, *, marketing: bool = True, name: str = "李四", **fields: Any) -> tuple[Customer, Vehicle]:
    """A customer of store A (with or without marketing consent) and their car."""
    own = {key: fields.pop(key) for key in ("birthday",) if key in fields}
    customer = make_customer(
        the_shop.store, by=the_shop.cast.alice, name=name, consents={"marketing": marketing}, **own
    )
    vehicle = make_vehicle(customer, by=the_shop.cast.alice, **fields)
    return customer, vehicle


def visits(
    vehicle: Vehicle,
    days: list[dt.date],
    *,
    km: list[int | None] | None = None,
    advisor: Any = None,
    billed: Decimal = Decimal("500.00"),
    service_type: str = ServiceType.MAINTENANCE,
) -> list[RepairOrder]:
    """Delivered visits on those days (09:00–17:00 Shanghai), with a bill and the advisor given."""
    orders = []
    for i, day in enumerate(days):
        order = visit(vehicle, day, (km or [None] * len(days))[i], service_type=service_type)
        RepairOrder.objects.filter(pk=order.pk).update(billed_total=billed, advisor=advisor)
        orders.append(order)
    return orders


def tiers(today: dt.date) -> None:
    tiers_compute(as_of=today)


def marketing_of(customer: Customer) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(customer=customer, purpose=Purpose.MARKETING).order_by("pk"))
