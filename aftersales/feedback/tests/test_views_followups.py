"""The staff pages of follow-ups, surveys and service recovery: each renders for the role that uses it and
refuses the others, bad input is shown next to its field and writes nothing, a call is recorded through the
services (the third failed attempt closes it, a low score opens recovery), and the busy lists keep a fixed
number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.customers.models import Consent
from aftersales.feedback import services
from aftersales.feedback.models import CallAttempt, FollowUp, RecoveryTask, SurveyResponse
from aftersales.feedback.tests.conftest import GOOD, LOW, deliver, grant_survey_consent

from .conftest import frozen

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages answer in English here (the store default is Chinese), so tests can read the messages."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def follow_up(shop):
    """The shop's car delivered on Monday 10:00; the follow-up is due Tuesday 10:00."""
    with frozen(2026, 3, 2, 10, 0):
        order = deliver(shop)
    with frozen(2026, 3, 2, 10, 5):
        services.follow_up_sweep()
    return FollowUp.objects.select_related("order").get(order=order)


def _call(client, follow_up, **data):
    return client.post(reverse("feedback:follow-up-call", args=[follow_up.pk]), data)


def _written() -> tuple[int, int, int]:
    return CallAttempt.objects.count(), SurveyResponse.objects.count(), RecoveryTask.objects.count()


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --------------------------------------------------------------------------------------------- the queue


class FollowUpQueueTests:
    def test_the_agent_sees_the_call_with_its_due_time_masked_phone_and_attempts(self, client, shop, agent, follow_up):
        client.force_login(agent)
        with frozen(2026, 3, 3, 11, 0):
            response = client.get(reverse("feedback:follow-up-queue"))
        page = response.content.decode()
        assert response.status_code == 200
        assert f'data-follow-up="{follow_up.pk}"' in page
        assert "王五" in page and "138****8000" in page and "13800138000" not in page
        assert "attempts 0/3" in page
        assert "overdue 1 h 00 min" in page
        assert reverse("feedback:follow-up-call", args=[follow_up.pk]) in page

    def test_a_call_not_yet_due_shows_its_countdown(self, client, agent, follow_up):
        client.force_login(agent)
        with frozen(2026, 3, 3, 9, 30):
            page = client.get(reverse("feedback:follow-up-queue")).content.decode()
        assert "due in 30 min" in page
        assert 'id="due-now"' not in page

    def test_an_empty_queue_says_what_happens_next(self, client, shop, agent):
        client.force_login(agent)
        page = client.get(reverse("feedback:follow-up-queue")).content.decode()
        assert 'id="queue-empty"' in page

    def test_roles_without_follow_up_are_refused(self, client, shop, follow_up):
        for user in (shop.cast.alice, shop.cast.tom, shop.cast.grace):
            client.force_login(user)
            assert client.get(reverse("feedback:follow-up-queue")).status_code == 403
            assert client.get(reverse("feedback:follow-up-call", args=[follow_up.pk])).status_code == 403

    def test_the_unreachable_tab_lists_the_given_up_calls(self, client, agent, follow_up):
        for _ in range(3):
            services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="no_answer")
        client.force_login(agent)
        assert (
            f'data-follow-up="{follow_up.pk}"' not in client.get(reverse("feedback:follow-up-queue")).content.decode()
        )
        page = client.get(reverse("feedback:follow-up-queue") + "?show=unreachable").content.decode()
        assert f'data-follow-up="{follow_up.pk}"' in page

    def test_its_query_count_does_not_grow_with_the_queue(self, client, shop, agent, follow_up):
        client.force_login(agent)
        url = reverse("feedback:follow-up-queue")
        one = _count_queries(client, url)
        for _ in range(4):
            with frozen(2026, 3, 2, 11, 0):
                deliver(shop)
            with frozen(2026, 3, 2, 11, 5):
                services.follow_up_sweep()
        assert FollowUp.objects.filter(status="open").count() == 5
        five = _count_queries(client, url)
        assert one == five, "the queue must not run a query per follow-up"
        assert five <= 15


# --------------------------------------------------------------------------------------------- one call


