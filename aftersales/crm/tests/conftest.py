"""Fixtures for the tier tests: customers with delivered (or cancelled) repair orders on chosen days.

The orders are written straight to the table: a tier reads only status, delivery time, amount and customer, and
walking hundreds of orders through the service flow would test the service app, not the tiers."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2026, 6, 30)
_numbers = itertools.count(1)


def visit(
    customer: Any,
    day: dt.date,
    amount: str | Decimal = "500.00",
    *,
    status: str = RepairOrderStatus.DELIVERED,
    store: Any = None,
    at: dt.time = dt.time(0, 30),
) -> RepairOrder:
    """A repair order delivered on `day` at 00:30 Shanghai time (the day before in UTC, so a rule reading the UTC
    date would be a day off)."""
    vehicle = customer.vehicles.first() or make_vehicle(customer)
    delivered = dt.datetime.combine(day, at, tzinfo=SHANGHAI)
    return RepairOrder.objects.create(
        store=store or customer.store,
        number=f"T{next(_numbers):08d}",
        customer=customer,
        vehicle=vehicle,
        service_type=ServiceType.MAINTENANCE,
        status=status,
        arrived_at=delivered - dt.timedelta(hours=3),
        delivered_at=delivered if status == RepairOrderStatus.DELIVERED else None,
        billed_total=Decimal(amount),
        link_nonce="x",
    )


def customer_with(store: Any, visits: list[tuple[int, str]], *, name: str = "张三", **fields: Any) -> Any:
    """A customer of `store` with a closed visit `days` before AS_OF for each (days, amount)."""
    customer = make_customer(store, name=name, **fields)
    make_vehicle(customer)
    for days, amount in visits:
        visit(customer, AS_OF - dt.timedelta(days=days), amount)
    return customer


@pytest.fixture
def as_of() -> dt.date:
    return AS_OF
