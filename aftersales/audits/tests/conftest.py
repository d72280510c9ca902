"""Fixtures of the audits tests: the cast (store A SH01 with mia its manager and alice an advisor, store B HZ01,
grace the group manager) plus the group's quality department (quinn), a mystery shopper from an agency (sam),
a second shopper (sue), and the group's default checklists."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftersales.audits import services
from aftersales.audits.choices import AuditKind
from aftersales.audits.models import AuditChecklist
from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.organisation.choices import Role
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def frozen(*args: int) -> Any:
    """A stopped clock at a Shanghai wall time."""
    return time_machine.travel(shanghai(*args), tick=False)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@dataclass
class Scene:
    cast: Any
    quinn: Any  # the group's quality department
    sam: Any  # a mystery shopper (external auditor), group-wide
    sue: Any  # another mystery shopper
    checklists: dict[str, AuditChecklist]

    @property
    def store(self) -> Any:
        return self.cast.store_a


@pytest.fixture
def scene(cast) -> Scene:
    quinn = make_user("quinn", Role.QUALITY, group=cast.group)
    sam = make_user("sam", Role.AUDITOR, group=cast.group)
    sue = make_user("sue", Role.AUDITOR, group=cast.group)
    with frozen(2026, 3, 2, 9, 0):
        checklists = {c.kind: c for c in services.checklists_install_defaults(group=cast.group)}
    return Scene(cast=cast, quinn=quinn, sam=sam, sue=sue, checklists=checklists)


def small_checklist(scene: Scene, weights=(3, 2, 1, 4), kind=AuditKind.INTERNAL, title="小表") -> AuditChecklist:
    """A checklist of four items with the given weights (the last item may not be n.a.)."""
    items = [
        {"text": f"第{n}项", "text_en": f"Item {n}", "weight": Decimal(w), "allows_na": n != len(weights)}
        for n, w in enumerate(weights, start=1)
    ]
    current = AuditChecklist.objects.filter(group=scene.cast.group, kind=kind, is_active=True).first()
    return services.checklist_save(
        by=scene.quinn, group=scene.cast.group, kind=kind, title=title, items=items, checklist=current
    )


def delivered(store: Any, day: dt.date, *, hour: int = 10) -> RepairOrder:
    """A repair order of `store` delivered on `day` (Shanghai time)."""
    customer = make_customer(store, name="李四")
    vehicle = make_vehicle(customer)
    at = shanghai(day.year, day.month, day.day, hour, 0)
    return RepairOrder.objects.create(
        store=store,
        number=f"AU{next(_numbers):08d}",
        customer=customer,
        vehicle=vehicle,
        service_type=ServiceType.MAINTENANCE,
        status=RepairOrderStatus.DELIVERED,
        arrived_at=at - dt.timedelta(hours=3),
        delivered_at=at,
        billed_total=Decimal("500.00"),
        link_nonce="x",
    )


def answer_all(audit: Any, by: Any, results: list[str], notes: dict[int, str] | None = None) -> None:
    """Answer the audit's items in order with `results` (a failed item gets a note)."""
    items = list(audit.checklist.items.order_by("position", "pk"))
    assert len(items) == len(results)
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        note = (notes or {}).get(index, "现场未执行" if result == "fail" else "")
        services.audit_answer(audit=audit, by=by, item=item, result=result, note=note)
