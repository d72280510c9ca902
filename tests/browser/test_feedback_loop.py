"""The voice of the customer closed loop, end to end, as new users would do it:

a repair order is delivered → the worker's sweep puts its follow-up in the agent's queue → the agent calls
(Chinese, desktop), reaches the customer and records a survey with an overall score of 6 → a recovery task
appears for the advisor (English, phone), who records the outcome and logs a complaint from it → nobody
acknowledges it for two hours, the sweep escalates it to the store manager (an outbox alert) and the page shows
it → the advisor acknowledges, contacts, resolves and closes it with the customer's confirmation → the manager
(Chinese) opens a CAPA from the complaint.  The customer also opens the survey link from the delivered card's QR.

The clock is set to 10:00 today in Shanghai and ticks; the live server runs in a thread of this process and sees
the same clock, so moving it forward makes the complaint's clock run out for the pages too.
"""

import datetime as dt
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.customers import services as customer_services
from aftersales.feedback import services as feedback_services
from aftersales.feedback.choices import ComplaintStatus, RecoveryStatus
from aftersales.feedback.models import Capa, Complaint, ComplaintEscalation, FollowUp, RecoveryTask, SurveyResponse
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.choices import BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, OpeningHours, StaffProfile
from aftersales.service import services as service_services
from aftersales.service.choices import RepairOrderStatus as S
from tests.browser.helpers import DESKTOP, PASSWORD, PHONE, choose, log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
QC_ALL_TICKED = {
    key: True for key in ("work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts")
}
# What the agent hears on the phone: an unhappy customer (overall 6 is below the recovery threshold of 8).
LOW_SURVEY = {"overall": "6", "recommend": "5", "attitude": "4", "quality": "3", "waiting": "1"}


# --------------------------------------------------------------------------------------------- the world


@pytest.fixture
def loop_clock():
    today = dt.datetime.now(SHANGHAI).date()
    with time_machine.travel(dt.datetime.combine(today, dt.time(10, 0), tzinfo=SHANGHAI), tick=True) as traveller:
        yield traveller


@pytest.fixture
def loop_world(loop_clock, cast, settings, tmp_path):
    """Store A of the cast with an agent and a manager who log in, and a repair order delivered through the
    real services a moment ago (the customer gave survey consent at the desk)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    store = cast.store_a
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, weekday=day, opens=dt.time(8, 0), closes=dt.time(20, 0)) for day in range(7)]
    )
    bay = Bay.objects.create(store=store, code="B01", name="机修1", capabilities=[BayCapability.GENERAL])
    technician = make_user("sam", Role.TECHNICIAN, store=store)
    StaffProfile.objects.filter(user=technician).update(technician_grade=TechnicianGrade.SENIOR)
    foreman = make_user("fred", Role.FOREMAN, store=store)
    agent = make_user("ann", Role.AGENT, store=store)
    for user in (cast.alice, cast.mia, agent):
        user.set_password(PASSWORD)
        user.email = f"{user.username}@example.com"
        user.save()
    advisor = cast.alice
    customer = make_customer(store, by=advisor, name="陈晓明", phone="13912348765")
    vehicle = make_vehicle(customer, by=advisor, plate="沪AK2468", mileage_km=12000)
    customer_services.consent_set(customer=customer, purpose="surveys", granted=True, channel="desk", by=advisor)

    order = service_services.walk_in_register(store=store, by=advisor, service_type="repair", plate=vehicle.plate)
    service_services.inspection_record(order=order, by=advisor, mileage_in=12500, fuel_level=50)
    line = service_services.estimate_line_add(
        order=order, by=advisor, kind="labour", description="更换前刹车片", standard_hours="1.0"
    )
    service_services.estimate_send(estimate=line.estimate, by=advisor)
    service_services.estimate_line_decide(line=line, decision="approved", channel="desk", by=advisor)
    service_services.repair_order_assign(order=order, by=foreman, technician=technician, bay=bay)
    order = service_services.repair_order_transition(order=order, to=S.WAITING, by=advisor)  # released at reception
    for target in (S.IN_BAY, S.IN_PROGRESS, S.QC):  # the technician on his own job
        order = service_services.repair_order_transition(order=order, to=target, by=technician, reason="")
    service_services.quality_check_record(
        order=order, by=foreman, passed=True, checklist=QC_ALL_TICKED, skip_washing=True
    )
    order.refresh_from_db()
    order = service_services.repair_order_deliver(
        order=order, by=advisor, explanation="更换了前刹车片，试车正常", next_service_date=None, next_service_km=None
    )
    return {"store": store, "order": order, "customer": customer, "advisor": advisor, "agent": agent, "cast": cast}


# --------------------------------------------------------------------------------------------- helpers


def _open_menu_entry(page, text: str) -> None:
    """Open the voice-of-the-customer menu (behind the burger on a phone) and follow one entry."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
    page.locator("#nav-feedback > a").click()
    with page.expect_navigation():
        page.locator("#nav-feedback .dropdown-item", has_text=text).click()


