"""Every alert the product raises reaches people's inboxes: who gets which item, by hand.

Cast (store A of group 华东集团): alice and bob advisors, tom technician, mia store manager, grace group manager;
carol in store B; otto the other group's manager.  The shop adds fred the foreman and two technicians."""

from __future__ import annotations

from collections import defaultdict

import pytest
import time_machine

from aftersales.feedback import services as feedback_services
from aftersales.feedback.tests.conftest import LOW, deliver, grant_survey_consent, minutes
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.organisation.rules import Party
from aftersales.service import services as service_services

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db


def received() -> dict[str, list[str]]:
    """{username: [kind, …]} of every inbox item, oldest first."""
    by_user: dict[str, list[str]] = defaultdict(list)
    for item in InboxItem.objects.select_related("recipient").order_by("id"):
        by_user[item.recipient.username].append(item.kind)
    return dict(by_user)


class RecoveryFeedTests:
    def test_the_advisor_then_the_manager_then_the_group_manager(self, shop, agent):
        with frozen(2026, 3, 2, 10, 0):
            order = deliver(shop)
        grant_survey_consent(shop.customer, shop.advisor)
        at = shanghai(2026, 3, 3, 10, 0)
        with time_machine.travel(at, tick=False):
            response = feedback_services.survey_response_record(
                order=order, channel="follow_up_call", answers=LOW, by=agent
            )
        task = response.recovery
        assert received() == {"alice": ["recovery_opened"]}
        item = InboxItem.objects.get(recipient=shop.advisor)
        assert item.url == f"/feedback/recovery/{task.pk}/"
        assert (item.related_type, item.related_id) == ("feedback.recoverytask", str(task.pk))
        assert item.title_zh_hans == f"服务补救｜{order.number}"
        assert item.title_en == f"Service recovery – {order.number}"
        assert "scored 6 (below 8)" in item.text_en and "给出了6分（低于8分）" in item.text_zh_hans
        assert item.read_at is None and item.store == shop.store

        with time_machine.travel(at + minutes(61), tick=False):  # the hour has run out: the store manager
            feedback_services.feedback_sweep()
        assert received() == {"alice": ["recovery_opened"], "mia": ["recovery_escalated"]}
        with time_machine.travel(at + minutes(121), tick=False):  # a second window: the group
            feedback_services.feedback_sweep()
            feedback_services.feedback_sweep()  # a rerun adds nothing
        assert received() == {
            "alice": ["recovery_opened"],
            "mia": ["recovery_escalated"],
            "grace": ["recovery_escalated"],
        }
        # Nobody has an e-mail address in the cast and the store has no robot: no outbox row, none "suppressed".
        assert not OutboxMessage.objects.filter(purpose="staff").exists()


class ComplaintAndSuggestionFeedTests:
    def test_complaint_clocks_go_to_the_manager_then_the_group_in_each_language(self, shop):
        at = shanghai(2026, 3, 2, 9, 0)
        with time_machine.travel(at + minutes(30), tick=False):
            complaint = feedback_services.complaint_log(
                store=shop.store,
                customer=shop.customer,
                channel="phone",
                category="waiting",
                priority="important",
                description="等了三个小时",
                received_at=at,
                by=shop.cast.alice,
            )
        with time_machine.travel(complaint.acknowledge_due + minutes(1), tick=False):
            feedback_services.complaint_escalation_sweep()
        assert received() == {"mia": ["complaint_escalated"]}
        item = InboxItem.objects.get(recipient=shop.cast.mia)
        assert item.url == f"/feedback/complaints/{complaint.pk}/"
        # The labels are rendered in each language (they were Chinese in the English text before).
        assert "(Waiting time, Important, owner Alice)" in item.text_en
        assert "（等待时间，重要，负责人Alice）" in item.text_zh_hans
        with time_machine.travel(complaint.contact_due + minutes(1), tick=False):
            feedback_services.complaint_escalation_sweep()
        assert received() == {"mia": ["complaint_escalated"], "grace": ["complaint_escalated"]}

    def test_an_overdue_suggestion_goes_to_the_store_manager(self, shop):
        with time_machine.travel(shanghai(2026, 3, 2, 10, 5), tick=False):
            suggestion = feedback_services.suggestion_log(
                store=shop.store,
                customer=shop.customer,
                channel="customer_page",
                description="希望增加夜间取车服务",
                received_at=shanghai(2026, 3, 2, 10, 0),
                by=shop.cast.alice,
            )
        with time_machine.travel(suggestion.decision_due + minutes(1), tick=False):
            feedback_services.suggestion_escalation_sweep()
        assert received() == {"mia": ["suggestion_overdue"]}
        assert InboxItem.objects.get().url == f"/feedback/suggestions/{suggestion.pk}/"


class ServiceFeedTests:
    def _sent_estimate(self, shop):
        order = service_services.walk_in_register(
            store=shop.store, by=shop.advisor, service_type="repair", plate=shop.vehicle.plate
        )
        service_services.inspection_record(order=order, by=shop.advisor, mileage_in=12500, fuel_level=50)
        first = service_services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description="更换刹车片", standard_hours="1.0"
        )
        second = service_services.estimate_line_add(
            order=order, by=shop.advisor, kind="labour", description="四轮定位", standard_hours="0.5"
        )
        service_services.estimate_send(estimate=first.estimate, by=shop.advisor)
        return order, first, second

    def test_the_customer_s_answer_on_the_link_reaches_the_advisor_once(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            order, first, second = self._sent_estimate(shop)
            service_services.estimate_line_decide(line=first, decision="approved", channel="link", by=Party.CUSTOMER)
            assert received() == {}  # one line still open: nothing to act on yet
            service_services.estimate_line_decide(line=second, decision="declined", channel="link", by=Party.CUSTOMER)
        assert received() == {"alice": ["estimate_answered"]}
        item = InboxItem.objects.get()
        assert item.url == f"/service/orders/{order.pk}/"
        assert item.text_en.endswith("answered estimate #1 online: 1 approved, 1 declined.")
        assert item.text_zh_hans.endswith("的客户已在线答复报价#1：同意1项，拒绝1项。")

    def test_a_decision_noted_at_the_desk_alerts_nobody(self, shop):
        with frozen(2026, 3, 2, 9, 0):
            _order, first, second = self._sent_estimate(shop)
            for line in (first, second):
                service_services.estimate_line_decide(line=line, decision="approved", channel="desk", by=shop.advisor)
        assert received() == {}

    def test_work_over_standard_time_reaches_the_foremen_only(self, shop):
        from aftersales.service.tests.conftest import order_in_progress

        with frozen(2026, 3, 2, 9, 0):
            order = order_in_progress(shop, hours="1.0")
        with frozen(2026, 3, 2, 10, 7):
            service_services.efficiency_sweep(store=shop.store)
        assert received() == {"fred": ["efficiency_warning"]}
        item = InboxItem.objects.get()
        assert item.title_en == f"Over standard time – {order.number}"
        # fred has an e-mail address: his copy is queued in the outbox too (and only his).
        mail = OutboxMessage.objects.get(purpose="staff")
        assert (mail.recipient_user, mail.channel, mail.status) == (shop.foreman, "email", "pending")
        assert mail.created_at == shanghai(2026, 3, 2, 10, 7)
