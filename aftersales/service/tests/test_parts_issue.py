"""Parts onto order lines: the line links to the catalogue, the issue takes the oldest batch (or the chosen one)
and records it on the line, a repaired part needs the customer's agreement on that line, returns and the removed
part's disposition; every refusal writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.config.testing import make_user
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.choices import Role
from aftersales.parts import services as parts
from aftersales.parts.models import Batch, Movement, Stock
from aftersales.service import services
from aftersales.service.models import LinePartIssue
from aftersales.service.tests.conftest import frozen, inspect, open_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(shop):
    return make_user("pia", Role.PARTS_CLERK, store=shop.store)


@pytest.fixture
def pads(shop, clerk):
    part = parts.part_save(group=shop.store.group, by=clerk, code="BP-2201", name="前刹车片", category="oem")
    with frozen(2026, 2, 20, 9, 0):
        for number, day, quantity in (("OLD-01", 10, 1), ("NEW-02", 18, 6)):
            parts.goods_receive(
                store=shop.store,
                by=clerk,
                part=part,
                supplier="广汽本田配件中心",
                received_on=dt.date(2026, 2, day),
                unit_cost="120",
                quantity=quantity,
                batch_number=number,
                source_voucher=f"INV-{number}",
                certificate_checked=True,
                production_date=dt.date(2026, 1, 5),
                warranty_months=24,
                manufacturer="Akebono",
            )
    return part


def approved_part_line(shop, order, code="BP-2201", quantity="2", grade=""):
    line = services.estimate_line_add(
        order=order,
        by=shop.advisor,
        kind="part",
        description="前刹车片",
        part_number=code,
        grade=grade,
        unit_price="380",
        quantity=quantity,
    )
    services.estimate_send(estimate=line.estimate, by=shop.advisor)
    return services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)


@pytest.fixture
def order(shop):
    with frozen(2026, 3, 2, 9, 0):
        order = open_order(shop)
        inspect(shop, order)
        return order


def test_a_part_number_of_the_catalogue_links_the_line_and_takes_its_category(shop, pads, order):
    with frozen(2026, 3, 2, 9, 5):
        line = services.estimate_line_add(
            order=order,
            by=shop.advisor,
            kind="part",
            description="刹车片",
            part_number=" bp-2201 ",
            unit_price="380",
            quantity=2,
        )
        assert (line.part, line.part_number, line.grade) == (pads, "BP-2201", "oem")
        with pytest.raises(ValidationError) as caught:
            services.estimate_line_add(
                order=order,
                by=shop.advisor,
                kind="part",
                description="刹车片",
                part_number="BP-2201",
                grade="used",
                unit_price="380",
                quantity=2,
            )
        assert caught.value.message_dict["grade"] == ["Part BP-2201 is OEM (原厂) in the catalogue."]
        loose = services.estimate_line_add(
            order=order,
            by=shop.advisor,
            kind="part",
            description="雨刮",
            part_number="W-9",
            grade="brand",
            unit_price="80",
        )
        assert loose.part is None


def test_issue_takes_the_oldest_batch_first_and_records_the_batches_on_the_line(shop, pads, clerk, order):
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order)
        issues = services.line_part_issue(line=line, by=clerk)
    assert [(i.batch.batch_number, i.quantity) for i in issues] == [("OLD-01", 1), ("NEW-02", 1)]
    line.refresh_from_db()
    assert (line.batch_number, line.origin, line.production_date, line.warranty_months) == (
        "OLD-01, NEW-02",
        "Akebono",
        dt.date(2026, 1, 5),
        24,
    )
    assert Stock.objects.get(part=pads).on_hand == 5
    assert services.issued_quantity(line) == 2
    with pytest.raises(ApplicationError, match="came from the parts ledger"):
        services.part_trace_record(line=line, by=shop.advisor, batch_number="TYPED")
    assert [m.reference for m in Movement.objects.filter(kind="issue")] == [f"RO {order.number}"] * 2
    with pytest.raises(ValidationError) as caught:
        services.line_part_issue(line=line, by=clerk)
    assert caught.value.message_dict == {"quantity": ["This line already has all its parts."]}


def test_issue_from_a_chosen_batch_and_never_more_than_the_line_needs(shop, pads, clerk, order):
    new = Batch.objects.get(batch_number="NEW-02")
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order, quantity="3")
        with pytest.raises(ValidationError) as caught:
            services.line_part_issue(line=line, by=clerk, quantity="4")
        assert caught.value.message_dict == {"quantity": ["The line needs 3 more; issue at most that."]}
        [issue] = services.line_part_issue(line=line, by=clerk, quantity="2", batch=new)
    assert (issue.batch, issue.quantity) == (new, 2)
    assert Batch.objects.get(batch_number="OLD-01").remaining == 1


def test_the_issue_is_refused_when_stock_runs_short_and_nothing_is_written(shop, pads, clerk, order):
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order, quantity="8")
        with pytest.raises(ApplicationError) as caught:
            services.line_part_issue(line=line, by=clerk)
    assert caught.value.message == "Only 7 件 of BP-2201 in stock; 8 asked for."
    assert not LinePartIssue.objects.exists()
    assert Movement.objects.filter(kind="issue").count() == 0
    assert Stock.objects.get(part=pads).on_hand == 7
    line.refresh_from_db()
    assert line.batch_number == ""


def test_only_approved_catalogue_lines_and_only_the_parts_people(shop, pads, clerk, order):
    with frozen(2026, 3, 2, 9, 10):
        line = services.estimate_line_add(
            order=order, by=shop.advisor, kind="part", description="刹车片", part_number="BP-2201", unit_price="380"
        )
        with pytest.raises(ApplicationError, match="Only an approved part is fitted"):
            services.line_part_issue(line=line, by=clerk)
        services.estimate_send(estimate=line.estimate, by=shop.advisor)
        services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)
        for outsider in (shop.advisor, shop.senior, shop.cast.carol):
            with pytest.raises(PermissionDenied):
                services.line_part_issue(line=line, by=outsider)
        assert services.line_part_issue(line=line, by=shop.cast.mia)  # the store manager may
    assert LinePartIssue.objects.count() == 1


def test_a_repaired_part_only_when_the_customer_agreed_to_a_repaired_part(shop, clerk, order):
    with frozen(2026, 2, 20, 9, 0):
        gearbox = parts.part_save(group=shop.store.group, by=clerk, code="GB-R", name="变速箱总成", category="repaired")
        parts.goods_receive(
            store=shop.store,
            by=clerk,
            part=gearbox,
            supplier="再制造中心",
            received_on=dt.date(2026, 2, 20),
            unit_cost="5000",
            quantity=1,
            batch_number="R-1",
            source_voucher="INV-R1",
            certificate_checked=False,
        )
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order, code="GB-R", quantity="1")
        assert line.grade == "repaired"  # the customer approved a line that says 修复
        [issue] = services.line_part_issue(line=line, by=clerk)
        assert issue.batch.batch_number == "R-1"
        # A line approved as another category (written before the part was in the catalogue) is refused.
        services.line_part_return(line=line, by=clerk, batch=issue.batch, quantity="1")
        line.grade = "oem"
        line.save(update_fields=["grade"])
        with pytest.raises(ApplicationError) as caught:
            services.line_part_issue(line=line, by=clerk)
    assert caught.value.message == "The customer has not agreed to a Repaired (修复) part on this line."


def test_return_puts_the_part_back_into_its_batch(shop, pads, clerk, order):
    old = Batch.objects.get(batch_number="OLD-01")
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order)
        services.line_part_issue(line=line, by=clerk)
        with pytest.raises(ValidationError) as caught:
            services.line_part_return(line=line, by=clerk, batch=old, quantity="2")
        assert caught.value.message_dict == {"quantity": ["The line holds 1 of this batch; return at most that."]}
        services.line_part_return(line=line, by=clerk, batch=old, quantity="1")
    line.refresh_from_db()
    old.refresh_from_db()
    assert (old.remaining, line.batch_number, services.issued_quantity(line)) == (1, "NEW-02", 1)
    assert Stock.objects.get(part=pads).on_hand == 6


def test_the_api_shape_finds_the_line_by_part_code(shop, pads, clerk, order):
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order)
        with pytest.raises(ValidationError) as caught:
            services.order_part_issue(order=order, by=clerk, part_code="NOPE", quantity=1)
        assert caught.value.message_dict == {"part": ["No part with this code in the catalogue."]}
        with pytest.raises(ValidationError) as caught:
            services.order_part_issue(order=order, by=clerk, part_code="BP-2201", quantity=1, batch_number="X")
        assert caught.value.message_dict == {"batch": ["No batch with this number of this part in stock."]}
        [issue] = services.order_part_issue(
            order=order, by=clerk, part_code="bp-2201", quantity=1, batch_number="NEW-02"
        )
    assert (issue.line, issue.batch.batch_number) == (line, "NEW-02")


def test_the_removed_part_is_the_advisors_to_record(shop, pads, clerk, order):
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order)
        with pytest.raises(PermissionDenied):
            services.line_removed_part_record(line=line, by=clerk, disposition="returned")
        with pytest.raises(ValidationError):
            services.line_removed_part_record(line=line, by=shop.advisor, disposition="sold")
        line = services.line_removed_part_record(line=line, by=shop.advisor, disposition="waived")
    assert line.get_removed_part_display() == "Customer waived it"


def test_the_bill_shows_the_issued_batch(shop, pads, clerk, order):
    with frozen(2026, 3, 2, 9, 10):
        line = approved_part_line(shop, order)
        services.line_part_issue(line=line, by=clerk)
    assert services.bill_total(order) == Decimal("760.00")
    line.refresh_from_db()
    assert line.batch_number == "OLD-01, NEW-02"  # the bill and the customer's page print these fields


def test_a_labour_line_can_be_flagged_high_voltage_through_the_service_and_the_api(shop, order, client, api_token):
    with frozen(2026, 3, 2, 9, 10):
        line = services.estimate_line_add(
            order=order,
            by=shop.advisor,
            kind="labour",
            description="动力电池检修",
            standard_hours="2",
            high_voltage=True,
        )
        assert line.high_voltage is True
        body = {"kind": "labour", "description": "高压线束检查", "standard_hours": "1", "high_voltage": True}
        response = client.post(
            f"/api/v1/repair-orders/{order.pk}/lines",
            data=body,
            content_type="application/json",
            **api_token(shop.advisor),
        )
    assert response.status_code == 201, response.json()
    assert response.json()["high_voltage"] is True
