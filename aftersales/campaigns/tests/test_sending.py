"""Sending: the sweep starts a campaign at its time, holds the control group out, queues one message per
treatment member (consent, frequency cap, quiet hours, the opt-out), survives a crash half-way, and never
writes to an opted-out customer."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from aftersales.campaigns import services
from aftersales.campaigns.choices import Arm, CampaignStatus, SkipReason
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.campaigns.tasks import campaigns_sweep
from aftersales.core.models import AuditEntry
from aftersales.messaging import services as messaging_services
from aftersales.messaging.choices import MessageStatus, Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.templates import MARKETING_FOOTER
from aftersales.organisation.services import settings_update

from .conftest import customer, draft, opt_out, scheduled, shanghai

pytestmark = pytest.mark.django_db


def settings(cast, **changes):
    settings_update(group=cast.group, store=cast.store_a, changes=changes, by=cast.mia)


@pytest.fixture
def crowd(cast, clock_at):
    settings(cast, campaign_control_share_percent=20)
    return [customer(cast.store_a, name=f"客{i}") for i in range(40)]


class SweepTests:
    def test_nothing_happens_before_the_time_and_everything_at_it(self, cast, crowd, clock_at):
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 10, 59)
        assert services.campaigns_sweep().as_dict() == {"started": 0, "handled": 0, "finished": 0}
        clock_at(2026, 3, 2, 11)
        result = campaigns_sweep.call_local()
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.FINISHED
        assert campaign.started_at == shanghai(2026, 3, 2, 11) and campaign.control_share_percent == 20
        members = CampaignMember.objects.filter(campaign=campaign)
        treated = members.filter(arm=Arm.TREATMENT)
        assert members.count() == 40 and result["started"] == 1 and result["handled"] == treated.count()
        assert 0 < members.filter(arm=Arm.CONTROL).count() < 20
        # Control members get nothing; each treatment member exactly one message under the campaign's key.
        assert not members.filter(arm=Arm.CONTROL, message__isnull=False).exists()
        assert not members.filter(arm=Arm.CONTROL, link_token__isnull=False).exists()
        messages = OutboxMessage.objects.filter(dedupe_key__startswith=f"campaign:{campaign.pk}:")
        assert messages.count() == treated.count()
        assert set(messages.values_list("customer_id", flat=True)) == set(treated.values_list("customer_id", flat=True))
        member = treated.first()
        assert member.message.dedupe_key == f"campaign:{campaign.pk}:{member.customer_id}"
        assert f"/c/{member.link_token}" in member.message.body
        assert "{link}" not in member.message.body
        assert member.message.body.endswith(MARKETING_FOOTER["zh-hans"])  # the opt-out: 回复TD退订
        assert member.message.purpose == Purpose.MARKETING
        # The arms are the seeded hash's: drawing again gives the same.
        from aftersales.campaigns.audience import arm_for

        assert all(
            arm_for(campaign_id=campaign.pk, customer_id=m.customer_id, control_percent=20) == m.arm for m in members
        )
        # A second sweep changes nothing.
        assert services.campaigns_sweep().as_dict() == {"started": 0, "handled": 0, "finished": 0}
        assert (
            OutboxMessage.objects.filter(dedupe_key__startswith=f"campaign:{campaign.pk}:").count() == treated.count()
        )

    def test_it_sends_in_batches_and_resumes(self, cast, crowd, clock_at):
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        first = services.campaigns_sweep(batch_size=5, max_batches=2)
        campaign.refresh_from_db()
        assert first.handled == 10 and campaign.status == CampaignStatus.SENDING
        services.campaigns_sweep(batch_size=5, max_batches=100)
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.FINISHED
        assert not CampaignMember.objects.filter(campaign=campaign, handled_at__isnull=True).exists()

    def test_a_crash_half_way_neither_loses_nor_duplicates_a_message(self, cast, crowd, clock_at, monkeypatch):
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        real = messaging_services.message_enqueue
        calls = {"n": 0}

        def dies_on_the_seventh(**kwargs):
            calls["n"] += 1
            message = real(**kwargs)  # the message row is written inside the member's transaction …
            if calls["n"] == 7:
                raise SystemExit("worker killed")  # … and the process dies before that transaction commits
            return message

        monkeypatch.setattr(services, "message_enqueue", dies_on_the_seventh)
        with pytest.raises(SystemExit):
            services.campaigns_sweep()
        assert OutboxMessage.objects.filter(dedupe_key__startswith="campaign:").count() == 6
        assert CampaignMember.objects.filter(campaign=campaign, arm=Arm.TREATMENT, message__isnull=False).count() == 6
        monkeypatch.setattr(services, "message_enqueue", real)
        services.campaigns_sweep()
        treated = CampaignMember.objects.filter(campaign=campaign, arm=Arm.TREATMENT)
        keys = list(
            OutboxMessage.objects.filter(dedupe_key__startswith="campaign:").values_list("dedupe_key", flat=True)
        )
        assert len(keys) == len(set(keys)) == treated.count()
        assert not treated.filter(message__isnull=True).exists()

    def test_a_member_whose_message_exists_is_not_sent_another(self, cast, crowd, clock_at):
        """Even if the member's mark were lost, the dedupe key returns the message already queued."""
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        services.campaigns_sweep()
        member = CampaignMember.objects.filter(campaign=campaign, arm=Arm.TREATMENT).first()
        CampaignMember.objects.filter(pk=member.pk).update(handled_at=None, message=None)
        # (still sending: a finished or cancelled campaign handles no member at all)
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
        before = OutboxMessage.objects.count()
        services.campaign_send_batch(campaign=campaign)
        member.refresh_from_db()
        assert OutboxMessage.objects.count() == before and member.message is not None

    def test_cancelling_while_sending_stops_the_rest(self, cast, crowd, clock_at):
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        services.campaigns_sweep(batch_size=5, max_batches=1)
        campaign.refresh_from_db()
        services.campaign_transition(campaign=campaign, to=CampaignStatus.CANCELLED, by=cast.mia, reason="文案有误")
        services.campaigns_sweep()
        assert OutboxMessage.objects.filter(dedupe_key__startswith="campaign:").count() == 5