# --------------------------------------------------------------------------------------------- the test


class FeedbackLoopBrowserTests:
    def test_low_score_to_recovery_complaint_escalation_closure_and_capa(
        self, browser, live_server, loop_world, loop_clock, screenshot
    ):
        base, world = live_server.url, loop_world
        order, store = world["order"], world["store"]
        agent_ctx = browser.new_context(locale="zh-CN", **DESKTOP)
        advisor_ctx = browser.new_context(locale="en-US", **PHONE)
        manager_ctx = browser.new_context(locale="zh-CN", **DESKTOP)
        manager_en_ctx = browser.new_context(locale="en-US", **DESKTOP)
        customer_ctx = browser.new_context(locale="zh-CN", **PHONE)
        try:
            # ---- 1. the worker's sweep puts the delivered order in the agent's queue (due 24 h after delivery)
            feedback_services.feedback_sweep()
            follow_up = FollowUp.objects.get(order=order)
            assert follow_up.due_at == order.delivered_at + dt.timedelta(hours=24)

            # ---- 2. the agent calls and records the survey: overall 6
            agent = log_in(agent_ctx, base, "ann")
            _open_menu_entry(agent, "回访电话")
            row = agent.locator(f"#follow-up-queue [data-follow-up='{follow_up.pk}']")
            expect(row).to_contain_text("陈晓明")
            screenshot(agent, "feedback-queue-zh")
            with agent.expect_navigation():
                row.locator(f"a[href$='/feedback/follow-ups/{follow_up.pk}/']").first.click()
            expect(agent.locator("#call-script")).to_contain_text("更换了前刹车片")
            choose(agent, "outcome", "reached")
            for key, value in LOW_SURVEY.items():
                choose(agent, key, value)
            agent.fill("textarea[name=suggestions]", "等了太久，也没人告诉我进度")
            screenshot(agent, "feedback-call-script-zh")
            submit(agent, agent.locator("#record-call"), "Agent records the call")
            follow_up.refresh_from_db()
            assert follow_up.status == "done" and follow_up.attempts == 1
            response = SurveyResponse.objects.get(order=order, channel="follow_up_call")
            assert response.overall == 6
            task = RecoveryTask.objects.get(response=response)
            assert task.advisor_id == world["advisor"].pk
            assert task.due_at == task.opened_at + dt.timedelta(hours=1)
            assert abs(task.opened_at - response.submitted_at) < dt.timedelta(minutes=1)

            # ---- 3. the recovery task appears for the advisor on their phone
            advisor = log_in(advisor_ctx, base, "alice")
            expect(advisor.locator("#voice-recovery .as-figure")).to_have_text("1")
            with advisor.expect_navigation():
                advisor.locator("#voice-recovery").click()
            task_row = advisor.locator(f"#recovery-open [data-recovery='{task.pk}']")
            expect(task_row).to_contain_text("陈晓明")
            screenshot(advisor, "feedback-recovery-en-phone")
            with advisor.expect_navigation():
                task_row.locator("a").first.click()
            choose(advisor, "outcome", "contacted")
            advisor.fill(
                "#recovery-form textarea[name=note], #recovery-form input[name=note]", "已致电道歉，约定明天回店检查"
            )
            recovery_url = advisor.url
            submit(advisor, advisor.locator("#record-outcome"), "Advisor records the recovery outcome")
            task.refresh_from_db()
            assert task.status == RecoveryStatus.DONE and task.outcome == "contacted"

            # ---- 4. ... and logs a complaint from it (the customer waited with no news)
            advisor.goto(recovery_url)
            with advisor.expect_navigation():
                advisor.locator("#log-complaint").click()
            form = advisor.locator("#complaint-form")
            expect(form.locator("input[name=customer]")).to_have_value(str(world["customer"].pk))
            form.locator("select[name=category]").select_option("waiting")
            form.locator("select[name=priority]").select_option("important")
            form.locator("textarea[name=description]").fill("客户等待三小时无人告知进度，要求解释")
            submit(advisor, advisor.locator("#complaint-submit"), "Advisor logs the complaint")
            complaint = Complaint.objects.get(customer=world["customer"])
            assert complaint.owner_id == world["advisor"].pk  # 首问负责制: the one who took it owns it
            assert complaint.channel == "follow_up" and complaint.order_id == order.pk
            assert complaint.acknowledge_due == complaint.received_at + dt.timedelta(hours=2)
            acknowledge = advisor.locator("#complaint-clocks [data-clock=acknowledge]")
            expect(acknowledge).to_contain_text(re.compile(r"1 h|2 h"))
            expect(acknowledge).not_to_have_attribute("data-breached", "")
            complaint_url = advisor.url

            # ---- 5. nobody acknowledges it: two hours later the sweep escalates to the store manager
            loop_clock.shift(dt.timedelta(hours=2, minutes=5))
            feedback_services.feedback_sweep()
            escalation = ComplaintEscalation.objects.get(complaint=complaint, clock="acknowledge")
            assert escalation.level == "store"
            alerts = OutboxMessage.objects.filter(template="complaint_escalated", recipient_user=world["cast"].mia)
            assert alerts.count() == 1
            feedback_services.feedback_sweep()  # a second run sends nothing twice
            assert OutboxMessage.objects.filter(template="complaint_escalated").count() == alerts.count()

            manager = log_in(manager_ctx, base, "mia")
            manager.goto(complaint_url)
            expect(manager.locator("#complaint-clocks [data-clock=acknowledge]")).to_have_attribute("data-breached", "")
            expect(manager.locator("#complaint-timeline li[data-entry=escalation]")).to_have_count(1)
            screenshot(manager, "feedback-complaint-escalated-zh")
            manager.goto(f"{base}/feedback/complaints/?show=overdue")
            expect(manager.locator(f"#complaint-list li[data-complaint='{complaint.pk}']")).to_have_count(1)

            # ---- 6. the advisor works it through and closes it with the customer's confirmation
            advisor.goto(complaint_url)
            submit(advisor, advisor.locator("form[data-action=acknowledge] button[type=submit]"), "Acknowledge")
            submit(advisor, advisor.locator("form[data-action=contact] button[type=submit]"), "Contact")
            advisor.locator("form[data-action=resolve] textarea[name=resolution]").fill(
                "向客户致歉，赠送一次免费保养；车间增加进度短信提醒"
            )
            submit(advisor, advisor.locator("form[data-action=resolve] button[type=submit]"), "Resolve")
            advisor.locator("#complaint-close-step summary").click()
            advisor.locator("#complaint-close-step input[name=customer_confirmed]").check()
            choose(advisor, "satisfaction", "4")
            screenshot(advisor, "feedback-complaint-close-en-phone")
            submit(advisor, advisor.locator("#complaint-close-confirm"), "Close with the customer's confirmation")
            complaint.refresh_from_db()
            assert complaint.status == ComplaintStatus.CLOSED
            assert complaint.satisfaction_with_handling == 4 and complaint.customer_confirmed_at is not None
            expect(advisor.locator("#complaint-header [data-status]").first).to_have_attribute("data-status", "closed")

            # ---- 7. the manager opens a CAPA from the complaint
            manager.goto(complaint_url)
            with manager.expect_navigation():
                manager.locator("#open-capa").click()
            expect(manager.locator("#capa-open-form input[name=title]")).not_to_have_value("")
            submit(manager, manager.locator("#capa-open-submit"), "Manager opens the CAPA")
            capa = Capa.objects.get(complaint=complaint)
            expect(manager.locator("#capa-status")).to_have_attribute("data-status", "open")
            expect(manager.locator("#capa-complaint-link")).to_have_count(1)
            screenshot(manager, "feedback-capa-zh")
            manager_en = log_in(manager_en_ctx, base, "mia")
            manager_en.goto(f"{base}/feedback/capa/{capa.pk}/")
            expect(manager_en.locator("#capa-steps")).to_contain_text("root cause")
            screenshot(manager_en, "feedback-capa-en")

            # ---- 8. the customer scans the QR on the delivered card: their visit was answered by phone already
            advisor.goto(f"{base}/service/orders/{order.pk}/")
            qr = advisor.locator("#survey-qr")
            expect(qr).to_be_visible()
            survey_link = advisor.locator("#survey-link").get_attribute("href")
            assert survey_link and "/feedback/survey/" in survey_link
            customer = customer_ctx.new_page()
            customer.goto(base + urlsplit(survey_link).path)  # the link carries PUBLIC_BASE_URL
            expect(customer.locator("#already-answered")).to_be_visible()
            screenshot(customer, "feedback-customer-survey-zh-phone")
            assert SurveyResponse.objects.filter(order=order).exclude(channel="delivery").count() == 1
            assert store.pk == complaint.store_id
        finally:
            for context in (agent_ctx, advisor_ctx, manager_ctx, manager_en_ctx, customer_ctx):
                context.close()
