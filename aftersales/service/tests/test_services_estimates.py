"""Estimate lines and their amounts, sending, the customer's decisions line by line, alternatives and the
deferred work kept for declined lines."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aftersales.core.exceptions import ApplicationError
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.models import DeferredWork, Estimate, EstimateLine

from .conftest import frozen, open_order, set_store_setting

pytestmark = pytest.mark.django_db


def add(shop, order, **fields):
    return services.estimate_line_add(order=order, by=shop.advisor, **fields)


def labour(shop, order, hours="1.5", **extra):
    return add(shop, order, kind="labour", description="更换刹车片", standard_hours=hours, **extra)


def part(shop, order, grade="oem", price="420.00", **extra):
    return add(shop, order, kind="part", description=f"刹车片 {grade}", grade=grade, unit_price=price, **extra)


def send(shop, line):
    return services.estimate_send(estimate=line.estimate, by=shop.advisor)


def decide(line, decision, channel="link", by=Party.CUSTOMER, reason=""):
    """The customer's own decision through the link, unless a channel and the member of staff are given."""
    return services.estimate_line_decide(line=line, decision=decision, channel=channel, by=by, reason=reason)


class LineAmountTests:
    def test_labour_is_hours_times_rate(self, shop):
        line = labour(shop, open_order(shop), hours="1.5", hourly_rate="320")
        assert (line.standard_hours, line.hourly_rate, line.amount) == (
            Decimal("1.50"),
            Decimal("320.00"),
            Decimal("480.00"),
        )

    def test_labour_without_a_rate_takes_the_store_default(self, shop):
        order = open_order(shop)
        assert labour(shop, order, hours="1.5").amount == Decimal("450.00")  # 1.5 × 300 (catalogue default)
        set_store_setting(shop, default_hourly_rate=360)
        line = labour(shop, order, hours="0.25")
        assert (line.hourly_rate, line.amount) == (Decimal("360.00"), Decimal("90.00"))

    def test_a_part_is_unit_price_times_quantity(self, shop):
        line = part(shop, open_order(shop), price="199.90", quantity="4", part_number="1K0698151")
        assert (line.unit_price, line.quantity, line.amount) == (Decimal("199.90"), Decimal("4.00"), Decimal("799.60"))
        assert (line.grade, line.part_number) == ("oem", "1K0698151")

    def test_a_fee_is_its_amount(self, shop):
        line = add(shop, open_order(shop), kind="fee", description="环保处理费", amount="15")
        assert line.amount == Decimal("15.00")

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"kind": "labour", "description": "工时", "standard_hours": "abc"}, "standard_hours"),
            ({"kind": "labour", "description": "工时", "standard_hours": "0"}, "standard_hours"),
            ({"kind": "labour", "description": "工时"}, "standard_hours"),
            ({"kind": "labour", "description": "工时", "standard_hours": "1", "hourly_rate": "-1"}, "hourly_rate"),
            ({"kind": "labour", "description": "工时", "standard_hours": "1", "min_grade": "guru"}, "min_grade"),
            ({"kind": "part", "description": "件", "unit_price": "10", "grade": "fake"}, "grade"),
            ({"kind": "part", "description": "件", "unit_price": "10", "grade": "oem", "quantity": "0"}, "quantity"),
            ({"kind": "part", "description": "件", "unit_price": "NaN", "grade": "oem"}, "unit_price"),
            ({"kind": "part", "description": "件", "unit_price": "1e12", "grade": "oem"}, "unit_price"),
            ({"kind": "fee", "description": "费"}, "amount"),
            ({"kind": "fee", "description": "  ", "amount": "5"}, "description"),
            ({"kind": "gift", "description": "礼品", "amount": "5"}, "kind"),
        ],
    )
    def test_bad_values_name_the_field_and_write_nothing(self, shop, fields, field):
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            add(shop, order, **fields)
        assert field in caught.value.message_dict
        assert not EstimateLine.objects.exists()
        assert not Estimate.objects.exists()

    def test_an_alternative_must_be_a_part_of_another_grade(self, shop):
        order = open_order(shop)
        oem = part(shop, order)
        with pytest.raises(ValidationError) as caught:
            part(shop, order, grade="oem", price="300", alternative_to=oem)
        assert "grade" in caught.value.message_dict
        with pytest.raises(ValidationError) as caught:
            labour(shop, order, alternative_to=oem)
        assert "alternative_to" in caught.value.message_dict
        assert EstimateLine.objects.count() == 1


