"""The repair order's state machine: every (from, to) pair, the guards beyond the table, compare-and-set and
the event written for every move."""

import pytest
from django.core.exceptions import ValidationError

from aftersales.core.exceptions import ApplicationError
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import QualityCheck, RepairOrder, RepairOrderEvent
from aftersales.service.transitions import REPAIR_ORDER_FLOW

from .conftest import (
    QC_ALL_TICKED,
    approved_labour,
    frozen,
    inspect,
    open_order,
    order_in_progress,
    shanghai,
    walk,
)

pytestmark = pytest.mark.django_db

# Written out by hand from SPEC §3.4, not read from the module: (from, to) pairs that are allowed.
ALLOWED: dict[str, set[str]] = {
    "reception": {"waiting", "cancelled"},
    "waiting": {"in_bay", "cancelled"},
    "in_bay": {"in_progress", "waiting", "cancelled"},
    "in_progress": {"waiting_parts", "qc"},
    "waiting_parts": {"in_progress"},
    "qc": {"washing", "ready", "in_progress"},
    "washing": {"ready"},
    "ready": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}
# Pairs the table allows that only the quality check form makes (a pass moves on, a failure goes back and counts):
# the rulebook's qc_pass / qc_pass_no_wash / qc_fail are made via the form, so the generic move names the form.
THROUGH_THE_QC_FORM = {
    ("qc", "washing"): "Use the quality check form",
    ("qc", "ready"): "Use the quality check form",
    ("qc", "in_progress"): "Record the failed quality check instead",
}
# Pairs that are the advisor's moves (release to the workshop, cancel); the others are the workshop's.
ADVISOR_MOVES = {
    ("reception", "waiting"),
    ("reception", "cancelled"),
    ("waiting", "cancelled"),
    ("in_bay", "cancelled"),
}
ALL_STATES = [
    "reception",
    "waiting",
    "in_bay",
    "in_progress",
    "waiting_parts",
    "qc",
    "washing",
    "ready",
    "delivered",
    "cancelled",
]


def _prepared_order(shop):
    """An order on which every guard is satisfied: inspected, an approved line, a bay and a technician, and a
    passed quality check on file.  Its status is then set per pair by the test (test data only)."""
    order = open_order(shop)
    inspect(shop, order)
    approved_labour(shop, order)
    services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
    QualityCheck.objects.create(
        order=order, passed=True, checklist=QC_ALL_TICKED, by=shop.foreman, at=shanghai(2026, 3, 2, 8)
    )
    return order


class TransitionTableTests:
    def test_the_module_table_is_the_table_of_the_spec(self):
        assert {str(k): {str(v) for v in vs} for k, vs in REPAIR_ORDER_FLOW.items()} == ALLOWED
        assert sorted(ALL_STATES) == sorted(S.values)

    @pytest.mark.parametrize("source", ALL_STATES)
    def test_every_pair_is_allowed_or_refused_as_the_table_says(self, shop, source):
        with frozen(2026, 3, 2, 9, 0):
            order = _prepared_order(shop)
            for target in ALL_STATES:
                RepairOrder.objects.filter(pk=order.pk).update(status=source)
                order.refresh_from_db()
                events_before = RepairOrderEvent.objects.filter(order=order).count()
                if (source, target) in THROUGH_THE_QC_FORM:
                    # Allowed by the table, but only through the quality check form (which records the check and
                    # counts a failure): the generic move names the form, whoever asks (here the foreman, who may).
                    with pytest.raises(ApplicationError, match=THROUGH_THE_QC_FORM[(source, target)]):
                        services.repair_order_transition(order=order, to=target, by=shop.foreman, reason="x")
                    assert RepairOrderEvent.objects.filter(order=order).count() == events_before
                    assert RepairOrder.objects.get(pk=order.pk).status == source
                elif target == "delivered" and target in ALLOWED[source]:
                    # Allowed by the table, but only through the delivery service.
                    with pytest.raises(ApplicationError, match="delivery form"):
                        services.repair_order_transition(order=order, to=target, by=shop.advisor, reason="x")
                    assert RepairOrderEvent.objects.filter(order=order).count() == events_before
                elif target in ALLOWED[source]:
                    # Made by the person whose move it is: the advisor's (release, cancel) or the technician's on
                    # his own job (the order is assigned to shop.senior).
                    by = shop.advisor if (source, target) in ADVISOR_MOVES else shop.senior
                    moved = services.repair_order_transition(order=order, to=target, by=by, reason="x")
                    assert moved.status == target, (source, target)
                    assert RepairOrder.objects.get(pk=order.pk).status == target
                    event = RepairOrderEvent.objects.filter(order=order).latest("id")
                    assert (event.from_status, event.to_status, event.by) == (source, target, by)
                else:
                    # The manager holds every capability of the store: only the table can refuse.
                    with pytest.raises(ApplicationError) as caught:
                        services.repair_order_transition(order=order, to=target, by=shop.cast.mia, reason="x")
                    assert caught.value.extra.get("code") == "invalid_transition", (source, target)
                    assert "cannot go from" in caught.value.message
                    assert RepairOrder.objects.get(pk=order.pk).status == source
                    assert RepairOrderEvent.objects.filter(order=order).count() == events_before

    def test_an_unknown_state_is_refused_naming_the_field(self, shop):
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            services.repair_order_transition(order=order, to="teleported", by=shop.senior)
        assert "to" in caught.value.message_dict


