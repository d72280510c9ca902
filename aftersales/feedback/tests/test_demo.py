"""The feedback demo data (`aftersales seed`): the rows are the ones the services would have written, and the
scores follow the visits (long waits and comebacks score lower)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterator
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from aftersales.config.testing import shared_rows
from aftersales.customers.models import Consent, Customer
from aftersales.feedback import services, transitions
from aftersales.feedback.choices import (
    FOLLOW_UP_CHANNELS,
    CallOutcome,
    CapaStatus,
    ComplaintClock,
    ComplaintStatus,
    EscalationLevel,
    FollowUpStatus,
    RecoveryStatus,
    SurveyChannel,
)
from aftersales.feedback.models import (
    CallAttempt,
    Capa,
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyAnswer,
    SurveyResponse,
)
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.demo import complaint_category
from aftersales.service.models import RepairOrder

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# With a fixed --today the demo's "now" is 11:00 that day (as the service demo lays out its busy day).
NOW = dt.datetime(2026, 6, 30, 11, 0, tzinfo=SHANGHAI)
ARGS = ["--stores", "2", "--customers", "300", "--months", "12", "--seed", "11", "--today", "2026-06-30"]


def seed(*extra: str) -> None:
    call_command("seed", *ARGS, "--no-progress", *extra, stdout=StringIO(), stderr=StringIO())


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The demo, seeded once for the module's tests (each test's changes are rolled back after it).  The test
    that seeds an empty database itself is in test_demo_flush.py, away from these rows."""
    with shared_rows(django_db_blocker):
        with django_db_blocker.unblock():
            seed()
        yield


@pytest.fixture
def seeded(seeded_once, db) -> Store:
    return Store.objects.order_by("id").first()


def follow_up_responses() -> list[SurveyResponse]:
    return list(SurveyResponse.objects.filter(channel__in=FOLLOW_UP_CHANNELS).select_related("order"))


class FollowUpTests:
    def test_every_delivered_order_has_one_follow_up_due_a_day_after_delivery(self, seeded):
        delivered = RepairOrder.objects.filter(status=RepairOrderStatus.DELIVERED)
        assert FollowUp.objects.count() == delivered.count() > 300
        for follow_up in FollowUp.objects.select_related("order", "store"):
            hours = int(setting_values_for_store(follow_up.store)["follow_up_due_hours"])
            assert follow_up.order.status == RepairOrderStatus.DELIVERED
            assert follow_up.store_id == follow_up.order.store_id
            assert follow_up.due_at == follow_up.order.delivered_at + dt.timedelta(hours=hours)

    def test_statuses_match_the_calls(self, seeded):
        attempts = defaultdict(list)
        for attempt in CallAttempt.objects.order_by("follow_up_id", "number"):
            attempts[attempt.follow_up_id].append(attempt)
        statuses = set()
        for follow_up in FollowUp.objects.select_related("response"):
            calls = attempts[follow_up.pk]
            statuses.add(follow_up.status)
            assert [a.number for a in calls] == list(range(1, follow_up.attempts + 1))
            assert all(a.at <= NOW for a in calls)
            assert follow_up.attempts <= 3
            last = calls[-1].outcome if calls else None
            if follow_up.status == FollowUpStatus.OPEN:
                assert follow_up.closed_at is None and follow_up.response is None
                assert last in (None, CallOutcome.NO_ANSWER) and follow_up.attempts < 3
            elif follow_up.status == FollowUpStatus.DONE:
                assert follow_up.response.channel in FOLLOW_UP_CHANNELS
                assert follow_up.response.order_id == follow_up.order_id
                assert follow_up.closed_at == follow_up.response.submitted_at <= NOW
                assert last == CallOutcome.REACHED or (not calls and follow_up.response.channel == "customer_link")
            elif follow_up.status == FollowUpStatus.REFUSED:
                assert last == CallOutcome.REFUSED and follow_up.response is None
            else:
                assert last == CallOutcome.WRONG_NUMBER or (last == CallOutcome.NO_ANSWER and follow_up.attempts == 3)
        assert statuses == set(FollowUpStatus.values)  # some open in the queue, some refused, some unreachable
        done = FollowUp.objects.exclude(status=FollowUpStatus.OPEN)
        in_time = sum(f.closed_at <= f.due_at for f in done)
        assert 0.75 < in_time / done.count() < 1  # mostly within 24 h, some late


