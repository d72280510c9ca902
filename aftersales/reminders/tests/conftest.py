"""Fixtures for the reminders: the service tests' shop (store A, a customer with a car), and helpers that put
visits on a vehicle's record as the service process leaves them (delivered repair orders with their odometer
reading and, when the advisor set them, the next maintenance date and mileage)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.customers.models import Customer, Vehicle
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder
from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    SHANGHAI,
    console_outbox,
    frozen,
    media_root,
    shanghai,
    shop,
)

_numbers = itertools.count(1)


def visit(
    vehicle: Vehicle,
    day: dt.date,
    km: int | None,
    *,
    service_type: str = ServiceType.MAINTENANCE,
    next_date: dt.date | None = None,
    next_km: int | None = None,
    status: str = RepairOrderStatus.DELIVERED,
) -> RepairOrder:
    """A visit that arrived at 09:00 and was delivered at 17:00 the same day (Shanghai time)."""
    arrived = dt.datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)
    return RepairOrder.objects.create(
        store=vehicle.store,
        number=f"RO-T{next(_numbers):05d}",
        customer=vehicle.customer,
        vehicle=vehicle,
        service_type=service_type,
        status=status,
        arrived_at=arrived,
        delivered_at=arrived + dt.timedelta(hours=8) if status == RepairOrderStatus.DELIVERED else None,
        mileage_in=km,
        next_service_date=next_date,
        next_service_km=next_km,
        link_nonce="t",
    )


def car(shop: Any, *, customer: Customer | None = None, **fields: Any) -> Vehicle:  # noqa: F811
    """A vehicle with no recorded reading of its own (only the visits given count)."""
    customer = customer or make_customer(shop.store, by=shop.cast.alice, name="李四")
    fields.setdefault("plate", f"沪B{next(_numbers):05d}")
    return make_vehicle(customer, by=shop.cast.alice, **fields)
