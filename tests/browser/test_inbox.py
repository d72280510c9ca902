"""Every alert reaches a person, in the browser: a low follow-up score → the advisor's bell (English, phone) →
nobody records the recovery, the worker's sweep escalates it → the store manager's inbox (Chinese) → a second
window later → the group manager's inbox and home page.  Each alert also reaches the store's WeCom group robot,
played by a local HTTP server on 127.0.0.1.

The clock is the feedback loop's (10:00 today in Shanghai, ticking); the live server runs in a thread of this
process and sees it.  The sweep is the function the worker runs (`feedback_sweep`); the outbox delivers after
each commit (Huey in immediate mode) and `outbox_deliver_due` is the worker's catch-up sweep.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aftersales.feedback import services as feedback_services
from aftersales.feedback.models import RecoveryTask
from aftersales.messaging import services as messaging_services
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.notifications.tests.conftest import robot  # noqa: F401 - the stand-in WeCom robot
from aftersales.organisation.models import Store
from tests.browser.helpers import DESKTOP, PASSWORD, PHONE, log_in
from tests.browser.test_feedback_loop import loop_clock, loop_world  # noqa: F401 - the delivered order's world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The documentation's screenshots are rewritten only on request (AFTERSALES_UPDATE_DOCS_IMAGES=1), so that an
# ordinary run leaves the tree clean; otherwise they go to test-artifacts/ like every other screenshot.
ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / ("docs/images" if os.environ.get("AFTERSALES_UPDATE_DOCS_IMAGES") == "1" else "test-artifacts")
LOW = {"overall": 6, "recommend": 5, "attitude": 4, "quality": 3, "waiting": 1, "suggestions": "等了太久"}


def bell(page):
    return page.locator("#inbox-bell-count")


def deliver_due() -> None:
    """What the worker's outbox sweep does every minute (most messages went at commit already)."""
    messaging_services.outbox_deliver_due()


class InboxBrowserTests:
    def test_a_low_score_reaches_the_advisor_then_the_manager_then_the_group_and_the_robot(
        self,
        browser,
        live_server,
        loop_world,  # noqa: F811
        loop_clock,  # noqa: F811
        robot,  # noqa: F811
        screenshot,
    ):
        base, world = live_server.url, loop_world
        order, cast = world["order"], world["cast"]
        Store.objects.filter(pk=world["store"].pk).update(wecom_webhook_url=robot.url)
        cast.grace.set_password(PASSWORD)
        cast.grace.save()
        advisor_ctx = browser.new_context(locale="en-US", **PHONE)
        manager_ctx = browser.new_context(locale="zh-CN", **DESKTOP)
        group_ctx = browser.new_context(locale="zh-CN", **DESKTOP)
        try:
            # ---- 1. the worker's sweep queues the follow-up call; the agent records a low score on it
            feedback_services.feedback_sweep()
            feedback_services.survey_response_record(
                order=order, channel="follow_up_call", answers=LOW, by=world["agent"]
            )
            deliver_due()
            task = RecoveryTask.objects.get(order=order)
            assert list(InboxItem.objects.values_list("recipient__username", "kind")) == [("alice", "recovery_opened")]

            # ---- 2. the advisor's bell shows it on her phone; opening it leads to the task and marks it read
            advisor = log_in(advisor_ctx, base, "alice")
            expect(bell(advisor)).to_have_text("1")
            with advisor.expect_navigation():
                advisor.locator("#inbox-bell").click()
            item = advisor.locator("#inbox-items [data-inbox-item]")
            expect(item).to_have_count(1)
            expect(item).to_contain_text(f"Service recovery – {order.number}")
            expect(item).to_contain_text("scored 6 (below 8)")
            advisor.screenshot(path=str(DOCS_IMAGES / "inbox-en.png"), full_page=True)
            with advisor.expect_navigation():
                item.locator("a").click()
            assert advisor.url.endswith(f"/feedback/recovery/{task.pk}/")
            expect(bell(advisor)).to_have_count(0)
            assert InboxItem.objects.get(recipient=cast.alice).read_at is not None

            # The same alert reached the store's WeCom group robot (one post, the robot's text message).
            assert [post["body"]["msgtype"] for post in robot.posts] == ["text"]
            assert robot.posts[0]["body"]["text"]["content"].startswith(f"服务补救｜{order.number}\n")

            # ---- 3. nobody records an outcome: an hour later the sweep escalates to the store manager
            loop_clock.shift(dt.timedelta(minutes=61))
            feedback_services.feedback_sweep()
            deliver_due()
            manager = log_in(manager_ctx, base, "mia")
            expect(bell(manager)).to_have_text("1")
            manager.goto(f"{base}/inbox/")
            row = manager.locator("#inbox-items [data-inbox-item][data-unread]")
            expect(row).to_have_count(1)
            expect(row).to_contain_text(f"服务补救超时｜{order.number}")
            manager.screenshot(path=str(DOCS_IMAGES / "inbox-zh-Hans.png"), full_page=True)
            screenshot(manager, "inbox-manager-zh")

            # ---- 4. another window without an outcome: the group manager's inbox, task and home page count
            loop_clock.shift(dt.timedelta(minutes=60))
            feedback_services.feedback_sweep()
            deliver_due()
            group = log_in(group_ctx, base, "grace")
            expect(bell(group)).to_have_text("1")
            expect(group.locator("#voice-escalated-group")).to_have_attribute("data-count", "1")
            with group.expect_navigation():
                group.locator("#inbox-bell").click()
            with group.expect_navigation():
                group.locator("#inbox-items [data-inbox-item] a").click()
            assert group.url.endswith(f"/feedback/recovery/{task.pk}/")  # no 403 for the group manager
            expect(group.locator("#record-outcome")).to_have_count(0)  # the store desk records it
            screenshot(group, "inbox-group-recovery-zh")

            assert sorted(InboxItem.objects.values_list("recipient__username", "kind")) == [
                ("alice", "recovery_opened"),
                ("grace", "recovery_escalated"),
                ("mia", "recovery_escalated"),
            ]
            # Three alerts, three robot posts; none of the staff messages is "suppressed".
            assert len(robot.posts) == 3
            assert not OutboxMessage.objects.filter(purpose="staff", status="suppressed").exists()
            assert set(OutboxMessage.objects.filter(channel="wecom").values_list("status", flat=True)) == {"sent"}
        finally:
            for context in (advisor_ctx, manager_ctx, group_ctx):
                context.close()