class SendTests:
    def test_send_needs_lines(self, shop):
        order = open_order(shop)
        draft = services.estimate_draft(order=order)
        with pytest.raises(ApplicationError, match="at least one line"):
            services.estimate_send(estimate=draft, by=shop.advisor)
        assert Estimate.objects.get(pk=draft.pk).status == "draft"

    def test_it_sends_once_with_a_link(self, shop):
        order = open_order(shop)
        line = labour(shop, order)
        with frozen(2026, 3, 2, 10, 0):
            estimate = send(shop, line)
        assert (estimate.status, estimate.sent_by) == ("sent", shop.advisor)
        assert estimate.sent_at.isoformat() == "2026-03-02T02:00:00+00:00"
        message = OutboxMessage.objects.get(template="estimate_ready")
        assert message.customer == shop.customer
        assert "/r/" in message.body and order.vehicle.plate in message.body
        with pytest.raises(ApplicationError, match="already been sent"):
            send(shop, line)
        assert OutboxMessage.objects.filter(template="estimate_ready").count() == 1

    def test_a_supplementary_estimate_follows_a_sent_one(self, shop):
        order = open_order(shop)
        first = labour(shop, order)
        send(shop, first)
        extra = part(shop, order)
        assert extra.estimate.number == 2
        assert extra.estimate.is_supplementary
        assert extra.estimate.status == "draft"
        again = labour(shop, order, hours="0.5")
        assert again.estimate == extra.estimate  # the draft is reused until it is sent
        send(shop, extra)
        assert OutboxMessage.objects.filter(template="estimate_ready").count() == 2

    def test_a_line_is_removed_only_from_a_draft(self, shop):
        order = open_order(shop)
        keep, gone = labour(shop, order), part(shop, order)
        services.estimate_line_remove(line=gone, by=shop.advisor)
        assert list(EstimateLine.objects.all()) == [keep]
        send(shop, keep)
        with pytest.raises(ApplicationError, match="cannot be removed"):
            services.estimate_line_remove(line=keep, by=shop.advisor)
        assert EstimateLine.objects.filter(pk=keep.pk).exists()

    def test_removing_one_of_two_alternatives_leaves_a_plain_line(self, shop):
        order = open_order(shop)
        oem = part(shop, order)
        brand = part(shop, order, grade="brand", price="260", alternative_to=oem)
        assert EstimateLine.objects.get(pk=oem.pk).choice_group == brand.choice_group == oem.pk
        services.estimate_line_remove(line=brand, by=shop.advisor)
        assert EstimateLine.objects.get(pk=oem.pk).choice_group is None


