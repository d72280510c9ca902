"""The care sweep: each tier's actions, once; consent, the frequency cap, and who gets the call task."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.care.choices import CareKind
from aftersales.care.models import CareAction, CareAdvisor, SuggestionRule
from aftersales.care.services import (
    care_playbook_save,
    care_sweep,
    suggestion_rule_save,
    suggestion_rules_ensure_defaults,
)
from aftersales.customers.choices import ConsentChannel, Tier
from aftersales.customers.services import consent_set
from aftersales.messaging.choices import MessageStatus, Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import SettingValue
from aftersales.reminders.services import reminder_sweep
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

from .conftest import frozen, marketing_of, person, shanghai, tiers, visits

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)
K = CareKind


def _kinds(customer) -> list[str]:
    return sorted(CareAction.objects.filter(customer=customer).values_list("kind", flat=True))


def _d_customer(shop, *, marketing=True, advisor=None, name="赵六"):
    customer, car = person(shop, marketing=marketing, name=name)
    visits(car, [dt.date(2025, 11, 1)], km=[30_000], advisor=advisor)
    return customer, car


class TierDTests:
    def test_recall_and_call_task_then_the_win_back_offer_each_once(self, shop, console_outbox):
        bob = shop.cast.bob
        customer, _car = _d_customer(shop, advisor=bob)
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            customer.refresh_from_db()
            assert customer.tier == Tier.D
            first = care_sweep()
            again = care_sweep()
        assert _kinds(customer) == [K.D_CALL, K.D_RECALL]
        assert (first.messages, first.tasks) == (1, 1)
        assert (again.messages, again.tasks) == (0, 0)
        [recall] = marketing_of(customer)
        assert recall.template == "care_d_recall" and recall.body.endswith("回复TD退订")
        # The call task is in the inbox of the advisor of the customer's last visit, and recorded on the action.
        call = CareAction.objects.get(customer=customer, kind=K.D_CALL)
        assert call.assignee == bob and call.inbox_item is not None and call.inbox_item.recipient == bob
        assert InboxItem.objects.filter(kind="care_task_d_call", recipient=bob).count() == 1
        assert not InboxItem.objects.filter(kind__startswith="care_task", recipient=shop.cast.alice).exists()
        # The win-back offer follows 14 days later (the setting), once.
        with frozen(2026, 6, 14, 10):
            assert care_sweep().messages == 0
        with frozen(2026, 6, 15, 10):
            assert care_sweep().messages == 1
            assert care_sweep().messages == 0
        assert [m.template for m in marketing_of(customer)] == ["care_d_recall", "care_d_win_back"]
        assert "30%" in marketing_of(customer)[1].body

    def test_no_win_back_offer_for_a_customer_who_came_back_after_the_recall(self, shop):
        customer, car = _d_customer(shop)
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
        RepairOrder.objects.create(
            store=shop.store,
            number="RO-BACK1",
            customer=customer,
            vehicle=car,
            service_type=ServiceType.MAINTENANCE,
            status=RepairOrderStatus.IN_PROGRESS,
            arrived_at=shanghai(2026, 6, 5, 9),
            link_nonce="t",
        )
        with frozen(2026, 6, 20, 10):
            care_sweep()
        assert _kinds(customer) == [K.D_CALL, K.D_RECALL]

    def test_the_call_task_goes_to_the_dedicated_advisor_first_else_the_managers(self, shop):
        cast = shop.cast
        with_advisor, _ = _d_customer(shop, advisor=cast.bob, name="甲")
        CareAdvisor.objects.create(
            customer=with_advisor, store=shop.store, advisor=cast.alice, assigned_at=shanghai(2026, 1, 1)
        )
        nobody, _ = _d_customer(shop, advisor=None, name="乙")
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
        assert CareAction.objects.get(customer=with_advisor, kind=K.D_CALL).inbox_item.recipient == cast.alice
        task = CareAction.objects.get(customer=nobody, kind=K.D_CALL)
        assert task.assignee == cast.mia and task.inbox_item.recipient == cast.mia

    def test_a_new_d_episode_acts_again(self, shop):
        customer, car = _d_customer(shop)
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
        visits(car, [dt.date(2026, 6, 10)], km=[31_000])
        with frozen(2027, 1, 5, 10):  # back in June, gone again since: B, then D again
            tiers(dt.date(2026, 6, 11))
            tiers(dt.date(2027, 1, 5))
            care_sweep()
        assert _kinds(customer).count(K.D_RECALL) == 2


class ConsentTests:
    def test_no_marketing_message_without_consent_but_the_call_task_says_no_offers(self, shop):
        customer, _ = _d_customer(shop, marketing=False, advisor=shop.cast.bob)
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            result = care_sweep()
        with frozen(2026, 7, 1, 10):
            care_sweep()
        assert marketing_of(customer) == []
        assert result.no_consent == 1
        assert _kinds(customer) == [K.D_CALL]
        task = CareAction.objects.get(customer=customer, kind=K.D_CALL).inbox_item
        assert task.kind == "care_task_d_call_no_offer" and "营销" in task.text_zh_hans

    def test_an_opted_out_customer_gets_nothing_by_any_path(self, shop):
        """Tiers A, B, C and D, birthday included: after "TD" nothing of marketing is queued or sent."""
        cast = shop.cast
        a, a_car = person(shop, name="甲", birthday=dt.date(1980, 6, 3))
        visits(a_car, [dt.date(2026, m, 10) for m in (3, 4, 5)] + [dt.date(2026, 5, 25)], billed=Decimal("4000"))
        b, b_car = person(shop, name="乙", purchase_date=dt.date(2022, 1, 1))
        visits(b_car, [dt.date(2025, 12, 1), dt.date(2026, 3, 1)], km=[14_000, 18_000])
        c, c_car = person(shop, name="丙")
        visits(c_car, [dt.date(2026, 5, 25)])
        d, _ = _d_customer(shop, name="丁")
        for customer in (a, b, c, d):
            consent_set(
                customer=customer, purpose="marketing", granted=False, channel=ConsentChannel.PHONE, by=cast.alice
            )
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
            reminder_sweep()
        with frozen(2026, 6, 20, 10):
            care_sweep()
        for customer in (a, b, c, d):
            sent = [m for m in marketing_of(customer) if m.status != MessageStatus.SUPPRESSED]
            assert sent == [], customer.name
        assert not CareAction.objects.filter(customer__in=[a, b, c, d], message__isnull=False).exists()


class TierATests:
    def test_dedicated_advisor_task_priority_lane_and_yearly_benefits(self, shop):
        bob = shop.cast.bob
        customer, car = person(shop)
        visits(
            car,
            [dt.date(2026, 3, 10), dt.date(2026, 4, 1), dt.date(2026, 4, 20), dt.date(2026, 5, 20)],
            advisor=bob,
            billed=Decimal("4000"),
        )
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
            care_sweep()
        customer.refresh_from_db()
        assert customer.tier == Tier.A and customer.is_priority  # the crm app's lane on entering A
        assert CareAdvisor.objects.get(customer=customer).advisor == bob
        assert _kinds(customer) == [K.A_ADVISOR, K.A_BENEFITS]
        assert InboxItem.objects.get(kind="care_task_a_advisor").recipient == bob
        [benefits] = marketing_of(customer)
        assert "2026" in benefits.subject and "bob" in benefits.body
        with frozen(2027, 1, 2, 10):  # a new year: the new package (still A as of the tiers computed then)
            tiers(dt.date(2026, 6, 1))
            care_sweep()
        assert [m.template for m in marketing_of(customer)] == ["care_a_benefits", "care_a_benefits"]
        assert _kinds(customer).count(K.A_ADVISOR) == 1

    def test_without_a_visit_advisor_the_least_loaded_advisor_is_assigned(self, shop):
        cast = shop.cast
        busy, _ = person(shop, name="忙")
        CareAdvisor.objects.create(
            customer=busy, store=shop.store, advisor=cast.alice, assigned_at=shanghai(2026, 1, 1)
        )
        customer, car = person(shop)
        visits(
            car,
            [dt.date(2026, 3, 10), dt.date(2026, 4, 1), dt.date(2026, 4, 20), dt.date(2026, 5, 20)],
            billed=Decimal("4000"),
        )
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
        assert CareAdvisor.objects.get(customer=customer).advisor == cast.bob


class TierBTests:
    def test_suggestion_from_the_projected_mileage_and_the_upgrade_offer_once(self, shop):
        customer, car = person(shop, purchase_date=dt.date(2023, 1, 1))
        visits(car, [dt.date(2025, 12, 1), dt.date(2026, 3, 1)], km=[14_000, 18_000])
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
            care_sweep()
        customer.refresh_from_db()
        assert customer.tier == Tier.B
        actions = CareAction.objects.filter(customer=customer).order_by("kind")
        assert [a.kind for a in actions] == [K.B_SUGGESTION, K.B_UPGRADE]
        suggestion = actions[0]
        assert suggestion.rule.item == "变速箱油更换" and suggestion.vehicle == car  # ≈ 22 000 km projected
        # Coolant at 24 months: the visit of March came after the car reached that age, so it was dealt with.
        assert "变速箱油更换" in suggestion.message.body and "20%" in actions[1].message.body

    def test_the_rule_table_is_editable_and_one_suggestion_per_vehicle_a_day(self, shop):
        group = shop.store.group
        customer, car = person(shop, purchase_date=dt.date(2023, 1, 1))
        visits(car, [dt.date(2025, 12, 1), dt.date(2026, 3, 1)], km=[14_000, 18_000])
        with frozen(2026, 6, 1, 9):
            suggestion_rules_ensure_defaults(group_id=group.pk)
            SuggestionRule.objects.filter(group=group).update(is_active=False)
            suggestion_rule_save(group=group, by=shop.cast.grace, item="火花塞更换", at_km=19_000)
            suggestion_rule_save(group=group, by=shop.cast.grace, item="空调滤芯更换", at_km=19_500)
            care_playbook_save(group=group, by=shop.cast.grace, b_upgrade=False)
            tiers(TODAY)
            care_sweep()
        assert [a.rule.item for a in CareAction.objects.filter(customer=customer)] == ["火花塞更换"]
        with frozen(2026, 6, 2, 10):
            care_sweep()
            care_sweep()
        items = sorted(a.rule.item for a in CareAction.objects.filter(customer=customer))
        assert items == ["火花塞更换", "空调滤芯更换"]


class TierCTests:
    def test_welcome_gift_after_the_first_maintenance_only(self, shop):
        maintained, m_car = person(shop, name="甲")
        visits(m_car, [dt.date(2026, 5, 25)])
        repaired, r_car = person(shop, name="乙")
        visits(r_car, [dt.date(2026, 5, 25)], service_type=ServiceType.REPAIR)
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
            care_sweep()
        assert _kinds(maintained) == [K.C_WELCOME]
        assert _kinds(repaired) == []
        assert "精美车载礼品" in marketing_of(maintained)[0].body


class CapAndPlaybookTests:
    def test_the_frequency_cap_holds_a_message_back_until_the_window_has_room(self, shop):
        SettingValue.objects.create(group=shop.store.group, key="campaign_frequency_cap_messages", value=1)
        customer, _ = _d_customer(shop)
        with frozen(2026, 5, 20, 10):
            earlier = OutboxMessage.objects.create(
                store=shop.store,
                customer=customer,
                channel="sms",
                purpose=Purpose.MARKETING,
                template="campaign",
                language="zh-hans",
                subject="s",
                body="b",
                recipient_encrypted="",
                status=MessageStatus.SENT,
            )
        assert earlier.pk
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            result = care_sweep()
        assert result.capped == 1 and _kinds(customer) == [K.D_CALL]
        with frozen(2026, 6, 20, 10):  # 31 days after the earlier message
            care_sweep()
        assert K.D_RECALL in _kinds(customer)

    def test_a_kind_switched_off_in_the_playbook_is_not_taken(self, shop):
        care_playbook_save(group=shop.store.group, by=shop.cast.grace, d_call=False, d_recall=False)
        customer, _ = _d_customer(shop)
        with frozen(2026, 6, 1, 10):
            tiers(TODAY)
            care_sweep()
        with frozen(2026, 6, 15, 10):
            care_sweep()
        assert _kinds(customer) == [K.D_WIN_BACK]