class SurveyTests:
    def test_each_response_answers_the_required_items_within_their_scales(self, seeded):
        items = services.survey_instrument_default().items.all()
        required = {item.pk for item in items if item.required}
        by_response = defaultdict(dict)
        for answer in SurveyAnswer.objects.select_related("item"):
            by_response[answer.response_id][answer.item.key] = answer
            if answer.item.kind == "scale_1_5":
                assert 1 <= answer.value <= 5
                assert answer.expectation is None or 1 <= answer.expectation <= 5
            elif answer.item.kind == "score_0_10":
                assert 0 <= answer.value <= 10
            else:
                assert answer.text and answer.value is None
        responses = list(SurveyResponse.objects.select_related("order"))
        assert {r.channel for r in responses} == {
            SurveyChannel.DELIVERY,
            SurveyChannel.FOLLOW_UP_CALL,
            SurveyChannel.CUSTOMER_LINK,
        }
        for response in responses:
            answers = by_response[response.pk]
            assert required <= {a.item_id for a in answers.values()}
            assert answers["overall"].value == response.overall
            assert response.recommend == (answers["recommend"].value if "recommend" in answers else None)
            assert response.order.status == RepairOrderStatus.DELIVERED
            assert response.submitted_at >= response.order.delivered_at
            if response.channel == SurveyChannel.DELIVERY:
                assert response.overall == response.order.rating  # the desk survey is the order's own rating
                assert response.submitted_at == response.order.delivered_at

    def test_only_customers_with_survey_consent_are_surveyed(self, seeded):
        consents = {
            c.customer_id: c for c in Consent.objects.filter(purpose="surveys", granted=True).order_by("customer_id")
        }
        for response in SurveyResponse.objects.all():
            consent = consents.get(response.customer_id)
            assert consent is not None, response.pk
            assert consent.decided_at <= response.submitted_at
        share = len(consents) / Customer.objects.count()
        assert 0.7 <= share <= 0.9
        assert Consent.objects.filter(purpose="surveys", granted=True, channel="phone").exists()  # asked on the call

    def test_scores_are_in_the_usual_range(self, seeded):
        responses = follow_up_responses()
        csat = sum(r.overall >= 8 for r in responses) / len(responses)
        recommend = [r.recommend for r in responses if r.recommend is not None]
        nps = 100 * (sum(v >= 9 for v in recommend) - sum(v <= 6 for v in recommend)) / len(recommend)
        assert 0.8 <= csat <= 0.96
        assert 30 <= nps <= 70

    def test_comebacks_and_long_waits_score_lower(self, seeded):
        orders = list(RepairOrder.objects.order_by("vehicle_id", "arrived_at"))
        comeback_after: set[int] = set()
        for earlier, later in zip(orders, orders[1:], strict=False):
            if (
                earlier.vehicle_id == later.vehicle_id
                and earlier.delivered_at is not None
                and earlier.service_type == later.service_type
                and complaint_category(earlier.customer_words) == complaint_category(later.customer_words)
                and later.arrived_at - earlier.delivered_at <= dt.timedelta(days=30)
            ):
                comeback_after.add(earlier.pk)
        responses = follow_up_responses()
        came_back = [r.overall for r in responses if r.order_id in comeback_after]
        others = [r.overall for r in responses if r.order_id not in comeback_after]
        assert came_back, "the service demo has comebacks"
        assert statistics.mean(came_back) < statistics.mean(others) - 1

        def wait(response: SurveyResponse) -> float:
            return (response.order.work_started_at - response.order.arrived_at).total_seconds()

        ranked = sorted(responses, key=wait)
        half = len(ranked) // 2
        assert statistics.mean(r.overall for r in ranked[half:]) < statistics.mean(r.overall for r in ranked[:half])
        waiting = {
            a.response_id: a.value
            for a in SurveyAnswer.objects.filter(item__key="waiting", response__channel__in=FOLLOW_UP_CHANNELS)
        }
        short = [waiting[r.pk] for r in ranked[:half] if r.pk in waiting]
        long = [waiting[r.pk] for r in ranked[half:] if r.pk in waiting]
        assert statistics.mean(long) < statistics.mean(short) - 0.2


