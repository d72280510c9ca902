"""The parts ledger's actions: catalogue, receipts, take-out FIFO and by batch, returns, stocktakes, safety stock
and its alert; bad input names the field and writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.core.exceptions import ApplicationError
from aftersales.notifications.models import InboxItem
from aftersales.parts import services
from aftersales.parts.choices import MovementKind
from aftersales.parts.models import Batch, Movement, Part, Stock
from aftersales.parts.tests.conftest import receive

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def stock_of(shelf, part, store=None):
    return Stock.objects.get(store=store or shelf.cast.store_a, part=part)


def test_catalogue_codes_are_unique_in_the_group_and_normalised(shelf):
    assert shelf.filter.code == "15400-RTA-003"
    with pytest.raises(ValidationError) as caught:
        services.part_save(group=shelf.cast.group, by=shelf.clerk, code=" 15400-rta-003 ", name="x", category="oem")
    assert caught.value.message_dict == {"code": ["The catalogue already has a part with this code."]}
    with pytest.raises(ValidationError) as caught:
        services.part_save(group=shelf.cast.group, by=shelf.clerk, code="", name="", category="new")
    assert set(caught.value.message_dict) == {"code", "name", "category"}
    assert Part.objects.count() == 3


def test_a_technician_and_another_groups_manager_may_not_keep_the_catalogue(shelf):
    for user in (shelf.cast.tom, shelf.cast.otto, shelf.cast.alice):
        with pytest.raises(PermissionDenied):
            services.part_save(group=shelf.cast.group, by=user, code="X1", name="x", category="oem")


def test_part_find_by_code_or_barcode(shelf):
    services.part_save(
        group=shelf.cast.group,
        by=shelf.clerk,
        code="BP-2201",
        name="前刹车片",
        category="brand",
        barcode="6901234567892",
        part=shelf.pads,
    )
    assert services.part_find(group_id=shelf.cast.group.pk, code="bp-2201") == shelf.pads
    assert services.part_find(group_id=shelf.cast.group.pk, code="6901234567892") == shelf.pads
    assert services.part_find(group_id=shelf.cast.other_group.pk, code="BP-2201") is None
    assert services.part_find(group_id=shelf.cast.group.pk, code="\x00") is None


def test_a_receipt_makes_a_batch_the_stock_and_one_movement(shelf):
    batch = receive(shelf, shelf.filter, "12", batch="L2405", on=dt.date(2026, 5, 30), warranty_months=12)
    assert (batch.quantity, batch.remaining, batch.warranty_months) == (Decimal("12"), Decimal("12"), 12)
    assert batch.receipt_number == f"GR{batch.pk:07d}"
    assert stock_of(shelf, shelf.filter).on_hand == 12
    [movement] = Movement.objects.all()
    assert (movement.kind, movement.quantity, movement.on_hand_after, movement.batch) == ("receipt", 12, 12, batch)


def test_a_bad_receipt_names_each_field_and_writes_nothing(shelf):
    with pytest.raises(ValidationError) as caught:
        receive(
            shelf,
            shelf.filter,
            "-1",
            batch="",
            on=dt.date(2026, 6, 2),
            unit_cost="abc",
            source_voucher="",
            certificate_checked=False,
            production_date=dt.date(2026, 6, 3),
            warranty_months="twelve",
        )
    assert set(caught.value.message_dict) == {
        "quantity",
        "batch_number",
        "received_on",
        "unit_cost",
        "source_voucher",
        "certificate_checked",
        "production_date",
        "warranty_months",
    }
    assert not Batch.objects.exists() and not Movement.objects.exists() and not Stock.objects.exists()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("1.005", "at most two decimals"),
        ("100000", "At most 99 999"),
        ("0", "more than zero"),
        ("NaN", "Enter a quantity"),
    ],
)
def test_quantities_are_checked(shelf, quantity, message):
    with pytest.raises(ValidationError) as caught:
        receive(shelf, shelf.filter, quantity, batch="L1", on=dt.date(2026, 5, 30))
    assert message in caught.value.message_dict["quantity"][0]


def test_a_repaired_part_needs_no_certificate_but_a_new_one_does(shelf):
    receive(shelf, shelf.gearbox, 1, batch="R-1", on=dt.date(2026, 5, 30), certificate_checked=False)
    with pytest.raises(ValidationError):
        receive(shelf, shelf.pads, 1, batch="P-1", on=dt.date(2026, 5, 30), certificate_checked=False)


def test_take_out_is_first_in_first_out_across_batches(shelf):
    old = receive(shelf, shelf.filter, 3, batch="OLD", on=dt.date(2026, 4, 1))
    new = receive(shelf, shelf.filter, 10, batch="NEW", on=dt.date(2026, 5, 1))
    taken = services.stock_take_out(
        store=shelf.cast.store_a, part=shelf.filter, quantity=Decimal(5), by=shelf.clerk, reference="RO 1"
    )
    assert [(t.batch.batch_number, t.quantity) for t in taken] == [("OLD", 3), ("NEW", 2)]
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.remaining, new.remaining) == (0, 8)
    assert stock_of(shelf, shelf.filter).on_hand == 8
    assert [m.on_hand_after for m in Movement.objects.filter(kind=MovementKind.ISSUE).order_by("id")] == [10, 8]


def test_take_out_from_a_chosen_batch_and_the_refusal_when_it_runs_short(shelf):
    receive(shelf, shelf.filter, 3, batch="OLD", on=dt.date(2026, 4, 1))
    new = receive(shelf, shelf.filter, 2, batch="NEW", on=dt.date(2026, 5, 1))
    with pytest.raises(ApplicationError) as caught:
        services.stock_take_out(
            store=shelf.cast.store_a, part=shelf.filter, quantity=Decimal(3), by=shelf.clerk, reference="RO", batch=new
        )
    assert caught.value.message == "Only 2 件 of 15400-RTA-003 in batch NEW; 3 asked for."
    assert caught.value.extra == {"field": "quantity", "available": "2.00"}
    [taken] = services.stock_take_out(
        store=shelf.cast.store_a, part=shelf.filter, quantity=Decimal(2), by=shelf.clerk, reference="RO", batch=new
    )
    assert taken.batch == new
    with pytest.raises(ApplicationError):
        services.stock_take_out(
            store=shelf.cast.store_a, part=shelf.filter, quantity=Decimal(4), by=shelf.clerk, reference="RO"
        )
    assert stock_of(shelf, shelf.filter).on_hand == 3
    assert Movement.objects.filter(kind=MovementKind.ISSUE).count() == 1


def test_a_clerk_may_not_receive_into_another_store(shelf):
    with pytest.raises(PermissionDenied):
        receive(shelf, shelf.filter, 2, batch="HZ", on=dt.date(2026, 5, 1), store=shelf.cast.store_b)
    assert not Batch.objects.exists()


def test_put_back_returns_into_its_batch(shelf):
    batch = receive(shelf, shelf.filter, 2, batch="L1", on=dt.date(2026, 5, 1))
    services.stock_take_out(
        store=shelf.cast.store_a, part=shelf.filter, quantity=Decimal(2), by=shelf.clerk, reference="RO"
    )
    services.stock_put_back(batch=batch, quantity=Decimal(1), by=shelf.clerk, reference="RO")
    batch.refresh_from_db()
    assert batch.remaining == 1 and stock_of(shelf, shelf.filter).on_hand == 1
    with pytest.raises(ValidationError):
        services.stock_put_back(batch=batch, quantity=Decimal(5), by=shelf.clerk, reference="RO")


def test_a_stocktake_books_the_difference_with_its_reason(shelf):
    batch = receive(shelf, shelf.filter, 10, batch="L1", on=dt.date(2026, 5, 1))
    assert services.stocktake_adjust(batch=batch, counted="10", reason="月度盘点", by=shelf.clerk) is None
    movement = services.stocktake_adjust(batch=batch, counted="8", reason="月度盘点：破损2件", by=shelf.clerk)
    assert (movement.kind, movement.quantity, movement.reason) == ("adjustment", -2, "月度盘点：破损2件")
    assert stock_of(shelf, shelf.filter).on_hand == 8
    with pytest.raises(ValidationError) as caught:
        services.stocktake_adjust(batch=batch, counted="-1", reason="", by=shelf.clerk)
    assert set(caught.value.message_dict) == {"counted", "reason"}
    with pytest.raises(ValidationError) as caught:
        services.stocktake_adjust(batch=batch, counted="11", reason="x", by=shelf.clerk)
    assert "receive the surplus as a new batch" in caught.value.message_dict["counted"][0]


def test_low_stock_alerts_once_per_dip_to_the_clerk_and_the_manager(shelf):
    receive(shelf, shelf.filter, 5, batch="L1", on=dt.date(2026, 5, 1))
    services.stock_settings_save(
        store=shelf.cast.store_a, part=shelf.filter, by=shelf.clerk, safety_stock="4", bin_location="A-01-3"
    )
    assert not InboxItem.objects.exists()

    def take(n):
        services.stock_take_out(
            store=shelf.cast.store_a, part=shelf.filter, quantity=Decimal(n), by=shelf.clerk, reference="RO"
        )

    take(1)  # 4 left: not below 4
    assert not InboxItem.objects.exists()
    take(1)  # 3 < 4: one alert each
    assert sorted(InboxItem.objects.values_list("recipient__username", flat=True)) == ["mia", "pia"]
    take(1)  # still the same dip: no second alert
    assert InboxItem.objects.count() == 2
    item = InboxItem.objects.get(recipient=shelf.clerk)
    assert "15400-RTA-003" in item.text_en and "3 件" in item.text_en and "below its safety stock of 4" in item.text_en
    receive(shelf, shelf.filter, 10, batch="L2", on=dt.date(2026, 5, 2))  # back above: the next dip alerts again
    take(9)
    assert InboxItem.objects.count() == 4


def test_safety_stock_bad_input(shelf):
    with pytest.raises(ValidationError) as caught:
        services.stock_settings_save(
            store=shelf.cast.store_a, part=shelf.filter, by=shelf.clerk, safety_stock="x", bin_location="y" * 21
        )
    assert set(caught.value.message_dict) == {"safety_stock", "bin_location"}
    assert not Stock.objects.exists()
