"""Follow-ups, surveys with consent, the survey link, and the 1-hour service-recovery clock."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from aftersales.config.testing import make_user
from aftersales.core.exceptions import ApplicationError
from aftersales.customers.models import Consent
from aftersales.feedback import selectors, services
from aftersales.feedback.models import FollowUp, RecoveryTask, SurveyResponse
from aftersales.feedback.tests.conftest import GOOD, LOW, alerts, deliver, grant_survey_consent, inbox, minutes
from aftersales.organisation.choices import Role
from aftersales.organisation.rules import Party

from .conftest import frozen, shanghai

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(shop):
    with frozen(2026, 3, 2, 10, 0):
        return deliver(shop)


class FollowUpSweepTests:
    def test_it_creates_one_follow_up_due_24_hours_after_delivery_and_is_idempotent(self, shop, delivered):
        with frozen(2026, 3, 2, 10, 5):
            assert services.follow_up_sweep() == 1
            assert services.follow_up_sweep() == 0
            call_command("feedback_sweep")
        follow_up = FollowUp.objects.get(order=delivered)
        assert follow_up.due_at == delivered.delivered_at + dt.timedelta(hours=24)
        assert len(alerts("survey_invitation")) == 1  # suppressed without survey consent, but never twice
        # the link opens in the message's language (a tampered or expired one answers in Chinese too)
        assert "?lang=zh-hans" in alerts("survey_invitation")[0].body

    def test_orders_delivered_before_the_window_are_left_alone(self, shop, delivered):
        with frozen(2026, 3, 20, 10, 0):
            assert services.follow_up_sweep() == 0

    def test_the_queue_is_store_scoped_and_oldest_due_first(self, shop, delivered, agent):
        with frozen(2026, 3, 2, 10, 5):
            services.follow_up_sweep()
        queue = list(selectors.follow_up_queue(user=agent, store_ids=frozenset({shop.store.pk})))
        assert [f.order_id for f in queue] == [delivered.pk]
        assert list(selectors.follow_up_queue(user=shop.cast.carol, store_ids=frozenset({shop.store.pk}))) == []
        with frozen(2026, 3, 3, 9, 59):
            assert (
                list(selectors.follow_up_queue(user=agent, store_ids=frozenset({shop.store.pk}), due_only=True)) == []
            )


class CallAttemptTests:
    def _follow_up(self, delivered):
        with frozen(2026, 3, 2, 10, 5):
            services.follow_up_sweep()
        return FollowUp.objects.get(order=delivered)

    def test_after_the_last_failed_attempt_it_closes_as_unreachable(self, shop, delivered, agent):
        follow_up = self._follow_up(delivered)
        for _ in range(3):
            services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="no_answer")
        follow_up.refresh_from_db()
        assert (follow_up.status, follow_up.attempts) == ("unreachable", 3)
        with pytest.raises(ApplicationError):
            services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="no_answer")

    def test_reached_records_the_survey_with_consent_given_on_the_call(self, shop, delivered, agent):
        follow_up = self._follow_up(delivered)
        with pytest.raises(ApplicationError) as caught:
            services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="reached", answers=GOOD)
        assert caught.value.extra["code"] == "no_survey_consent"
        follow_up.refresh_from_db()
        assert follow_up.attempts == 0  # nothing was written
        services.follow_up_attempt_record(
            follow_up=follow_up, by=agent, outcome="reached", answers=GOOD, consent_given=True
        )
        follow_up.refresh_from_db()
        assert follow_up.status == "done" and follow_up.response.channel == "follow_up_call"
        assert Consent.objects.get(customer=shop.customer, purpose="surveys").channel == "phone"
        assert not RecoveryTask.objects.exists()

    def test_reached_needs_the_answers_and_bad_answers_are_named(self, shop, delivered, agent):
        follow_up = self._follow_up(delivered)
        with pytest.raises(ValidationError) as caught:
            services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="reached")
        assert list(caught.value.message_dict) == ["answers"]
        with pytest.raises(ValidationError) as caught:
            services.follow_up_attempt_record(
                follow_up=follow_up, by=agent, outcome="reached", answers={"overall": 11, "attitude": 0, "x": 1}
            )
        assert set(caught.value.message_dict) == {"answers.overall", "answers.attitude", "answers.x"}

    def test_refused_and_wrong_number_close_it(self, shop, delivered, agent):
        follow_up = self._follow_up(delivered)
        services.follow_up_attempt_record(follow_up=follow_up, by=agent, outcome="wrong_number")
        follow_up.refresh_from_db()
        assert follow_up.status == "unreachable"


class SurveyTests:
    def test_delivery_and_follow_up_scores_are_kept_apart(self, shop, delivered):
        grant_survey_consent(shop.customer, shop.advisor)
        services.survey_response_record(order=delivered, channel="delivery", answers=GOOD, by=shop.advisor)
        services.survey_response_record(
            order=delivered, channel="customer_link", answers={"overall": 10}, by=Party.CUSTOMER
        )
        channels = dict(SurveyResponse.objects.values_list("channel", "overall"))
        assert channels == {"delivery": 9, "customer_link": 10}
        with pytest.raises(ApplicationError):
            services.survey_response_record(order=delivered, channel="delivery", answers=GOOD, by=shop.advisor)

    def test_the_delivery_survey_and_the_orders_rating_are_one_score(self, shop, delivered):
        from aftersales.service.models import RepairOrder

        grant_survey_consent(shop.customer, shop.advisor)
        assert delivered.rating is None
        services.survey_response_record(order=delivered, channel="delivery", answers=GOOD, by=shop.advisor)
        assert RepairOrder.objects.get(pk=delivered.pk).rating == 9  # set from the survey, in the same transaction

    def test_a_delivery_survey_contradicting_the_rating_names_overall_and_writes_nothing(self, shop, delivered):
        from aftersales.service.models import RepairOrder

        grant_survey_consent(shop.customer, shop.advisor)
        RepairOrder.objects.filter(pk=delivered.pk).update(rating=7)
        with pytest.raises(ValidationError) as caught:
            services.survey_response_record(order=delivered, channel="delivery", answers=GOOD, by=shop.advisor)
        assert "answers.overall" in caught.value.message_dict
        assert not SurveyResponse.objects.exists()
        assert RepairOrder.objects.get(pk=delivered.pk).rating == 7
        services.survey_response_record(
            order=delivered, channel="delivery", answers={**GOOD, "overall": 7}, by=shop.advisor
        )
        assert SurveyResponse.objects.get().overall == 7

    def test_the_link_names_the_order_and_is_revoked_with_the_order_key(self, shop, delivered):
        token = services.survey_link_token(delivered)
        assert services.order_from_survey_token(token) == delivered
        with pytest.raises(ApplicationError):
            services.order_from_survey_token(token + "x")
        delivered.link_nonce = "rotated"
        delivered.save(update_fields=["link_nonce"])
        with pytest.raises(ApplicationError):
            services.order_from_survey_token(token)

    def test_an_answer_from_the_link_closes_the_open_follow_up(self, shop, delivered):
        with frozen(2026, 3, 2, 10, 5):
            services.follow_up_sweep()
        services.survey_response_record(
            order=delivered, channel="customer_link", answers=GOOD, by=Party.CUSTOMER, consent_given=True
        )
        assert FollowUp.objects.get(order=delivered).status == "done"

    def test_the_default_instrument_has_the_items_of_the_spec(self, db):
        keys = [item.key for item in selectors.survey_items()]
        assert keys[:2] == ["overall", "recommend"] and "suggestions" in keys and len(keys) == 10


class RecoveryTests:
    def _low(self, shop, delivered, at):
        """A low score given on the follow-up call: the agent's move (the advisor answers the recovery)."""
        grant_survey_consent(shop.customer, shop.advisor)
        agent = make_user("ann", Role.AGENT, store=shop.store)
        with time_machine.travel(at, tick=False):
            return services.survey_response_record(order=delivered, channel="follow_up_call", answers=LOW, by=agent)

    def test_a_low_score_opens_a_task_for_the_advisor_due_in_one_hour(self, shop, delivered):
        at = shanghai(2026, 3, 3, 10, 0)
        response = self._low(shop, delivered, at)
        task = response.recovery
        assert (task.advisor, task.due_at) == (shop.advisor, at + dt.timedelta(hours=1))
        assert [m.recipient for m in inbox("recovery_opened")] == [shop.advisor]

    def test_a_score_at_the_threshold_opens_nothing(self, shop, delivered):
        grant_survey_consent(shop.customer, shop.advisor)
        services.survey_response_record(order=delivered, channel="delivery", answers={"overall": 8}, by=shop.advisor)
        assert not RecoveryTask.objects.exists()

    def test_the_one_hour_clock_escalates_after_its_due_minute_then_to_the_group_once(self, shop, delivered):
        at = shanghai(2026, 3, 3, 10, 0)
        task = self._low(shop, delivered, at).recovery
        due = task.due_at
        for moment in (due - minutes(1), due):
            with time_machine.travel(moment, tick=False):
                assert services.recovery_escalation_sweep() == 0
        with time_machine.travel(due + minutes(1), tick=False):
            assert services.recovery_escalation_sweep() == 1
            assert services.recovery_escalation_sweep() == 0
        assert [m.recipient for m in inbox("recovery_escalated")] == [shop.cast.mia]
        with time_machine.travel(due + minutes(60), tick=False):
            assert services.recovery_escalation_sweep() == 0
        with time_machine.travel(due + minutes(61), tick=False):
            assert services.recovery_escalation_sweep() == 1
            assert services.recovery_escalation_sweep() == 0
        assert [m.recipient for m in inbox("recovery_escalated")] == [shop.cast.mia, shop.cast.grace]

    def test_an_outcome_at_the_due_minute_is_in_time_and_stops_the_clock(self, shop, delivered):
        task = self._low(shop, delivered, shanghai(2026, 3, 3, 10, 0)).recovery
        with time_machine.travel(task.due_at, tick=False):
            services.recovery_record(task=task, by=shop.advisor, outcome="resolved", note="道歉并赠送保养")
        assert task.in_time is True
        with time_machine.travel(task.due_at + minutes(5), tick=False):
            assert services.recovery_escalation_sweep() == 0
        with pytest.raises(ApplicationError):
            services.recovery_record(task=task, by=shop.advisor, outcome="refused", note="x")


class SweepTaskTests:
    def test_the_periodic_task_runs_every_sweep_and_a_rerun_changes_nothing(self, shop, delivered):
        from aftersales.feedback.tasks import feedback_sweep
        from aftersales.messaging.models import OutboxMessage

        with frozen(2026, 3, 2, 10, 5):
            first = feedback_sweep.call_local()
            messages = OutboxMessage.objects.count()
            second = feedback_sweep.call_local()
        assert first["follow_ups_created"] == 1
        assert second == dict.fromkeys(second, 0)
        assert OutboxMessage.objects.count() == messages