class RecoveryTests:
    def test_every_low_score_and_only_those_opens_a_recovery_task(self, seeded):
        threshold = int(setting_values_for_store(seeded)["low_score_threshold"])
        window = dt.timedelta(minutes=int(setting_values_for_store(seeded)["recovery_due_minutes"]))
        tasks = {t.response_id: t for t in RecoveryTask.objects.select_related("order")}
        low = list(SurveyResponse.objects.filter(overall__lt=threshold))
        assert low
        assert set(tasks) == {r.pk for r in low}
        late = 0
        for response in low:
            task = tasks[response.pk]
            assert task.opened_at == response.submitted_at
            assert task.due_at == task.opened_at + window
            assert task.advisor_id == task.order.advisor_id and task.order_id == response.order_id
            end = task.closed_at or NOW
            if task.status == RecoveryStatus.DONE:
                assert task.outcome and task.note and task.closed_at <= NOW
            else:
                assert task.closed_at is None and not task.outcome
            # The sweep escalates once the due time has passed, and to the group one window later.
            if task.escalated_store_at is not None:
                late += 1
                assert task.due_at < task.escalated_store_at < end
            else:
                assert end <= task.due_at + dt.timedelta(minutes=1)
            if task.escalated_group_at is not None:
                assert task.escalated_store_at is not None
                assert task.due_at + window < task.escalated_group_at < end
        assert 0 < late < len(low) / 3  # mostly within the hour
        open_tasks = RecoveryTask.objects.filter(status=RecoveryStatus.OPEN, store=seeded)
        assert open_tasks.filter(due_at__gt=NOW).exists()  # still within the hour
        assert open_tasks.filter(due_at__lt=NOW, escalated_store_at__isnull=False).exists()  # overdue, escalated


class ComplaintTests:
    def test_due_times_events_and_escalations_follow_the_services(self, seeded):
        complaints = list(Complaint.objects.select_related("store"))
        delivered = RepairOrder.objects.filter(status=RepairOrderStatus.DELIVERED).count()
        assert 0.01 * delivered <= len(complaints) <= 0.04 * delivered
        events = defaultdict(list)
        for event in ComplaintEvent.objects.order_by("at", "id"):
            events[event.complaint_id].append(event)
        escalations = defaultdict(list)
        for escalation in ComplaintEscalation.objects.order_by("at", "id"):
            escalations[escalation.complaint_id].append(escalation)
        for complaint in complaints:
            due = services.complaint_due_times(
                store=complaint.store, channel=complaint.channel, received_at=complaint.received_at
            )
            assert (complaint.acknowledge_due, complaint.contact_due, complaint.resolve_due) == (
                due.acknowledge_due,
                due.contact_due,
                due.resolve_due,
            )
            assert complaint.received_at <= complaint.logged_at <= NOW
            path = events[complaint.pk]
            assert path[0].from_status == "" and path[0].to_status == ComplaintStatus.NEW
            assert path[0].at == complaint.logged_at
            for step in path[1:]:
                assert transitions.allowed(transitions.COMPLAINT_FLOW, step.from_status, step.to_status)
            assert [e.from_status for e in path[1:]] == [e.to_status for e in path[:-1]]
            assert path[-1].to_status == complaint.status and path[-1].at <= NOW
            assert complaint.reopened_count == sum(
                (e.from_status, e.to_status) in transitions.COMPLAINT_REOPEN for e in path
            )
            if complaint.status == ComplaintStatus.CLOSED:
                assert complaint.resolution and complaint.customer_confirmed_at and complaint.closed_at
                assert 1 <= complaint.satisfaction_with_handling <= 5
            if complaint.status != ComplaintStatus.NEW:
                assert complaint.owner_id is not None and complaint.acknowledged_at is not None
            mine = escalations[complaint.pk]
            assert complaint.breach_count == len(mine)
            for index, escalation in enumerate(mine):
                assert escalation.level == (EscalationLevel.STORE if index == 0 else EscalationLevel.GROUP)
                assert escalation.due_at == complaint.due_of(escalation.clock) < escalation.at <= NOW
                done = complaint.done_of(escalation.clock)
                assert done is None or done > escalation.at  # only breached clocks escalate
            for clock_name in ComplaintClock.values:
                done = complaint.done_of(clock_name)
                due_at = complaint.due_of(clock_name)
                if (done is None and due_at < NOW - dt.timedelta(minutes=1)) and complaint.status in (
                    transitions.COMPLAINT_OPEN_STATES
                ):
                    assert clock_name in {e.clock for e in mine}  # the sweep has seen it
        levels = {e.level for e in ComplaintEscalation.objects.all()}
        assert levels == {EscalationLevel.STORE, EscalationLevel.GROUP}
        assert Complaint.objects.filter(transfers__isnull=False).exists()
        # A small demo has a few dozen complaints: most channels and categories show up.
        assert len({c.channel for c in complaints}) >= 4 and "online_review" in {c.channel for c in complaints}
        assert len({c.category for c in complaints}) >= 4

    def test_the_first_store_has_open_complaints_with_running_and_overdue_clocks(self, seeded):
        open_ones = list(Complaint.objects.filter(store=seeded, status__in=transitions.COMPLAINT_OPEN_STATES))
        running = [
            c for c in open_ones if any(c.done_of(k) is None and c.due_of(k) > NOW for k in ComplaintClock.values)
        ]
        overdue = [c for c in open_ones if c.acknowledged_at is None and c.acknowledge_due < NOW]
        close = [
            c for c in open_ones if c.acknowledged_at is None and NOW < c.acknowledge_due < NOW + dt.timedelta(hours=1)
        ]
        assert running and overdue and close
        assert all(c.escalations.filter(clock=ComplaintClock.ACKNOWLEDGE).exists() for c in overdue)


