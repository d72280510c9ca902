"""The tier rules of SPEC §5 at every threshold edge, on SQLite and on PostgreSQL (the suite runs on both):
R 30/31, 90/91, 180/181; F 3/4; M 14 999.99/15 000; the window's first day; the rule order; no visit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from aftersales.crm.models import TierChange
from aftersales.crm.services import months_back, tiers_compute
from aftersales.crm.tests.conftest import AS_OF, SHANGHAI, customer_with, visit
from aftersales.customers.models import Customer
from aftersales.organisation.models import SettingValue
from aftersales.service.choices import RepairOrderStatus

pytestmark = pytest.mark.django_db

# Four visits of 3 750 = 15 000 (the A amount); the most recent one `r` days before AS_OF.
LOYAL = [(40, "3750.00"), (50, "3750.00"), (60, "3750.00")]

# name → (visits as (days before AS_OF, amount), expected tier, expected R, F, M)
EDGES: dict[str, tuple[list[tuple[int, str]], str, int | None, int, str]] = {
    "c_r30_one_visit": ([(30, "800.00")], "C", 30, 1, "800.00"),
    "c_r31_one_visit_is_b": ([(31, "800.00")], "B", 31, 1, "800.00"),
    "c_r0_delivered_today": ([(0, "99.00")], "C", 0, 1, "99.00"),
    "two_visits_r10_is_not_new": ([(10, "800.00"), (400, "800.00")], "B", 10, 1, "800.00"),
    "a_r90": ([(90, "3750.00"), *LOYAL], "A", 40, 4, "15000.00"),
    "a_last_visit_r90": (
        [(90, "3750.00"), (100, "3750.00"), (110, "3750.00"), (120, "3750.00")],
        "A",
        90,
        4,
        "15000.00",
    ),
    "a_last_visit_r91_is_b": (
        [(91, "3750.00"), (100, "3750.00"), (110, "3750.00"), (120, "3750.00")],
        "B",
        91,
        4,
        "15000.00",
    ),
    "f3_is_b": ([(5, "5000.00"), (6, "5000.00"), (7, "5000.00")], "B", 5, 3, "15000.00"),
    "f4_is_a": ([(5, "5000.00"), (6, "5000.00"), (7, "5000.00"), (8, "0.00")], "A", 5, 4, "15000.00"),
    "m_14999_99_is_b": ([(5, "3750.00"), (6, "3750.00"), (7, "3750.00"), (8, "3749.99")], "B", 5, 4, "14999.99"),
    "m_15000_is_a": ([(5, "3750.00"), (6, "3750.00"), (7, "3750.00"), (8, "3750.00")], "A", 5, 4, "15000.00"),
    # Sums that binary floating point gets wrong by a hair (SQLite) still make exactly 15 000.00.
    "m_float_sum_is_a": ([(5, "5585.36"), (6, "7565.90"), (7, "599.69"), (8, "1249.05")], "A", 5, 4, "15000.00"),
    "d_r180_is_b": ([(180, "800.00"), (200, "800.00")], "B", 180, 2, "1600.00"),
    "d_r181": ([(181, "800.00"), (200, "800.00")], "D", 181, 2, "1600.00"),
    "d_before_c": ([(181, "800.00")], "D", 181, 1, "800.00"),
    "d_before_a": ([(181, "9000.00"), (182, "9000.00"), (183, "9000.00"), (184, "9000.00")], "D", 181, 4, "36000.00"),
    "visits_outside_window_count_for_r_only": ([(170, "100.00"), (400, "20000.00")], "B", 170, 1, "100.00"),
}


def _expect(customer: Customer, tier: str, r: int | None, f: int, m: str) -> None:
    customer.refresh_from_db()
    assert (customer.tier, customer.tier_recency_days, customer.tier_frequency, customer.tier_monetary) == (
        tier,
        r,
        f,
        Decimal(m),
    ), customer.name
    assert customer.tier_as_of == AS_OF


class ThresholdEdgeTests:
    def test_every_edge_gives_its_tier_and_values(self, cast):
        customers = {name: customer_with(cast.store_a, visits, name=name[:20]) for name, (visits, *_r) in EDGES.items()}
        summary = tiers_compute(as_of=AS_OF)
        assert summary.customers == len(EDGES)
        for name, (_visits, tier, r, f, m) in EDGES.items():
            _expect(customers[name], tier, r, f, m)

    def test_the_window_starts_the_day_after_the_same_day_months_earlier(self, cast):
        first_day = months_back(AS_OF, 12) + dt.timedelta(days=1)  # 2025-07-01
        assert first_day == dt.date(2025, 7, 1)
        inside = customer_with(cast.store_a, [(5, "5000.00"), (6, "5000.00"), (7, "5000.00")], name="inside")
        visit(inside, first_day, "0.00")
        outside = customer_with(cast.store_a, [(5, "5000.00"), (6, "5000.00"), (7, "5000.00")], name="outside")
        visit(outside, first_day - dt.timedelta(days=1), "0.00")
        tiers_compute(as_of=AS_OF)
        _expect(inside, "A", 5, 4, "15000.00")
        _expect(outside, "B", 5, 3, "15000.00")

    def test_the_visit_day_is_the_shanghai_calendar_day(self, cast):
        # 23:59 Shanghai on day X and 00:00 on day X are both day X; 00:30 on X is still day X-1 in UTC.
        late = customer_with(cast.store_a, [], name="late")
        visit(late, AS_OF - dt.timedelta(days=30), at=dt.time(23, 59))
        early = customer_with(cast.store_a, [], name="early")
        visit(early, AS_OF - dt.timedelta(days=31), at=dt.time(0, 0))
        tiers_compute(as_of=AS_OF)
        _expect(late, "C", 30, 1, "500.00")
        _expect(early, "B", 31, 1, "500.00")

    def test_no_closed_visit_means_no_tier_and_cancelled_or_open_orders_never_count(self, cast):
        nobody = customer_with(cast.store_a, [], name="nobody")
        cancelled = customer_with(cast.store_a, [], name="cancelled")
        visit(cancelled, AS_OF - dt.timedelta(days=3), status=RepairOrderStatus.CANCELLED)
        visit(cancelled, AS_OF - dt.timedelta(days=2), status=RepairOrderStatus.READY)
        future = customer_with(cast.store_a, [], name="future")
        visit(future, AS_OF + dt.timedelta(days=1))
        tiers_compute(as_of=AS_OF)
        for customer in (nobody, cancelled, future):
            _expect(customer, "", None, 0, "0.00")
            assert customer.tier_rule == ""

    def test_losing_every_visit_clears_the_tier_and_its_values(self, cast):
        customer = customer_with(cast.store_a, [(10, "800.00")], name="undone")
        tiers_compute(as_of=AS_OF)
        _expect(customer, "C", 10, 1, "800.00")
        customer.repair_orders.update(status=RepairOrderStatus.CANCELLED, delivered_at=None)
        tiers_compute(as_of=AS_OF)
        _expect(customer, "", None, 0, "0.00")

    def test_the_rule_in_force_is_stored_as_a_formula(self, cast):
        a = customer_with(cast.store_a, EDGES["m_15000_is_a"][0], name="a")
        c = customer_with(cast.store_a, [(3, "100.00")], name="c")
        d = customer_with(cast.store_a, [(300, "100.00")], name="d")
        b = customer_with(cast.store_a, [(3, "100.00"), (4, "100.00")], name="b")
        tiers_compute(as_of=AS_OF)
        rules = {x.name: Customer.objects.get(pk=x.pk).tier_rule for x in (a, b, c, d)}
        assert rules == {
            "a": "R ≤ 90 ∧ F ≥ 4 ∧ M ≥ 15000.00",
            "b": "N ≥ 1 ∧ R ≤ 180 ∧ ¬C ∧ ¬A",
            "c": "N = 1 ∧ R ≤ 30",
            "d": "R > 180",
        }


class StoreSettingTests:
    def test_each_customer_is_judged_by_the_thresholds_of_their_store(self, cast):
        # Store B asks only 10 000 for A (a store override); store A keeps the default 15 000.
        SettingValue.objects.create(group=cast.group, store=cast.store_b, key="tier_a_min_amount", value="10000")
        SettingValue.objects.create(group=cast.group, store=None, key="tier_c_recency_days", value="10")
        visits = [(5, "3000.00"), (6, "3000.00"), (7, "3000.00"), (8, "3000.00")]
        in_a = customer_with(cast.store_a, visits, name="in-a")
        in_b = customer_with(cast.store_b, visits, name="in-b")
        new_a = customer_with(cast.store_a, [(11, "100.00")], name="new-a")
        tiers_compute(as_of=AS_OF)
        _expect(in_a, "B", 5, 4, "12000.00")
        _expect(in_b, "A", 5, 4, "12000.00")
        assert Customer.objects.get(pk=in_b.pk).tier_rule == "R ≤ 90 ∧ F ≥ 4 ∧ M ≥ 10000.00"
        _expect(new_a, "B", 11, 1, "100.00")  # the group's C recency of 10 days

    def test_store_ids_limit_the_computation_to_their_customers(self, cast):
        in_a = customer_with(cast.store_a, [(3, "100.00")], name="in-a")
        in_b = customer_with(cast.store_b, [(3, "100.00")], name="in-b")
        summary = tiers_compute(as_of=AS_OF, store_ids=[cast.store_a.pk])
        assert summary.customers == 1
        assert Customer.objects.get(pk=in_a.pk).tier == "C"
        assert Customer.objects.get(pk=in_b.pk).tier == ""


class HistoryTests:
    def test_history_is_written_only_when_the_tier_changes(self, cast):
        customer = customer_with(cast.store_a, [(3, "100.00")], name="history")
        tiers_compute(as_of=AS_OF)
        assert list(TierChange.objects.values_list("from_tier", "to_tier", "r_days", "as_of")) == [("", "C", 3, AS_OF)]
        tiers_compute(as_of=AS_OF)  # the same day again: nothing changes
        tiers_compute(as_of=AS_OF + dt.timedelta(days=5))  # R grows from 3 to 8, still C: values move, tier stays
        assert TierChange.objects.count() == 1
        customer.refresh_from_db()
        assert (customer.tier, customer.tier_recency_days) == ("C", 8)
        summary = tiers_compute(as_of=AS_OF + dt.timedelta(days=30))  # R 33: B
        assert summary.changed == 1
        change = TierChange.objects.order_by("-id").first()
        assert (change.from_tier, change.to_tier, change.r_days, change.f, change.m) == (
            "C",
            "B",
            33,
            1,
            Decimal("100.00"),
        )
        assert change.rule == "N ≥ 1 ∧ R ≤ 180 ∧ ¬C ∧ ¬A"

    def test_the_clock_gives_the_default_day(self, cast):
        customer = customer_with(cast.store_a, [(3, "100.00")], name="clock")
        with time_machine.travel(dt.datetime(2026, 7, 2, 0, 10, tzinfo=SHANGHAI), tick=False):  # 1 July in UTC
            summary = tiers_compute()
        assert summary.as_of == dt.date(2026, 7, 2)
        customer.refresh_from_db()
        assert (customer.tier_as_of, customer.tier_recency_days) == (dt.date(2026, 7, 2), 5)


class PriorityLaneTests:
    def test_entering_a_grants_the_lane_and_leaving_takes_back_only_what_the_tier_gave(self, cast):
        earned = customer_with(cast.store_a, EDGES["m_15000_is_a"][0], name="earned")
        by_hand = customer_with(cast.store_a, EDGES["m_15000_is_a"][0], name="by-hand", is_priority=True)
        summary = tiers_compute(as_of=AS_OF)
        assert summary.priority_granted == 1
        earned.refresh_from_db()
        assert earned.is_priority and earned.tier == "A"
        assert TierChange.objects.get(customer=earned).priority_granted
        assert not TierChange.objects.get(customer=by_hand).priority_granted
        later = AS_OF + dt.timedelta(days=100)  # R > 90: both fall to B
        summary = tiers_compute(as_of=later)
        assert summary.priority_removed == 1
        assert not Customer.objects.get(pk=earned.pk).is_priority
        assert Customer.objects.get(pk=by_hand.pk).is_priority