class GuardTests:
    def test_it_refuses_waiting_without_an_approved_line(self, shop):
        order = open_order(shop)
        inspect(shop, order)
        line = services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description="检查", standard_hours="1"
        )
        services.estimate_send(estimate=line.estimate, by=shop.advisor)
        with pytest.raises(ApplicationError, match="approved at least one line"):
            services.repair_order_transition(order=order, to=S.WAITING, by=shop.advisor)
        assert RepairOrder.objects.get(pk=order.pk).status == S.RECEPTION
        assert RepairOrderEvent.objects.filter(order=order).count() == 1  # only the opening event

    def test_it_refuses_waiting_before_the_inspection(self, shop):
        order = open_order(shop)
        approved_labour(shop, order)
        with pytest.raises(ApplicationError, match="initial inspection"):
            services.repair_order_transition(order=order, to=S.WAITING, by=shop.advisor)

    def test_it_refuses_in_bay_without_a_bay(self, shop):
        order = open_order(shop)
        inspect(shop, order)
        approved_labour(shop, order)
        walk(shop, order, S.WAITING)
        with pytest.raises(ApplicationError, match="Assign a bay first"):
            services.repair_order_transition(order=order, to=S.IN_BAY, by=shop.foreman)
        assert RepairOrder.objects.get(pk=order.pk).status == S.WAITING

    def test_it_refuses_in_progress_without_a_technician(self, shop):
        order = open_order(shop)
        inspect(shop, order)
        approved_labour(shop, order)
        services.repair_order_assign(order=order, by=shop.foreman, bay=shop.bay_1)
        walk(shop, order, S.WAITING, S.IN_BAY)
        with pytest.raises(ApplicationError, match="Assign a technician first"):
            services.repair_order_transition(order=order, to=S.IN_PROGRESS, by=shop.foreman)
        assert RepairOrder.objects.get(pk=order.pk).status == S.IN_BAY

    def test_it_refuses_in_progress_when_no_line_is_approved_any_more(self, shop):
        order = open_order(shop)
        inspect(shop, order)
        approved_labour(shop, order)
        services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
        walk(shop, order, S.WAITING, S.IN_BAY)
        order.estimates.get().lines.update(decision="declined")  # e.g. data fixed by hand afterwards
        with pytest.raises(ApplicationError, match="not approved"):
            services.repair_order_transition(order=order, to=S.IN_PROGRESS, by=shop.senior)

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_waiting_for_parts_needs_a_reason(self, shop, reason):
        order = order_in_progress(shop)
        with pytest.raises(ValidationError) as caught:
            services.repair_order_transition(order=order, to=S.WAITING_PARTS, by=shop.senior, reason=reason)
        assert "reason" in caught.value.message_dict
        assert RepairOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS

    def test_waiting_for_parts_keeps_the_reason(self, shop):
        order = order_in_progress(shop)
        services.repair_order_transition(order=order, to=S.WAITING_PARTS, by=shop.senior, reason=" 刹车片缺货 ")
        order.refresh_from_db()
        assert order.waiting_parts_reason == "刹车片缺货"

    def test_cancelling_needs_a_reason(self, shop):
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            services.repair_order_transition(order=order, to=S.CANCELLED, by=shop.advisor)
        assert "reason" in caught.value.message_dict
        services.repair_order_transition(order=order, to=S.CANCELLED, by=shop.advisor, reason="客户改期")
        assert RepairOrder.objects.get(pk=order.pk).status == S.CANCELLED

    def test_delivery_only_through_the_delivery_service(self, shop):
        from .conftest import order_ready

        order = order_ready(shop)
        with pytest.raises(ApplicationError, match="delivery form"):
            services.repair_order_transition(order=order, to=S.DELIVERED, by=shop.advisor)
        assert RepairOrder.objects.get(pk=order.pk).status == S.READY

    @pytest.mark.parametrize("target", [S.READY, S.WASHING])
    def test_qc_to_ready_or_washing_needs_a_passed_check(self, shop, target):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        with pytest.raises(ApplicationError, match="passed quality check"):
            services.repair_order_transition(order=order, to=target, by=shop.foreman)
        services.quality_check_record(order=order, by=shop.foreman, passed=False, checklist={}, notes="漏油")
        walk(shop, order, S.QC)
        with pytest.raises(ApplicationError, match="passed quality check"):
            services.repair_order_transition(order=order, to=target, by=shop.foreman)
        assert RepairOrder.objects.get(pk=order.pk).status == S.QC