class ConsentAndCapTests:
    def test_opted_out_and_never_asked_customers_get_no_marketing_message(self, cast, clock_at):
        settings(cast, campaign_control_share_percent=0)
        keen = customer(cast.store_a, name="愿意")
        never = customer(cast.store_a, name="未问", consent=None)
        refused = customer(cast.store_a, name="拒绝", consent=False)
        replied_td = customer(cast.store_a, name="退订")
        opt_out(replied_td)  # replied TD to an earlier message
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        services.campaigns_sweep()
        members = {m.customer_id: m for m in CampaignMember.objects.filter(campaign=campaign)}
        assert members[keen.pk].message is not None
        for person in (never, refused, replied_td):
            assert members[person.pk].message is None
            assert members[person.pk].skipped_reason == SkipReason.NO_MARKETING_CONSENT
            assert not OutboxMessage.objects.filter(customer=person).exists()

    def test_an_opt_out_after_queueing_stops_the_message_at_delivery(self, cast, clock_at, console_outbox):
        settings(cast, campaign_control_share_percent=0)
        person = customer(cast.store_a)
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 22))  # in quiet hours: held back
        clock_at(2026, 3, 2, 22)
        services.campaigns_sweep()
        message = CampaignMember.objects.get(campaign=campaign).message
        assert message.status == MessageStatus.PENDING
        assert message.next_attempt_at == shanghai(2026, 3, 3, 8)  # the outbox's quiet hours
        opt_out(person)
        clock_at(2026, 3, 3, 8, 1)
        messaging_services.outbox_deliver_due()
        message.refresh_from_db()
        assert message.status == MessageStatus.SUPPRESSED
        assert list(console_outbox) == []

    def test_the_frequency_cap_counts_marketing_messages_in_the_window(self, cast, clock_at):
        settings(
            cast, campaign_control_share_percent=0, campaign_frequency_cap_messages=2, campaign_frequency_cap_days=30
        )
        person = customer(cast.store_a)
        first = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11), name="一")
        second = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 12), name="二")
        third = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 13), name="三")
        fourth = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 4, 2, 13), name="四")
        for hour in (11, 12, 13):
            clock_at(2026, 3, 2, hour)
            services.campaigns_sweep()
        clock_at(2026, 4, 2, 13)
        services.campaigns_sweep()
        got = {c.name: CampaignMember.objects.get(campaign=c, customer=person) for c in (first, second, third, fourth)}
        assert got["一"].message and got["二"].message
        assert got["三"].message is None and got["三"].skipped_reason == SkipReason.FREQUENCY_CAP
        assert got["四"].message is not None  # the window has moved on

    def test_a_service_notice_is_refused_nothing_is_written(self, cast, clock_at):
        """Campaigns are marketing only (a control group is held back; consent, TD and the cap apply)."""
        with pytest.raises(ValidationError) as caught:
            scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 22), purpose="service")
        assert list(caught.value.message_dict) == ["purpose"]
        assert not Campaign.objects.exists()
        campaign = draft(cast.store_a, cast.mia)
        data = services.CampaignInput(
            name="召回", purpose="service", audience={}, text_zh="召回 {link}", text_en="Recall {link}"
        )
        with pytest.raises(ValidationError) as caught:
            services.campaign_update(campaign=campaign, data=data, by=cast.mia)
        assert list(caught.value.message_dict) == ["purpose"]
        campaign.refresh_from_db()
        assert campaign.purpose == "marketing" and campaign.name != "召回"

    def test_an_old_service_row_is_sent_as_marketing(self, cast, clock_at):
        settings(cast, campaign_control_share_percent=0)
        person = customer(cast.store_a, consent=False)
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        Campaign.objects.filter(pk=campaign.pk).update(purpose="service")  # written before the rule
        clock_at(2026, 3, 2, 11)
        services.campaigns_sweep()
        member = CampaignMember.objects.get(campaign=campaign, customer=person)
        assert member.message is None and member.skipped_reason == SkipReason.NO_MARKETING_CONSENT


