"""Complaints: intake, the SLA clocks of SPEC §4 at their edges, the flow, transfers, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from aftersales.core.exceptions import ApplicationError
from aftersales.feedback import services, transitions
from aftersales.feedback.choices import ComplaintStatus as S
from aftersales.feedback.models import Complaint, ComplaintEscalation
from aftersales.feedback.selectors import complaint_clocks
from aftersales.feedback.tests.conftest import inbox, minutes
from aftersales.organisation.rules import Party
from aftersales.organisation.services import settings_update

from .conftest import shanghai

pytestmark = pytest.mark.django_db

RECEIVED = shanghai(2026, 3, 2, 9, 0)


def log(shop, *, channel="phone", received_at=RECEIVED, by=None, **extra):
    with time_machine.travel(received_at + minutes(30), tick=False):
        return services.complaint_log(
            store=shop.store,
            customer=shop.customer,
            channel=channel,
            category=extra.pop("category", "waiting"),
            priority=extra.pop("priority", "important"),
            description=extra.pop("description", "等了三个小时"),
            received_at=received_at,
            by=by or shop.cast.alice,
            **extra,
        )


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return services.complaint_escalation_sweep()


class ComplaintIntakeTests:
    def test_the_clocks_start_at_receipt_in_calendar_hours(self, shop):
        complaint = log(shop)
        assert complaint.acknowledge_due == RECEIVED + dt.timedelta(hours=2)
        assert complaint.contact_due == RECEIVED + dt.timedelta(hours=24)
        assert complaint.resolve_due == RECEIVED + dt.timedelta(hours=72)
        assert complaint.logged_at == RECEIVED + minutes(30)
        assert complaint.owner == shop.cast.alice  # 首问负责制: whoever took it owns it

    def test_a_negative_online_review_must_be_resolved_within_48_hours(self, shop):
        complaint = log(shop, channel="online_review")
        assert complaint.resolve_due == RECEIVED + dt.timedelta(hours=48)

    def test_an_old_receipt_time_is_accepted_and_the_clocks_follow_it(self, shop):
        old = shanghai(2024, 12, 31, 23, 0)
        complaint = log(shop, received_at=old)
        assert complaint.acknowledge_due == shanghai(2025, 1, 1, 1, 0)

    def test_it_refuses_a_receipt_time_in_the_future(self, shop):
        with time_machine.travel(RECEIVED, tick=False), pytest.raises(ValidationError) as caught:
            services.complaint_log(
                store=shop.store,
                customer=shop.customer,
                channel="phone",
                category="price",
                priority="general",
                description="x",
                received_at=RECEIVED + minutes(1),
                by=shop.cast.alice,
            )
        assert "received_at" in caught.value.message_dict

    def test_it_names_every_bad_field(self, shop):
        with pytest.raises(ValidationError) as caught:
            services.complaint_log(
                store=shop.store,
                customer=None,
                channel="fax",
                category="mood",
                priority="high",
                description="",
                by=shop.cast.alice,
            )
        assert set(caught.value.message_dict) == {"customer", "channel", "category", "priority", "description"}

    def test_the_clock_settings_are_read_from_the_store(self, shop):
        settings_update(
            group=shop.store.group, store=shop.store, changes={"complaint_acknowledge_hours": 1}, by=shop.cast.mia
        )
        assert log(shop).acknowledge_due == RECEIVED + dt.timedelta(hours=1)


class ComplaintFlowTests:
    @pytest.mark.parametrize("source", list(S))
    @pytest.mark.parametrize("target", list(S))
    def test_the_table_decides_every_move(self, source, target):
        assert transitions.allowed(transitions.COMPLAINT_FLOW, source, target) is (
            target in transitions.COMPLAINT_FLOW[source]
        )

    def test_a_complaint_walks_to_closed_and_can_be_reopened(self, shop):
        complaint = log(shop)
        with time_machine.travel(RECEIVED + dt.timedelta(hours=1), tick=False):
            services.complaint_acknowledge(complaint=complaint, by=shop.cast.alice)
            services.complaint_contact(complaint=complaint, by=shop.cast.alice)
            services.complaint_resolve(complaint=complaint, by=shop.cast.alice, resolution="免费补做并致歉")
            with pytest.raises(ValidationError) as caught:
                services.complaint_close(
                    complaint=complaint, by=shop.cast.alice, customer_confirmed=False, satisfaction=9
                )
            assert set(caught.value.message_dict) == {"customer_confirmed", "satisfaction"}
            services.complaint_close(complaint=complaint, by=shop.cast.alice, customer_confirmed=True, satisfaction=4)
        complaint.refresh_from_db()
        assert complaint.status == S.CLOSED
        assert complaint.customer_confirmed_at and complaint.satisfaction_with_handling == 4
        services.complaint_reopen(complaint=complaint, by=shop.cast.mia, reason="问题复发")
        complaint.refresh_from_db()
        assert complaint.status == S.ACKNOWLEDGED
        assert complaint.reopened_count == 1
        assert complaint.closed_at is None and complaint.resolved_at is None
        assert [e.to_status for e in complaint.events.all()] == [
            "new",
            "acknowledged",
            "contacted",
            "resolved",
            "closed",
            "acknowledged",
        ]

    def test_it_refuses_to_skip_a_step(self, shop):
        complaint = log(shop)
        with pytest.raises(ApplicationError):
            services.complaint_resolve(complaint=complaint, by=shop.cast.alice, resolution="x")

    def test_a_transfer_names_the_reason_and_the_new_owner_must_handle_complaints(self, shop):
        complaint = log(shop)
        with pytest.raises(ValidationError) as caught:
            services.complaint_transfer(complaint=complaint, by=shop.cast.alice, to=shop.cast.tom, reason="")
        assert set(caught.value.message_dict) == {"to", "reason"}
        with pytest.raises(ValidationError):
            services.complaint_transfer(complaint=complaint, by=shop.cast.alice, to=shop.cast.carol, reason="其他店")
        transfer = services.complaint_transfer(complaint=complaint, by=shop.cast.alice, to=shop.cast.bob, reason="轮班")
        complaint.refresh_from_db()
        assert complaint.owner == shop.cast.bob
        assert (transfer.from_owner, transfer.to_owner, transfer.reason) == (shop.cast.alice, shop.cast.bob, "轮班")

    def test_a_customer_s_own_report_belongs_to_whoever_acknowledges_it(self, shop):
        complaint = log(shop, channel="customer_page", by=Party.CUSTOMER)
        assert complaint.owner is None
        services.complaint_acknowledge(complaint=complaint, by=shop.cast.bob)
        complaint.refresh_from_db()
        assert complaint.owner == shop.cast.bob


class ComplaintClockEdgeTests:
    """Each clock one minute before, at and one minute after its due time: a step done at the due minute is
    in time, and a sweep at the due minute does not escalate."""

    @pytest.mark.parametrize(
        ("channel", "clock", "hours"),
        [
            ("phone", "acknowledge", 2),
            ("phone", "contact", 24),
            ("phone", "resolve", 72),
            ("online_review", "resolve", 48),
        ],
    )
    def test_a_clock_escalates_only_after_its_due_minute(self, shop, channel, clock, hours):
        complaint = log(shop, channel=channel)
        due = RECEIVED + dt.timedelta(hours=hours)
        if clock != "acknowledge":  # the earlier clocks were kept, so this clock is the first breach
            with time_machine.travel(RECEIVED + minutes(60), tick=False):
                services.complaint_acknowledge(complaint=complaint, by=shop.cast.alice)
                if clock == "resolve":
                    services.complaint_contact(complaint=complaint, by=shop.cast.alice)
        sweep_at(due - minutes(1))
        sweep_at(due)
        assert not ComplaintEscalation.objects.filter(complaint=complaint, clock=clock).exists()
        views = {v.clock: v for v in complaint_clocks(complaint, now=due)}
        assert views[clock].breached is False and views[clock].countdown == "0 min"
        sweep_at(due + minutes(1))
        escalation = ComplaintEscalation.objects.get(complaint=complaint, clock=clock)
        assert escalation.level == "store"
        assert [m.recipient for m in inbox("complaint_escalated")] == [shop.cast.mia]

    def test_acknowledging_at_the_due_minute_is_in_time(self, shop):
        complaint = log(shop)
        with time_machine.travel(complaint.acknowledge_due, tick=False):
            services.complaint_acknowledge(complaint=complaint, by=shop.cast.alice)
        sweep_at(complaint.acknowledge_due + minutes(1))
        assert not ComplaintEscalation.objects.filter(complaint=complaint).exists()
        complaint.refresh_from_db()
        assert complaint_clocks(complaint)[0].breached is False


class ComplaintEscalationTests:
    def test_first_breach_goes_to_the_store_manager_second_to_the_group_each_once(self, shop):
        complaint = log(shop)
        after_ack = complaint.acknowledge_due + minutes(1)
        assert sweep_at(after_ack) == 1
        assert sweep_at(after_ack + minutes(5)) == 0  # rerun: nothing new
        assert [m.recipient for m in inbox("complaint_escalated")] == [shop.cast.mia]
        after_contact = complaint.contact_due + minutes(1)
        assert sweep_at(after_contact) == 1
        assert sweep_at(after_contact) == 0
        levels = dict(ComplaintEscalation.objects.filter(complaint=complaint).values_list("clock", "level"))
        assert levels == {"acknowledge": "store", "contact": "group"}
        recipients = [m.recipient for m in inbox("complaint_escalated")]
        assert recipients == [shop.cast.mia, shop.cast.grace]  # never otto, the other group's manager
        complaint.refresh_from_db()
        assert complaint.breach_count == 2
        # The third clock is a further breach: to the group again, once.
        sweep_at(complaint.resolve_due + minutes(1))
        sweep_at(complaint.resolve_due + minutes(2))
        assert len(inbox("complaint_escalated")) == 3

    def test_a_closed_complaint_never_escalates(self, shop):
        complaint = log(shop)
        with time_machine.travel(RECEIVED + minutes(40), tick=False):
            services.complaint_acknowledge(complaint=complaint, by=shop.cast.alice)
            services.complaint_contact(complaint=complaint, by=shop.cast.alice)
            services.complaint_resolve(complaint=complaint, by=shop.cast.alice, resolution="退款")
            services.complaint_close(complaint=complaint, by=shop.cast.alice, customer_confirmed=True, satisfaction=5)
        assert sweep_at(RECEIVED + dt.timedelta(days=10)) == 0
        assert Complaint.objects.get(pk=complaint.pk).breach_count == 0