class CompareAndSetTests:
    def test_a_stale_order_is_refused_and_writes_no_event(self, shop):
        order = open_order(shop)
        inspect(shop, order)
        approved_labour(shop, order)
        walk(shop, order, S.WAITING)
        stale = RepairOrder.objects.get(pk=order.pk)
        services.repair_order_assign(order=order, by=shop.foreman, bay=shop.bay_1)
        walk(shop, order, S.IN_BAY)  # someone else moves it on
        events = RepairOrderEvent.objects.filter(order=order).count()
        stale.bay_id = shop.bay_1.pk
        with pytest.raises(ApplicationError, match="Someone else changed") as caught:
            services.repair_order_transition(order=stale, to=S.CANCELLED, by=shop.advisor, reason="客户取消")
        assert caught.value.extra.get("code") == "conflict"
        assert RepairOrderEvent.objects.filter(order=order).count() == events
        assert RepairOrder.objects.get(pk=order.pk).status == S.IN_BAY


class EventTests:
    def test_every_move_writes_who_when_and_why(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            order = open_order(shop)
            inspect(shop, order)
            approved_labour(shop, order)
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
        with frozen(2026, 3, 2, 9, 10):
            services.repair_order_transition(order=order, to=S.WAITING, by=shop.advisor, reason="已批准")
        with frozen(2026, 3, 2, 9, 20):
            services.repair_order_transition(order=order, to=S.IN_BAY, by=shop.foreman)
        with frozen(2026, 3, 2, 9, 25):
            services.repair_order_transition(order=order, to=S.IN_PROGRESS, by=shop.senior)
        with frozen(2026, 3, 2, 10, 0):
            services.repair_order_transition(order=order, to=S.WAITING_PARTS, by=shop.senior, reason="等配件")
        rows = [
            (e.from_status, e.to_status, e.by_id, e.at, e.reason)
            for e in RepairOrderEvent.objects.filter(order=order).order_by("at", "id")
        ]
        assert rows == [
            ("", "reception", shop.advisor.pk, shanghai(2026, 3, 2, 9, 0), "walk-in"),
            ("reception", "waiting", shop.advisor.pk, shanghai(2026, 3, 2, 9, 10), "已批准"),
            ("waiting", "in_bay", shop.foreman.pk, shanghai(2026, 3, 2, 9, 20), ""),
            ("in_bay", "in_progress", shop.senior.pk, shanghai(2026, 3, 2, 9, 25), ""),
            ("in_progress", "waiting_parts", shop.senior.pk, shanghai(2026, 3, 2, 10, 0), "等配件"),
        ]
        order.refresh_from_db()
        assert order.work_started_at == shanghai(2026, 3, 2, 9, 25)