class CancelTests:
    def test_a_cancel_between_two_batches_sends_nothing_more(self, cast, crowd, clock_at):
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        services.campaigns_sweep(batch_size=5, max_batches=1)
        worker_copy = Campaign.objects.get(pk=campaign.pk)  # the sweep's object: still "sending" in memory
        services.campaign_transition(
            campaign=Campaign.objects.get(pk=campaign.pk), to=CampaignStatus.CANCELLED, by=cast.mia, reason="文案有误"
        )
        assert worker_copy.status == CampaignStatus.SENDING
        assert services.campaign_send_batch(campaign=worker_copy) == 0
        assert OutboxMessage.objects.filter(dedupe_key__startswith="campaign:").count() == 5
        assert CampaignMember.objects.filter(campaign=campaign, handled_at__isnull=True).exists()

    def test_a_cancel_in_the_middle_of_a_batch_stops_it_at_the_next_member(self, cast, crowd, clock_at, monkeypatch):
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 11))
        clock_at(2026, 3, 2, 11)
        services.campaign_start(campaign=campaign)
        real = services._handle_member
        calls = {"n": 0}

        def cancelled_after_the_third(**kwargs):
            calls["n"] += 1
            done = real(**kwargs)
            if calls["n"] == 3:
                services.campaign_transition(
                    campaign=Campaign.objects.get(pk=campaign.pk), to=CampaignStatus.CANCELLED, by=cast.mia, reason="停"
                )
            return done

        monkeypatch.setattr(services, "_handle_member", cancelled_after_the_third)
        assert services.campaign_send_batch(campaign=campaign, limit=20) == 3
        assert calls["n"] == 4  # the fourth found the campaign cancelled under its lock; the batch stopped there
        assert OutboxMessage.objects.filter(dedupe_key__startswith="campaign:").count() == 3

    def test_queued_messages_of_a_cancelled_campaign_are_not_delivered(self, cast, clock_at, console_outbox):
        settings(cast, campaign_control_share_percent=0)
        people = [customer(cast.store_a, name=f"客{i}") for i in range(3)]
        campaign = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 22))  # quiet hours: held till 08:00
        other = scheduled(cast.store_a, cast.mia, at=shanghai(2026, 3, 2, 22), name="另一个")
        clock_at(2026, 3, 2, 22)
        for each in (campaign, other):  # queued, not yet finished: the campaign is still sending
            services.campaign_start(campaign=each)
            services.campaign_send_batch(campaign=each)
        queued = OutboxMessage.objects.filter(related_type="campaigns.campaign", related_id=str(campaign.pk))
        assert queued.count() == 3 and set(queued.values_list("status", flat=True)) == {MessageStatus.PENDING}
        services.campaign_transition(campaign=campaign, to=CampaignStatus.CANCELLED, by=cast.mia, reason="撤回")
        assert set(queued.values_list("status", "suppressed_reason")) == {
            (MessageStatus.SUPPRESSED, services.CAMPAIGN_CANCELLED)
        }
        entry = (
            AuditEntry.objects.filter(action="campaign.transition", object_id=str(campaign.pk)).order_by("pk").last()
        )
        assert entry.changes["withdrawn"] == 3
        clock_at(2026, 3, 3, 8, 1)
        messaging_services.outbox_deliver_due()
        sent = OutboxMessage.objects.filter(status=MessageStatus.SENT)
        assert set(sent.values_list("related_id", flat=True)) == {str(other.pk)}  # the other campaign still goes
        assert len(console_outbox) == len(people)
        assert queued.filter(status=MessageStatus.SENT).count() == 0
