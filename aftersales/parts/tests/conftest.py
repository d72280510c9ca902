"""Fixtures of the parts tests: store A of the cast with a parts clerk, and a catalogue of three parts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from aftersales.config.testing import make_user
from aftersales.messaging.backends import ConsoleBackend
from aftersales.organisation.choices import Role
from aftersales.parts import services
from aftersales.parts.models import Batch, Part


@dataclass
class Shelf:
    cast: Any
    clerk: Any
    filter: Part
    pads: Part
    gearbox: Part


@pytest.fixture(autouse=True)
def console_outbox():
    ConsoleBackend.clear()
    yield ConsoleBackend.sent
    ConsoleBackend.clear()


@pytest.fixture
def shelf(cast) -> Shelf:
    clerk = make_user("pia", Role.PARTS_CLERK, store=cast.store_a)
    group = cast.group
    return Shelf(
        cast=cast,
        clerk=clerk,
        filter=services.part_save(
            group=group, by=clerk, code="15400-RTA-003", name="机油滤清器", category="oem", is_core=True
        ),
        pads=services.part_save(group=group, by=clerk, code="BP-2201", name="前刹车片", category="brand"),
        gearbox=services.part_save(
            group=group, by=clerk, code="GB-R-01", name="变速箱总成（修复）", category="repaired"
        ),
    )


def receive(shelf: Shelf, part: Part, quantity: Any, *, batch: str, on: dt.date, store=None, **extra: Any) -> Batch:
    values = {
        "supplier": "广汽本田配件中心",
        "unit_cost": "38.50",
        "source_voucher": f"INV-{batch}",
        "certificate_checked": True,
        **extra,
    }
    return services.goods_receive(
        store=store or shelf.cast.store_a,
        by=shelf.clerk,
        part=part,
        received_on=on,
        quantity=quantity,
        batch_number=batch,
        **values,
    )