class FollowUpCallTests:
    def test_the_script_names_the_store_the_visit_and_the_work(self, client, shop, agent, follow_up):
        client.force_login(agent)
        response = client.get(reverse("feedback:follow-up-call", args=[follow_up.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert "上海店" in page and "更换了刹车片" in page and "138****8000" in page
        assert 'id="consent-missing"' in page and 'name="consent"' in page
        assert 'name="overall"' in page and 'value="10"' in page and 'name="expect_attitude"' in page
        assert reverse("customers:customer-detail", args=[shop.customer.pk]) in page
        link = f"customer={shop.customer.pk}&amp;channel=follow_up&amp;order={follow_up.order_id}"
        assert link in page

    def test_a_missing_outcome_is_named_and_writes_nothing(self, client, agent, follow_up):
        client.force_login(agent)
        response = _call(client, follow_up, note="x")
        assert response.status_code == 400
        assert 'data-error-for="outcome"' in response.content.decode()
        assert _written() == (0, 0, 0)

    def test_an_overall_score_of_11_is_named_and_writes_nothing(self, client, shop, agent, follow_up):
        grant_survey_consent(shop.customer, shop.advisor)
        client.force_login(agent)
        response = _call(client, follow_up, outcome="reached", overall=11, recommend=9)
        assert response.status_code == 400
        assert 'data-error-for="overall"' in response.content.decode()
        assert _written() == (0, 0, 0)
        follow_up.refresh_from_db()
        assert follow_up.attempts == 0

    def test_reached_without_the_required_item_is_named_by_the_service(self, client, shop, agent, follow_up):
        grant_survey_consent(shop.customer, shop.advisor)
        client.force_login(agent)
        response = _call(client, follow_up, outcome="reached", recommend=9, attitude=5)
        page = response.content.decode()
        assert response.status_code == 400
        assert 'data-error-for="overall"' in page
        assert "attempts so far: 0/3" in page.lower()  # the rolled-back attempt is not shown as made
        assert _written() == (0, 0, 0)

    def test_reached_without_consent_asks_for_it_and_writes_nothing(self, client, shop, agent, follow_up):
        client.force_login(agent)
        response = _call(client, follow_up, outcome="reached", overall=9, recommend=9)
        assert response.status_code == 400
        assert 'data-error-for="consent"' in response.content.decode()
        assert _written() == (0, 0, 0)
        assert not Consent.objects.filter(customer=shop.customer, purpose="surveys").exists()

    def test_reached_with_consent_records_the_survey_and_the_consent(self, client, shop, agent, follow_up):
        client.force_login(agent)
        data = {**GOOD, "suggestions": "很好", "expect_attitude": 4, "outcome": "reached", "consent": "on"}
        response = _call(client, follow_up, **data)
        assert response.status_code == 302
        assert response.url == reverse("feedback:follow-up-queue")
        follow_up.refresh_from_db()
        assert follow_up.status == "done"
        response = follow_up.response
        assert (response.channel, response.overall, response.recommend) == ("follow_up_call", 9, 10)
        assert response.answers.get(item__key="attitude").expectation == 4
        assert response.answers.get(item__key="suggestions").text == "很好"
        assert Consent.objects.get(customer=shop.customer, purpose="surveys").granted
        assert not RecoveryTask.objects.exists()

    def test_a_no_answer_is_recorded_and_the_third_closes_it_as_unreachable(self, client, agent, follow_up):
        client.force_login(agent)
        response = _call(client, follow_up, outcome="no_answer", note="关机")
        assert response.status_code == 302
        follow_up.refresh_from_db()
        assert (follow_up.status, follow_up.attempts) == ("open", 1)
        assert CallAttempt.objects.get(follow_up=follow_up).note == "关机"
        page = client.get(reverse("feedback:follow-up-call", args=[follow_up.pk])).content.decode()
        assert 'data-attempt="1"' in page
        _call(client, follow_up, outcome="no_answer")
        response = _call(client, follow_up, outcome="no_answer")
        follow_up.refresh_from_db()
        assert (follow_up.status, follow_up.attempts) == ("unreachable", 3)
        messages = [str(m) for m in client.get(response.url).context["messages"]]
        assert any("could not be reached" in m for m in messages)
        # A closed follow-up shows no form, and a further POST writes nothing.
        page = client.get(reverse("feedback:follow-up-call", args=[follow_up.pk])).content.decode()
        assert 'id="call-closed"' in page and 'id="call-form"' not in page
        response = _call(client, follow_up, outcome="no_answer")
        assert response.status_code == 400 and "This follow-up is closed." in response.content.decode()
        assert CallAttempt.objects.count() == 3

    def test_a_low_score_opens_recovery_says_so_and_the_advisor_sees_it(self, client, shop, agent, follow_up):
        grant_survey_consent(shop.customer, shop.advisor)
        client.force_login(agent)
        with frozen(2026, 3, 3, 10, 30):
            response = _call(client, follow_up, outcome="reached", **LOW)
            messages = [str(m) for m in client.get(response.url).context["messages"]]
        task = RecoveryTask.objects.get()
        assert task.advisor == shop.cast.alice
        assert any("service-recovery task is open" in m and "11:30" in m for m in messages)
        client.force_login(shop.cast.alice)
        with frozen(2026, 3, 3, 10, 45):
            page = client.get(reverse("feedback:recovery-list")).content.decode()
        assert f'data-recovery="{task.pk}"' in page and "45 min" in page and "yours" in page


# ---------------------------------------------------------------------------------------------- surveys


class SurveyPagesTests:
    def _responses(self, shop, agent, follow_up):
        grant_survey_consent(shop.customer, shop.advisor)
        services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="reached", answers=LOW)
        return SurveyResponse.objects.get()

    def test_the_list_shows_channel_and_overall_and_filters_by_channel(self, client, shop, agent, follow_up):
        response = self._responses(shop, agent, follow_up)
        client.force_login(shop.cast.alice)
        page = client.get(reverse("feedback:survey-list")).content.decode()
        assert f'data-response="{response.pk}"' in page and "Follow-up call" in page
        page = client.get(reverse("feedback:survey-list") + "?channel=delivery").content.decode()
        assert f'data-response="{response.pk}"' not in page and 'id="survey-empty"' in page
        page = client.get(reverse("feedback:survey-list") + "?channel=nonsense").content.decode()
        assert f'data-response="{response.pk}"' in page

    def test_the_detail_shows_each_answer(self, client, shop, agent, follow_up):
        response = self._responses(shop, agent, follow_up)
        client.force_login(shop.cast.mia)
        page = client.get(reverse("feedback:survey-detail", args=[response.pk])).content.decode()
        assert 'data-answer="overall"' in page and 'data-answer="waiting"' in page
        assert "Waiting time" in page and "等太久了" in page
        assert reverse("feedback:recovery-detail", args=[response.recovery.pk]) in page

    def test_roles_without_feedback_are_refused(self, client, shop, agent, follow_up):
        response = self._responses(shop, agent, follow_up)
        client.force_login(shop.cast.tom)
        assert client.get(reverse("feedback:survey-list")).status_code == 403
        assert client.get(reverse("feedback:survey-detail", args=[response.pk])).status_code == 403


# ------------------------------------------------------------------------------------------------ recovery


@pytest.fixture
def task(shop, agent, follow_up):
    grant_survey_consent(shop.customer, shop.advisor)
    with frozen(2026, 3, 3, 10, 0):
        services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="reached", answers=LOW)
    return RecoveryTask.objects.get()


class RecoveryPagesTests:
    def test_an_overdue_task_is_red_and_shows_its_escalation(self, client, shop, task):
        with frozen(2026, 3, 3, 11, 10):
            services.recovery_escalation_sweep()
            client.force_login(shop.cast.mia)
            page = client.get(reverse("feedback:recovery-list")).content.decode()
        assert "list-group-item-danger" in page and "overdue 10 min" in page
        assert 'data-escalated="store"' in page

    def test_the_detail_shows_the_answers_the_customer_and_a_complaint_link(self, client, shop, task):
        client.force_login(shop.cast.alice)
        page = client.get(reverse("feedback:recovery-detail", args=[task.pk])).content.decode()
        assert 'data-answer="overall"' in page and "王五" in page and task.order.number in page
        assert f"customer={shop.customer.pk}&amp;channel=follow_up&amp;order={task.order_id}" in page
        assert 'id="recovery-form"' in page

    def test_a_missing_note_is_named_and_writes_nothing(self, client, shop, task):
        client.force_login(shop.cast.alice)
        response = client.post(reverse("feedback:recovery-detail", args=[task.pk]), {"outcome": "contacted"})
        assert response.status_code == 400
        assert 'data-error-for="note"' in response.content.decode()
        task.refresh_from_db()
        assert task.status == "open"

    def test_the_outcome_closes_the_task(self, client, shop, task):
        client.force_login(shop.cast.alice)
        with frozen(2026, 3, 3, 10, 40):
            response = client.post(
                reverse("feedback:recovery-detail", args=[task.pk]), {"outcome": "resolved", "note": "道歉并免费洗车"}
            )
        assert response.status_code == 302
        task.refresh_from_db()
        assert (task.status, task.outcome, task.in_time) == ("done", "resolved", True)
        with frozen(2026, 3, 3, 10, 45):
            page = client.get(reverse("feedback:recovery-list")).content.decode()
        assert 'id="recovery-empty"' in page and 'id="recovery-done"' in page
        response = client.post(reverse("feedback:recovery-detail", args=[task.pk]), {"outcome": "refused", "note": "x"})
        assert response.status_code == 400  # closed: the page says so, nothing changed
        assert "already has its outcome" in response.content.decode()
        task.refresh_from_db()
        assert task.outcome == "resolved"

    def test_roles_without_the_voice_of_the_customer_are_refused(self, client, shop, task):
        client.force_login(shop.cast.tom)
        assert client.get(reverse("feedback:recovery-list")).status_code == 403
        assert client.get(reverse("feedback:recovery-detail", args=[task.pk])).status_code == 403

    def test_the_group_manager_reads_the_tasks_but_records_no_outcome(self, client, shop, task):
        """Escalations reach the group manager: the list and the task open for them; the rulebook's `record`
        move is the store desk's, so the form is not offered and a post is refused."""
        client.force_login(shop.cast.grace)
        page = client.get(reverse("feedback:recovery-list")).content.decode()
        assert f'data-recovery="{task.pk}"' in page
        detail = client.get(reverse("feedback:recovery-detail", args=[task.pk]))
        assert detail.status_code == 200 and detail.context["may_record"] is False
        posted = client.post(reverse("feedback:recovery-detail", args=[task.pk]), {"outcome": "resolved", "note": "x"})
        assert posted.status_code == 403
        task.refresh_from_db()
        assert task.status == "open"

    def test_its_query_count_does_not_grow_with_the_tasks(self, client, shop, agent, task):
        client.force_login(shop.cast.mia)
        url = reverse("feedback:recovery-list")
        one = _count_queries(client, url)
        for _ in range(4):
            with frozen(2026, 3, 2, 11, 0):
                order = deliver(shop)
            services.survey_response_record(order=order, channel="delivery", answers=LOW, by=shop.advisor)
        services.recovery_record(task=task, by=shop.advisor, outcome="contacted", note="已联系")
        assert RecoveryTask.objects.count() == 5
        five = _count_queries(client, url)
        assert one == five, "the recovery list must not run a query per task"
        assert five <= 15


# --------------------------------------------------------------------------------------------- survey QR


class SurveyQrTests:
    def test_a_delivered_order_answers_an_svg_of_its_survey_link(self, client, shop, follow_up):
        client.force_login(shop.cast.alice)
        response = client.get(reverse("feedback:order-survey-qr", args=[follow_up.order_id]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        assert b"<svg" in response.content
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]

    def test_the_delivered_order_page_shows_the_code_and_the_link(self, client, shop, follow_up):
        client.force_login(shop.cast.alice)
        page = client.get(reverse("service:order-detail", args=[follow_up.order_id])).content.decode()
        assert reverse("feedback:order-survey-qr", args=[follow_up.order_id]) in page
        assert "Scan to rate your visit" in page and "/feedback/survey/" in page

    def test_an_order_not_delivered_has_no_code(self, client, shop):
        from aftersales.service.tests.conftest import order_ready

        order = order_ready(shop)
        client.force_login(shop.cast.alice)
        assert client.get(reverse("feedback:order-survey-qr", args=[order.pk])).status_code == 404

    def test_a_post_is_not_allowed_and_another_stores_order_is_not_found(self, client, shop, follow_up):
        url = reverse("feedback:order-survey-qr", args=[follow_up.order_id])
        client.force_login(shop.cast.alice)
        assert client.post(url).status_code == 405
        client.force_login(shop.cast.carol)
        assert client.get(url).status_code == 404

    def test_only_roles_that_send_links_get_the_survey_link(self, client, shop, follow_up):
        """Whoever holds the survey link answers as the customer: the workshop and the group's analysts never
        see it, neither as a QR code nor on the order page."""
        url = reverse("feedback:order-survey-qr", args=[follow_up.order_id])
        page_url = reverse("service:order-detail", args=[follow_up.order_id])
        for user in (shop.cast.tom, shop.foreman, shop.cast.grace):
            client.force_login(user)
            assert client.get(url).status_code == 403, user.username
            page = client.get(page_url)
            assert page.status_code == 200, user.username
            assert "/feedback/survey/" not in page.content.decode(), user.username
        client.force_login(shop.cast.mia)
        assert client.get(url).status_code == 200
