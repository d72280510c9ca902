"""`win_back_rate_percent` (KPIS.md) with hand-computed numbers: the 90-day edge, pending recalls, what counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.care.choices import CareKind
from aftersales.care.models import CareAction
from aftersales.care.selectors import win_back_rate
from aftersales.customers.choices import Tier
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

from .conftest import frozen, person, shanghai

pytestmark = pytest.mark.django_db
MAY, JUNE = dt.date(2026, 5, 1), dt.date(2026, 6, 1)


def _recall(shop, name: str, sent_at: dt.datetime, *, status: str = MessageStatus.SENT, store=None):
    """A customer sent a recall notice at `sent_at` (status as given), and their car."""
    customer, car = person(shop, name=name)
    store = store or shop.store
    action = CareAction.objects.create(
        store=store, customer=customer, tier=Tier.D, kind=CareKind.D_RECALL, episode="tc1", done_at=sent_at
    )
    message = message_enqueue(
        store=store,
        template="care_d_recall",
        context={"name": name, "store": store.name, "phone": "", "months": 6, "link": "x"},
        customer=customer,
        purpose="marketing",
        related=action,
    )
    OutboxMessage.objects.filter(pk=message.pk).update(status=status, sent_at=sent_at)
    CareAction.objects.filter(pk=action.pk).update(message=message)
    return customer, car


def _arrive(car, at: dt.datetime, *, status: str = RepairOrderStatus.RECEPTION) -> None:
    RepairOrder.objects.create(
        store=car.store,
        number=f"RO-W{RepairOrder.objects.count() + 1:04d}",
        customer=car.customer,
        vehicle=car,
        service_type=ServiceType.MAINTENANCE,
        status=status,
        arrived_at=at,
        link_nonce="t",
    )


def test_hand_computed_month_with_the_day_90_edge_and_a_pending_recall(shop):
    day90_sent = shanghai(2026, 5, 2, 10)
    _c, car = _recall(shop, "一", day90_sent)
    _arrive(car, day90_sent + dt.timedelta(days=90))  # on the 90th day to the second: returned
    day91_sent = shanghai(2026, 5, 3, 10)
    _c, car = _recall(shop, "二", day91_sent)
    _arrive(car, day91_sent + dt.timedelta(days=91))  # the 91st day: too late, a failure
    _c, car = _recall(shop, "三", shanghai(2026, 5, 4, 10))
    _arrive(car, shanghai(2026, 5, 10, 9), status=RepairOrderStatus.CANCELLED)  # cancelled: no return
    _recall(shop, "四", shanghai(2026, 5, 20, 10))  # window open until 18 Aug, no return yet: pending
    _c, car = _recall(shop, "五", shanghai(2026, 5, 25, 10))
    _arrive(car, shanghai(2026, 6, 10, 9))  # returned while the window is open: counts at once
    _c, car = _recall(shop, "六", shanghai(2026, 4, 30, 23))  # April (Shanghai time): another period
    _arrive(car, shanghai(2026, 5, 5, 9))
    _recall(shop, "七", shanghai(2026, 5, 6, 10), status=MessageStatus.SUPPRESSED)  # never sent
    _recall(shop, "八", shanghai(2026, 5, 7, 10), status=MessageStatus.PENDING)  # not sent yet
    _c, car = _recall(shop, "九", shanghai(2026, 5, 8, 10), store=shop.cast.store_b)  # store B's
    _arrive(car, shanghai(2026, 5, 9, 10))

    with frozen(2026, 8, 10, 12):
        kpi = win_back_rate([shop.store.pk], MAY, JUNE)
        both = win_back_rate([shop.store.pk, shop.cast.store_b.pk], MAY, JUNE)
    # Denominator: 一, 二, 三, 五 (四 pending); numerator: 一, 五.
    assert (kpi.numerator, kpi.denominator, kpi.pending) == (2, 4, 1)
    assert kpi.value == Decimal("50.00") and kpi.target == Decimal("20") and kpi.status == "green"
    assert kpi.as_dict() == {
        "value": Decimal("50.00"),
        "numerator": 2,
        "denominator": 4,
        "target": Decimal("20"),
        "status": "green",
    }
    assert (both.numerator, both.denominator) == (3, 5)
    # Once 四's 90 days are over without a return it is a failure.
    with frozen(2026, 8, 19, 12):
        later = win_back_rate([shop.store.pk], MAY, JUNE)
    assert (later.numerator, later.denominator, later.pending) == (2, 5, 0)
    assert later.value == Decimal("40.00")


def test_the_day_90_edge_alone(shop):
    sent = shanghai(2026, 5, 2, 10)
    _c, on_time = _recall(shop, "甲", sent)
    _arrive(on_time, sent + dt.timedelta(days=90))
    _c, late = _recall(shop, "乙", sent)
    _arrive(late, sent + dt.timedelta(days=90, seconds=1))
    with frozen(2026, 9, 1, 12):
        kpi = win_back_rate([shop.store.pk], MAY, JUNE)
    assert (kpi.numerator, kpi.denominator, kpi.value) == (1, 2, Decimal("50.00"))


def test_no_recall_gives_a_null_value_and_no_status(shop):
    with frozen(2026, 8, 10, 12):
        kpi = win_back_rate([shop.store.pk], MAY, JUNE)
    assert kpi.as_dict() == {"value": None, "numerator": 0, "denominator": 0, "target": Decimal("20"), "status": None}


def test_red_and_amber_against_the_target(shop):
    for i in range(10):
        _c, car = _recall(shop, f"客{i}", shanghai(2026, 5, 2, 10))
        if i < 1:
            _arrive(car, shanghai(2026, 5, 20, 10))
    with frozen(2026, 9, 1, 12):
        assert win_back_rate([shop.store.pk], MAY, JUNE).status == "red"  # 10 % < 20 − 5
    _arrive(car, shanghai(2026, 5, 21, 10))  # 2 of 10: 20 % meets the target
    with frozen(2026, 9, 1, 12):
        assert win_back_rate([shop.store.pk], MAY, JUNE).status == "green"