class SuggestionAndCapaTests:
    def test_suggestions_are_due_in_working_days_and_escalated_only_when_overdue(self, seeded):
        suggestions = list(Suggestion.objects.select_related("store"))
        assert {s.status for s in suggestions} >= {"open", "closed"}
        for suggestion in suggestions:
            assert suggestion.decision_due == services.suggestion_decision_due(
                store=suggestion.store, received_at=suggestion.received_at
            )
            if suggestion.status != "open":
                assert suggestion.decision and suggestion.decided_at and suggestion.decided_by_id
            if suggestion.escalated_at is not None:
                assert suggestion.decision_due < suggestion.escalated_at <= NOW
                assert suggestion.decided_at is None or suggestion.decided_at > suggestion.escalated_at
            elif suggestion.decided_at is None:
                assert suggestion.decision_due >= NOW - dt.timedelta(minutes=1)
        awaiting = [s for s in suggestions if s.status == "open" and s.store_id == seeded.pk]
        assert any(s.decision_due > NOW for s in awaiting) and any(s.escalated_at for s in awaiting)

    def test_capas_in_several_states_follow_their_flow_and_guards(self, seeded):
        capas = {capa.status: capa for capa in Capa.objects.filter(store=seeded)}
        assert {CapaStatus.CLOSED, CapaStatus.ACTING, CapaStatus.ANALYSING} <= set(capas)
        closed = capas[CapaStatus.CLOSED]
        assert closed.procedure_change and closed.kpi_name and closed.root_cause
        assert closed.kpi_before is not None and closed.kpi_after is not None and closed.kpi_after < closed.kpi_before
        assert closed.cluster_category and closed.cluster_month and closed.closed_at <= NOW
        assert not closed.actions.filter(done_at__isnull=True).exists()
        acting = capas[CapaStatus.ACTING]
        assert acting.complaint is not None and acting.root_cause
        assert acting.actions.filter(done_at__isnull=False).exists()
        assert acting.actions.filter(done_at__isnull=True).exists()
        for capa in capas.values():
            path = list(capa.events.order_by("at", "id"))
            assert path[0].to_status == CapaStatus.OPEN and path[-1].to_status == capa.status
            for step in path[1:]:
                assert transitions.allowed(transitions.CAPA_FLOW, step.from_status, step.to_status)


class DemoFollowsTheRulebookTests:
    def test_every_feedback_move_of_the_demo_is_made_by_someone_the_rulebook_allows(self, seeded):
        """The demo's complaint and CAPA events, call attempts, recovery outcomes and suggestion decisions are
        made by people the rulebook lets make them (staff events; the customer's own reports have no one)."""
        from aftersales.feedback.models import CallAttempt, CapaEvent, ComplaintEvent, Suggestion
        from aftersales.feedback.transitions import CAPA, COMPLAINT, FOLLOW_UP, RECOVERY, SUGGESTION

        checked = 0
        for event in ComplaintEvent.objects.exclude(from_status="").select_related("complaint", "by"):
            moves = [m for m in COMPLAINT.moves if m.target == event.to_status and event.from_status in m.sources]
            assert any(COMPLAINT.may(m, actor=event.by, store_id=event.complaint.store_id) for m in moves), event.pk
            checked += 1
        for event in CapaEvent.objects.exclude(from_status="").select_related("capa", "by"):
            step = CAPA.find(event.from_status, event.to_status)
            assert step is not None and CAPA.may(step, actor=event.by, store_id=event.capa.store_id), event.pk
            checked += 1
        for attempt in CallAttempt.objects.select_related("follow_up", "by"):
            no_answer = FOLLOW_UP.get("no_answer")  # every outcome of a call has the same rule
            assert FOLLOW_UP.may(no_answer, actor=attempt.by, store_id=attempt.follow_up.store_id), attempt.pk
            checked += 1
        for task in RecoveryTask.objects.exclude(closed_by=None).select_related("closed_by"):
            assert RECOVERY.may(RECOVERY.get("record"), actor=task.closed_by, store_id=task.store_id), task.pk
            checked += 1
        for suggestion in Suggestion.objects.exclude(decided_by=None).select_related("decided_by"):
            decide = SUGGESTION.get("decide")
            assert SUGGESTION.may(decide, actor=suggestion.decided_by, store_id=suggestion.store_id), suggestion.pk
            checked += 1
        assert checked > 50
