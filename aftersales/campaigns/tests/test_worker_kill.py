"""A real job worker in a subprocess (its own data folder and SQLite database), killed with -9 while the campaign
sweep is queueing messages, then started again: every treatment member ends with exactly one message, none is
lost and none sent twice.  At the moment of the kill, messages and member marks agree (they commit together)."""

# ruff: noqa: S608 - the SQL only interpolates ids this test created
from __future__ import annotations

import signal
import time

import pytest

from aftersales.core.tests.worker_support import Sandbox, stop, wait_until

pytestmark = pytest.mark.worker

# A scheduled campaign to every customer of the first store, due now (campaigns are marketing only: members
# without consent or over the cap are handled with a skip reason and no message).
SCHEDULE = """
import datetime as dt
from aftersales.campaigns import services
from aftersales.campaigns.models import Campaign
from aftersales.core import clock
from aftersales.organisation.models import Membership, Store
store = Store.objects.order_by("id").first()
manager = Membership.objects.filter(store=store, role="manager").first().user
data = services.CampaignInput(name="kill test", purpose="marketing", audience={}, text_zh="保养关爱 {link}",
                              text_en="Care offer {link}", scheduled_at=clock.now() + dt.timedelta(hours=1))
campaign = services.campaign_create(store=store, data=data, by=manager)
services.campaign_transition(campaign=campaign, to="scheduled", by=manager)
Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=clock.now() - dt.timedelta(minutes=1))
print("campaign", campaign.pk)
"""
SWEEP_NOW = "from aftersales.campaigns.tasks import campaigns_sweep; campaigns_sweep()"
SWEEP = "aftersales.campaigns.tasks.campaigns_sweep"


class KillNineTests:
    def test_a_worker_killed_mid_campaign_loses_no_message_and_sends_none_twice(self, tmp_path):
        box = Sandbox(tmp_path)
        box.run("migrate", "-v0")
        box.run("seed", "--stores", "1", "--customers", "1500", "--months", "3", "--no-progress", timeout=180)
        campaign_id = int(box.run("shell", "-c", SCHEDULE).split("campaign", 1)[1].split()[0])
        key = f"campaign:{campaign_id}:%"

        def queued() -> int:
            return box.query(f"SELECT COUNT(*) FROM messaging_outboxmessage WHERE dedupe_key LIKE '{key}'")[0][0]

        def members(condition: str = "1 = 1") -> int:
            sql = f"SELECT COUNT(*) FROM campaigns_campaignmember WHERE campaign_id = {campaign_id} AND {condition}"
            return box.query(sql)[0][0]

        first_log = tmp_path / "worker-1.log"
        first = box.start(first_log, "worker", "--workers", "1")
        try:
            wait_until(
                lambda: "Job worker" in first_log.read_text() or "huey" in first_log.read_text().lower(),
                timeout=30,
                what="the worker to start",
            )
            box.run("shell", "-c", SWEEP_NOW)
            wait_until(lambda: queued() >= 50, timeout=60, what="the sweep to be queueing messages")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=5)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode == -signal.SIGKILL

        treated = members("arm = 'treatment'")
        at_kill = queued()
        marked = members("arm = 'treatment' AND message_id IS NOT NULL AND handled_at IS NOT NULL")
        status = box.query(f"SELECT status FROM campaigns_campaign WHERE id = {campaign_id}")[0][0]
        assert status == "sending" and 0 < at_kill < treated  # killed half-way
        assert marked == at_kill  # a message exists exactly for each member marked handled

        time.sleep(0.5)
        second_log = tmp_path / "worker-2.log"
        second = box.start(second_log, "worker", "--workers", "1")
        try:
            box.run("shell", "-c", SWEEP_NOW)
            wait_until(
                lambda: (
                    box.query(f"SELECT status FROM campaigns_campaign WHERE id = {campaign_id}")[0][0] == "finished"
                ),
                timeout=120,
                what="the campaign to finish",
            )
        finally:
            assert stop(second) == 0
        print(f"\nkill -9 evidence: {treated} treatment members; {at_kill} messages at the kill; {queued()} after")
        assert queued() == members("arm = 'treatment' AND skipped_reason = ''")  # none lost
        per_customer = box.query(
            "SELECT customer_id, COUNT(*) FROM messaging_outboxmessage "
            f"WHERE dedupe_key LIKE '{key}' GROUP BY customer_id HAVING COUNT(*) > 1"
        )
        assert per_customer == []  # none twice
        assert members("arm = 'treatment' AND message_id IS NULL AND skipped_reason = ''") == 0
        assert members("handled_at IS NULL") == 0
        assert members("arm = 'control' AND message_id IS NOT NULL") == 0
        assert "not run, unable to acquire lock" not in second_log.read_text()
