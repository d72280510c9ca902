"""Walk-ins, the initial inspection, dispatch, quality checks, delivery and the efficiency warning."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aftersales.config.testing import make_customer, make_user, make_vehicle, unique_vin
from aftersales.core.exceptions import ApplicationError
from aftersales.customers.models import Customer, Vehicle
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import QualityCheck, RepairOrder

from .conftest import (
    QC_ALL_TICKED,
    approved_labour,
    frozen,
    inspect,
    open_order,
    order_in_progress,
    order_ready,
    shanghai,
    walk,
)

pytestmark = pytest.mark.django_db


class WalkInTests:
    def test_a_known_plate_finds_the_car_and_its_owner(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            order = services.walk_in_register(
                store=shop.store, by=shop.advisor, service_type="repair", plate="沪a12345", customer_words="异响"
            )
        assert (order.vehicle, order.customer) == (shop.vehicle, shop.customer)
        assert order.walk_in is True
        assert order.status == S.RECEPTION
        assert order.arrived_at == shanghai(2026, 3, 2, 9, 0)
        assert order.number == "SH01-20260302-0001"
        assert order.advisor == shop.advisor
        assert order.customer_words == "异响"

    def test_a_known_phone_finds_the_customer_and_their_car(self, shop):
        order = services.walk_in_register(store=shop.store, by=shop.advisor, service_type="repair", phone="13800138000")
        assert (order.customer, order.vehicle) == (shop.customer, shop.vehicle)
        assert Customer.objects.count() == 1

    def test_a_new_customer_needs_name_and_phone(self, shop):
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(store=shop.store, by=shop.advisor, service_type="repair", phone="13911112222")
        assert "name" in caught.value.message_dict
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(store=shop.store, by=shop.advisor, service_type="repair", plate="沪B99999")
        assert "name" in caught.value.message_dict
        assert Customer.objects.count() == 1
        assert not RepairOrder.objects.exists()

    def test_a_new_vehicle_needs_a_vin(self, shop):
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(
                store=shop.store,
                by=shop.advisor,
                service_type="repair",
                plate="沪B99999",
                name="新客",
                phone="13911112222",
            )
        assert "vin" in caught.value.message_dict
        assert Customer.objects.count() == 1  # the new customer was rolled back with the refusal
        order = services.walk_in_register(
            store=shop.store,
            by=shop.advisor,
            service_type="repair",
            plate="沪B99999",
            name="新客",
            phone="13911112222",
            vin=unique_vin(),
            brand="比亚迪",
            model_name="汉",
        )
        assert order.vehicle.plate == "沪B99999"
        assert order.customer.name == "新客"

    def test_without_plate_or_phone_it_names_the_plate(self, shop):
        with pytest.raises(ValidationError) as caught:
            services.walk_in_register(store=shop.store, by=shop.advisor, service_type="repair")
        assert "plate" in caught.value.message_dict

    def test_a_second_open_order_for_the_same_car_is_refused(self, shop):
        open_order(shop)
        with pytest.raises(ApplicationError) as caught:
            open_order(shop)
        assert caught.value.extra == {"code": "already_open"}
        assert RepairOrder.objects.count() == 1

    def test_the_priority_flag_is_copied_from_the_customer(self, shop):
        vip = make_customer(shop.store, by=shop.advisor, name="贵宾", is_priority=True)
        car = make_vehicle(vip, by=shop.advisor, plate="沪A88888")
        assert open_order(shop, vehicle=car).priority is True
        assert open_order(shop).priority is False

    def test_numbers_run_per_store_and_day(self, shop):
        other_customer = make_customer(shop.store, by=shop.advisor, name="二号")
        other = make_vehicle(other_customer, by=shop.advisor, plate="沪A22222")
        with frozen(2026, 3, 2, 23, 59):
            assert open_order(shop).number == "SH01-20260302-0001"
        with frozen(2026, 3, 3, 0, 1):  # 16:01 UTC the day before: the local day counts
            assert open_order(shop, vehicle=other).number == "SH01-20260303-0001"


class InspectionTests:
    def test_it_records_the_inspection_and_updates_the_mileage(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            order = open_order(shop)
        with frozen(2026, 3, 2, 9, 20):
            services.inspection_record(
                order=order,
                by=shop.advisor,
                mileage_in="12500",
                fuel_level=75,
                damage_marks=[{"zone": "front_bumper", "kind": "scratch", "note": "左侧"}],
                valuables_reminded=True,
                customer_words="刹车时有异响",
            )
        order.refresh_from_db()
        assert (order.mileage_in, order.fuel_level) == (12500, 75)
        assert order.damage_marks == [{"zone": "front_bumper", "kind": "scratch", "note": "左侧"}]
        assert order.inspection_done_at == shanghai(2026, 3, 2, 9, 20)
        assert order.valuables_reminded is True
        assert Vehicle.objects.get(pk=shop.vehicle.pk).mileage_km == 12500

    @pytest.mark.parametrize(("mileage", "ok"), [(11999, False), (12000, True), (12001, True)])
    def test_the_odometer_cannot_go_back(self, shop, mileage, ok):
        order = open_order(shop)
        if ok:
            inspect(shop, order, mileage=mileage)
            assert Vehicle.objects.get(pk=shop.vehicle.pk).mileage_km == mileage
        else:
            with pytest.raises(ValidationError) as caught:
                inspect(shop, order, mileage=mileage)
            assert caught.value.message_dict["mileage_in"] == [
                "The odometer cannot go back: the last reading was 12000 km."
            ]
            assert RepairOrder.objects.get(pk=order.pk).inspection_done_at is None

    @pytest.mark.parametrize(("fuel", "ok"), [(-1, False), (0, True), (100, True), (101, False), ("half", False)])
    def test_fuel_level_is_a_percentage(self, shop, fuel, ok):
        order = open_order(shop)
        if ok:
            services.inspection_record(order=order, by=shop.advisor, mileage_in=12000, fuel_level=fuel)
            assert RepairOrder.objects.get(pk=order.pk).fuel_level == fuel
        else:
            with pytest.raises(ValidationError) as caught:
                services.inspection_record(order=order, by=shop.advisor, mileage_in=12000, fuel_level=fuel)
            assert "fuel_level" in caught.value.message_dict

    @pytest.mark.parametrize(
        "marks",
        [
            [{"zone": "spoiler", "kind": "scratch"}],
            [{"zone": "roof", "kind": "graffiti"}],
            ["roof"],
            [{"zone": "roof", "kind": "dent"}] * 41,
        ],
    )
    def test_damage_marks_need_known_zones_and_kinds(self, shop, marks):
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            services.inspection_record(
                order=order, by=shop.advisor, mileage_in=12000, fuel_level=50, damage_marks=marks
            )
        assert "damage_marks" in caught.value.message_dict
        assert RepairOrder.objects.get(pk=order.pk).damage_marks == []


class AssignmentTests:
    def test_a_junior_is_refused_for_a_senior_line(self, shop):
        order = open_order(shop)
        approved_labour(shop, order, min_grade="senior")
        with pytest.raises(ValidationError) as caught:
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.junior)
        assert caught.value.message_dict["technician"] == [
            "This job needs a Senior (level 3) technician; Jun is Junior (level 5)."
        ]
        assert RepairOrder.objects.get(pk=order.pk).technician_id is None
        services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior)
        assert RepairOrder.objects.get(pk=order.pk).technician == shop.senior

    def test_an_advisor_is_not_a_technician(self, shop):
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.cast.bob)
        assert "technician" in caught.value.message_dict

    def test_an_nev_check_needs_the_high_voltage_bay(self, shop):
        order = open_order(shop, service_type="nev_check")
        with pytest.raises(ValidationError) as caught:
            services.repair_order_assign(order=order, by=shop.foreman, bay=shop.bay_1)
        assert caught.value.message_dict["bay"] == ["A NEV check needs a bay equipped for it."]
        with frozen(2026, 3, 2, 9, 5):
            services.repair_order_assign(order=order, by=shop.foreman, bay=shop.nev_bay)
        order.refresh_from_db()
        assert (order.bay, order.bay_assigned_at) == (shop.nev_bay, shanghai(2026, 3, 2, 9, 5))

    def test_a_bay_taken_by_another_car_is_refused(self, shop):
        order_in_progress(shop, bay=shop.bay_1)
        other_customer = make_customer(shop.store, by=shop.advisor, name="二号")
        other = make_vehicle(other_customer, by=shop.advisor, plate="沪A22222")
        second = open_order(shop, vehicle=other)
        with pytest.raises(ValidationError) as caught:
            services.repair_order_assign(order=second, by=shop.foreman, bay=shop.bay_1)
        assert caught.value.message_dict["bay"] == ["This bay is taken by another car."]
        services.repair_order_assign(order=second, by=shop.foreman, bay=shop.bay_2)

    def test_a_bay_of_another_store_is_refused(self, shop):
        from aftersales.organisation.models import Bay

        foreign = Bay.objects.create(store=shop.cast.store_b, code="B01", name="外店")
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            services.repair_order_assign(order=order, by=shop.foreman, bay=foreign)
        assert "bay" in caught.value.message_dict


class QualityCheckTests:
    def test_a_failure_is_counted_and_sends_the_job_back(self, shop):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        with frozen(2026, 3, 2, 11, 0):
            check = services.quality_check_record(
                order=order, by=shop.foreman, passed=False, checklist={"road_test": False}, notes="路试异响"
            )
        order.refresh_from_db()
        assert (order.status, order.qc_failures) == (S.IN_PROGRESS, 1)
        assert check.passed is False
        event = order.events.latest("id")
        assert (event.from_status, event.to_status, event.by) == (S.QC, S.IN_PROGRESS, shop.foreman)
        assert "路试异响" in event.reason
        walk(shop, order, S.QC)
        services.quality_check_record(order=order, by=shop.foreman, passed=False, checklist={}, notes="仍有异响")
        assert RepairOrder.objects.get(pk=order.pk).qc_failures == 2

    def test_a_failure_needs_notes(self, shop):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        with pytest.raises(ValidationError) as caught:
            services.quality_check_record(order=order, by=shop.foreman, passed=False, checklist={})
        assert "notes" in caught.value.message_dict
        assert not QualityCheck.objects.exists()

    def test_a_pass_needs_every_item(self, shop):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        with pytest.raises(ValidationError) as caught:
            services.quality_check_record(
                order=order, by=shop.foreman, passed=True, checklist={**QC_ALL_TICKED, "old_parts": False}
            )
        assert "checklist" in caught.value.message_dict
        assert RepairOrder.objects.get(pk=order.pk).status == S.QC
        assert not QualityCheck.objects.exists()

    def test_an_unknown_item_is_refused(self, shop):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        with pytest.raises(ValidationError):
            services.quality_check_record(
                order=order, by=shop.foreman, passed=True, checklist={**QC_ALL_TICKED, "vibes": True}
            )

    @pytest.mark.parametrize(("skip", "target"), [(False, S.WASHING), (True, S.READY)])
    def test_a_pass_goes_to_washing_or_straight_to_ready(self, shop, skip, target):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        services.quality_check_record(
            order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=skip
        )
        assert RepairOrder.objects.get(pk=order.pk).status == target

    def test_no_check_outside_qc(self, shop):
        order = order_in_progress(shop)
        with pytest.raises(ApplicationError, match="not waiting for a quality check"):
            services.quality_check_record(order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED)

    def test_failures_are_counted_even_from_an_older_copy_of_the_order(self, shop):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        older = RepairOrder.objects.get(pk=order.pk)  # e.g. the foreman's page, opened now
        services.quality_check_record(order=order, by=shop.foreman, passed=False, checklist={}, notes="一次")
        walk(shop, order, S.QC)
        services.quality_check_record(order=older, by=shop.foreman, passed=False, checklist={}, notes="两次")
        assert RepairOrder.objects.get(pk=order.pk).qc_failures == 2


class DeliveryTests:
    @pytest.fixture(autouse=True)
    def _monday_noon(self):
        with frozen(2026, 3, 2, 12, 0):
            yield

    def _deliver(self, shop, order, **overrides):
        fields = {
            "order": order,
            "by": shop.advisor,
            "explanation": "更换了前刹车片",
            "next_service_date": dt.date(2026, 9, 2),
            "next_service_km": 22500,
            "rating": 9,
        }
        return services.repair_order_deliver(**{**fields, **overrides})

    def test_delivery_bills_exactly_the_approved_lines(self, shop):
        order = order_in_progress(shop)  # 1.0 h × 300 = 300.00 approved
        estimate_line = services.estimate_line_add(
            order=order,
            by=shop.advisor,
            kind="part",
            description="刹车片",
            grade="oem",
            unit_price="420.50",
            quantity=2,
        )
        fee = services.estimate_line_add(order=order, by=shop.advisor, kind="fee", description="环保费", amount="15")
        declined = services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description="四轮定位", standard_hours="0.5"
        )
        services.estimate_send(estimate=estimate_line.estimate, by=shop.advisor)
        for line in (estimate_line, fee):
            services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)
        services.estimate_line_decide(
            line=declined, decision="declined", channel="link", by=Party.CUSTOMER, reason="下次再做"
        )
        walk(shop, order, S.QC)
        services.quality_check_record(
            order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=True
        )
        order.refresh_from_db()
        with frozen(2026, 3, 2, 17, 0):
            delivered = self._deliver(shop, order, confirm_pending_batches=True)  # the brake pads' batch is missing
        order.refresh_from_db()
        assert order.delivered_with_pending_batches
        # 300.00 + 420.50 × 2 + 15.00 = 1156.00; the declined 150.00 is not billed.
        assert order.billed_total == Decimal("1156.00") == services.bill_total(order)
        assert delivered.status == order.status == S.DELIVERED
        assert order.delivered_at == shanghai(2026, 3, 2, 17, 0)
        assert (order.rating, order.next_service_km) == (9, 22500)

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"explanation": "  "}, "explanation"),
            ({"next_service_date": dt.date(2026, 3, 2)}, "next_service_date"),
            ({"next_service_km": 12500}, "next_service_km"),
            ({"rating": 11}, "rating"),
            ({"rating": -1}, "rating"),
            ({"rating": 9.5}, "rating"),
        ],
    )
    def test_bad_delivery_values_name_the_field_and_change_nothing(self, shop, overrides, field):
        order = order_ready(shop)
        with frozen(2026, 3, 2, 17, 0), pytest.raises(ValidationError) as caught:
            self._deliver(shop, order, **overrides)
        assert field in caught.value.message_dict
        order.refresh_from_db()
        assert (order.status, order.billed_total, order.delivery_explanation) == (S.READY, None, "")

    def test_the_next_maintenance_tomorrow_is_accepted(self, shop):
        order = order_ready(shop)
        with frozen(2026, 3, 2, 23, 59):  # local today is 2 March even though UTC is still 2 March 15:59
            self._deliver(shop, order, next_service_date=dt.date(2026, 3, 3))
        assert RepairOrder.objects.get(pk=order.pk).status == S.DELIVERED

    def test_a_boolean_rating_is_refused(self, shop):
        order = order_ready(shop)
        with pytest.raises(ValidationError):
            self._deliver(shop, order, rating=True)

    def test_only_a_ready_car_is_delivered(self, shop):
        order = order_in_progress(shop)
        with pytest.raises(ApplicationError, match="Only a car that is ready"):
            self._deliver(shop, order)

    def test_pending_sent_lines_block_delivery(self, shop):
        order = order_in_progress(shop)
        extra = services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description="清洗节气门", standard_hours="0.5"
        )
        services.estimate_send(estimate=extra.estimate, by=shop.advisor)
        walk(shop, order, S.QC)
        services.quality_check_record(
            order=order, by=shop.foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=True
        )
        order.refresh_from_db()
        with pytest.raises(ValidationError) as caught:
            self._deliver(shop, order)
        assert caught.value.message_dict["estimate"] == ["Some sent lines still wait for the customer's decision."]
        assert RepairOrder.objects.get(pk=order.pk).status == S.READY


class EfficiencyTests:
    """1.0 standard hour approved, warning at more than 10 %: the limit is 66 minutes of work."""

    def _start(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            return order_in_progress(shop, hours="1.0")

    def _staff_alerts(self, order):
        return InboxItem.objects.filter(kind="efficiency_warning", related_id=str(order.pk))

    @pytest.mark.parametrize(("minutes", "warned"), [(65, False), (66, False), (67, True)])
    def test_the_warning_edge(self, shop, minutes, warned):
        order = self._start(shop)
        with frozen(2026, 3, 2, 10, minutes - 60):
            assert services.efficiency_sweep(store=shop.store) == int(warned)
        order.refresh_from_db()
        assert (order.efficiency_warned_at is not None) is warned
        assert self._staff_alerts(order).count() == int(warned)

    def test_one_message_per_foreman_and_a_second_sweep_sends_nothing(self, shop):
        second_foreman = make_user("fay", Role.FOREMAN, store=shop.store)
        order = self._start(shop)
        with frozen(2026, 3, 2, 10, 7):
            assert services.efficiency_sweep() == 1
        order.refresh_from_db()
        assert order.efficiency_warned_at == shanghai(2026, 3, 2, 10, 7)
        alerts = self._staff_alerts(order)
        assert sorted(a.recipient_id for a in alerts) == sorted([shop.foreman.pk, second_foreman.pk])
        first = alerts.first()
        assert first.text_en == f"{order.number}: work has taken 67 min against 60 min standard."
        assert first.text_zh_hans == f"{order.number}：实际作业67分钟，标准工时60分钟，已超出预警比例。"
        assert first.url == f"/service/orders/{order.pk}/"
        with frozen(2026, 3, 2, 12, 0):
            assert services.efficiency_sweep() == 0
        assert self._staff_alerts(order).count() == 2

    def test_time_waiting_for_parts_is_not_work_time(self, shop):
        order = self._start(shop)  # work from 09:00
        with frozen(2026, 3, 2, 9, 30):
            walk(shop, order, S.WAITING_PARTS)  # 30 min of work
        with frozen(2026, 3, 2, 11, 0):
            walk(shop, order, S.IN_PROGRESS)  # 90 min waiting: not counted
        with frozen(2026, 3, 2, 11, 36):  # 30 + 36 = 66 min of work
            assert services.efficiency_sweep() == 0
        with frozen(2026, 3, 2, 11, 37):  # 67 min
            assert services.efficiency_sweep() == 1

    def test_an_order_without_approved_labour_is_never_warned(self, shop):
        with frozen(2026, 3, 2, 8, 30):  # the clock never runs backwards: the arrival comes before the work
            order = open_order(shop)
            inspect(shop, order)
            part = services.estimate_line_add(
                order=order, by=shop.advisor, kind="part", description="机油", grade="oem", unit_price="300", quantity=1
            )
            services.estimate_send(estimate=part.estimate, by=shop.advisor)
            services.estimate_line_decide(line=part, decision="approved", channel="desk", by=shop.advisor)
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
        with frozen(2026, 3, 2, 9, 0):
            walk(shop, order, S.WAITING, S.IN_BAY, S.IN_PROGRESS)
        with frozen(2026, 3, 3, 9, 0):
            assert services.efficiency_sweep() == 0


class BayOccupancyTests:
    def test_two_cars_cannot_enter_the_same_bay(self, shop):
        other = make_vehicle(make_customer(shop.store, by=shop.advisor, name="二号"), by=shop.advisor, plate="沪A22222")
        first, second = open_order(shop), open_order(shop, vehicle=other)
        for order in (first, second):
            inspect(shop, order)
            approved_labour(shop, order)
            services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
            walk(shop, order, S.WAITING)
        walk(shop, first, S.IN_BAY)
        with pytest.raises((ApplicationError, ValidationError)):
            walk(shop, second, S.IN_BAY)
        assert RepairOrder.objects.filter(bay=shop.bay_1, status=S.IN_BAY).count() == 1