class DecisionTests:
    def test_a_draft_cannot_be_decided(self, shop):
        line = labour(shop, open_order(shop))
        with pytest.raises(ApplicationError, match="not been sent"):
            decide(line, "approved")
        assert EstimateLine.objects.get(pk=line.pk).decision == "pending"

    def test_a_line_cannot_be_decided_twice(self, shop):
        line = labour(shop, open_order(shop))
        send(shop, line)
        decide(line, "approved")
        with pytest.raises(ApplicationError) as caught:
            decide(line, "declined", reason="改主意")
        assert caught.value.extra == {"code": "already_decided"}
        assert EstimateLine.objects.get(pk=line.pk).decision == "approved"
        assert not DeferredWork.objects.exists()

    @pytest.mark.parametrize("channel", ["desk", "phone"])
    def test_desk_and_phone_decisions_need_staff(self, shop, channel):
        line = labour(shop, open_order(shop))
        send(shop, line)
        with pytest.raises(ValidationError) as caught:
            decide(line, "approved", channel=channel, by=Party.CUSTOMER)
        assert "channel" in caught.value.message_dict
        assert EstimateLine.objects.get(pk=line.pk).decision == "pending"
        decided = decide(line, "approved", channel=channel, by=shop.advisor)
        assert (decided.decision_channel, decided.decided_by) == (channel, shop.advisor)

    def test_the_decision_keeps_its_channel_and_time(self, shop):
        line = labour(shop, open_order(shop))
        send(shop, line)
        with frozen(2026, 3, 2, 10, 15):
            decided = decide(line, "approved", channel="link")
        assert (decided.decision, decided.decision_channel, decided.decided_by) == ("approved", "link", None)
        assert decided.decided_at.isoformat() == "2026-03-02T02:15:00+00:00"

    def test_all_lines_decided_makes_the_estimate_decided(self, shop):
        order = open_order(shop)
        first, second = labour(shop, order), part(shop, order)
        send(shop, first)
        decide(first, "approved")
        assert Estimate.objects.get(pk=first.estimate_id).status == "sent"
        decide(second, "declined")
        assert Estimate.objects.get(pk=first.estimate_id).status == "decided"

    def test_a_declined_line_becomes_deferred_work(self, shop):
        order = open_order(shop)
        line = labour(shop, order, hours="0.5", hourly_rate="300")
        send(shop, line)
        # 00:30 in Shanghai is still the day before in UTC: the suggested date counts from the local day.
        with frozen(2026, 3, 2, 0, 30):
            decide(line, "declined", reason="下次保养时再做")
        item = DeferredWork.objects.get()
        assert (item.vehicle, item.store, item.source_line_id) == (shop.vehicle, shop.store, line.pk)
        assert (item.description, item.amount, item.reason) == ("更换刹车片", Decimal("150.00"), "下次保养时再做")
        assert item.suggested_date == dt.date(2026, 4, 1)  # 2 March + 30 days (deferred_work_days)
        assert item.status == "open"

    def test_approving_one_alternative_declines_the_other_without_deferred_work(self, shop):
        order = open_order(shop)
        oem = part(shop, order)
        brand = part(shop, order, grade="brand", price="260.00", alternative_to=oem)
        send(shop, oem)
        from django.utils import translation

        with translation.override("zh-hans"):  # the customer decides on a Chinese page
            decide(brand, "approved")
        oem.refresh_from_db()
        # Stored language-neutral whoever decided, shown in the reader's language.
        assert (oem.decision, oem.decline_reason, oem.decision_channel) == ("declined", "another grade chosen", "link")
        with translation.override("zh-hans"):
            assert oem.decline_reason_text == "已选择其他类别配件"
        with translation.override("en"):
            assert oem.decline_reason_text == "another grade chosen"
        assert not DeferredWork.objects.exists()
        assert Estimate.objects.get(pk=oem.estimate_id).status == "decided"
        assert services.bill_total(order) == Decimal("260.00")

    def test_declining_both_alternatives_defers_the_work_once(self, shop):
        order = open_order(shop)
        oem = part(shop, order)
        brand = part(shop, order, grade="brand", price="260.00", alternative_to=oem)
        send(shop, oem)
        decide(oem, "declined", reason="太贵")
        assert not DeferredWork.objects.exists()  # the cheaper grade is still open
        decide(brand, "declined", reason="先不换")
        assert DeferredWork.objects.count() == 1
        assert DeferredWork.objects.get().reason == "先不换"

    def test_an_unknown_decision_or_channel_is_refused(self, shop):
        line = labour(shop, open_order(shop))
        send(shop, line)
        with pytest.raises(ValidationError) as caught:
            decide(line, "maybe")
        assert "decision" in caught.value.message_dict
        with pytest.raises(ValidationError) as caught:
            decide(line, "approved", channel="carrier_pigeon")
        assert "channel" in caught.value.message_dict
