"""Delivery: claim by conditional UPDATE, retries with backoff, final failure, idempotent sweeps."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from aftersales.messaging import services
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.models import DeliveryAttempt, OutboxMessage
from aftersales.messaging.services import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    message_enqueue,
    outbox_deliver,
    outbox_deliver_due,
)

from . import backends
from .conftest import BOOKING_CANCELLED, MAINTENANCE, shanghai

pytestmark = pytest.mark.django_db

FAILING = "aftersales.messaging.tests.backends.FailingBackend"
T0 = shanghai(2026, 3, 2, 10, 0)


def _queue(cast, customer, **overrides):
    fields = {
        "store": cast.store_a,
        "template": "booking_cancelled",
        "context": BOOKING_CANCELLED,
        "customer": customer,
        "purpose": "service",
    }
    return message_enqueue(**{**fields, **overrides})


@pytest.fixture
def failing(settings):
    settings.AFTERSALES_MESSAGE_BACKEND = FAILING
    backends.FailingBackend.calls.clear()
    return backends.FailingBackend.calls


class DeliverTests:
    def test_it_sends_records_the_attempt_and_marks_the_message_sent(self, cast, customer, console_outbox):
        with time_machine.travel(T0, tick=False):
            message = _queue(cast, customer)
            assert outbox_deliver(message_id=message.pk) is True
        message.refresh_from_db()
        assert (message.status, message.attempts, message.sent_at, message.next_attempt_at) == (
            MessageStatus.SENT,
            1,
            T0,
            None,
        )
        attempt = message.delivery_attempts.get()
        assert (attempt.backend, attempt.ok, attempt.at) == ("console", True, T0)
        assert console_outbox[0]["to"] == "138****5678"

    def test_a_second_call_for_the_same_message_sends_nothing(self, cast, customer, console_outbox):
        message = _queue(cast, customer)
        assert outbox_deliver(message_id=message.pk) is True
        assert outbox_deliver(message_id=message.pk) is False
        assert len(console_outbox) == 1
        assert DeliveryAttempt.objects.count() == 1

    def test_a_message_not_yet_due_is_not_claimed(self, cast, fan, console_outbox):
        with time_machine.travel(shanghai(2026, 3, 2, 22, 30), tick=False):
            message = _queue(cast, fan, template="maintenance_reminder", context=MAINTENANCE, purpose="marketing")
            assert outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.PENDING, 0)

    def test_an_unknown_id_is_not_an_error(self, db):
        assert outbox_deliver(message_id=999_999) is False

    def test_a_message_held_by_a_worker_that_died_is_taken_over_after_its_claim_expires(
        self, cast, customer, console_outbox
    ):
        with time_machine.travel(T0, tick=False):
            message = _queue(cast, customer)
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=MessageStatus.SENDING, attempts=1, next_attempt_at=T0 + CLAIM_LEASE
            )
            assert outbox_deliver_due() == 0
        with time_machine.travel(T0 + CLAIM_LEASE, tick=False):
            assert outbox_deliver_due() == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.SENT, 2)


class RetryTests:
    def test_failures_are_retried_after_1_5_30_and_120_minutes_then_the_message_fails(self, cast, customer, failing):
        with time_machine.travel(T0, tick=False) as traveller:
            message = _queue(cast, customer)
            assert outbox_deliver(message_id=message.pk) is False
            at = T0
            for attempts, wait in enumerate((1, 5, 30, 120), start=1):
                message.refresh_from_db()
                assert message.status == MessageStatus.PENDING
                assert message.attempts == attempts
                assert message.last_error == "gateway timeout"
                assert message.next_attempt_at == at + dt.timedelta(minutes=wait)
                traveller.move_to(message.next_attempt_at - dt.timedelta(seconds=1))
                assert outbox_deliver_due() == 0  # one second early: nothing
                assert len(failing) == attempts
                at = message.next_attempt_at
                traveller.move_to(at)
                assert outbox_deliver_due() == 0  # due: tried, failed again
                assert len(failing) == attempts + 1
            message.refresh_from_db()
            assert message.status == MessageStatus.FAILED
            assert message.attempts == MAX_ATTEMPTS == 5
            assert message.next_attempt_at is None
            traveller.shift(dt.timedelta(days=1))
            assert outbox_deliver_due() == 0
        assert len(failing) == 5
        assert list(message.delivery_attempts.values_list("ok", "backend")) == [(False, "failing")] * 5

    def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(self, cast, fan, failing):
        with time_machine.travel(shanghai(2026, 3, 2, 20, 59, 30), tick=False):
            message = _queue(cast, fan, template="maintenance_reminder", context=MAINTENANCE, purpose="marketing")
            outbox_deliver(message_id=message.pk)
        message.refresh_from_db()
        assert message.next_attempt_at == shanghai(2026, 3, 3, 8, 0)

    def test_a_permanent_error_fails_at_once(self, cast, customer, settings):
        settings.AFTERSALES_MESSAGE_BACKEND = "webhook"
        settings.AFTERSALES_WEBHOOK_URL = ""
        message = _queue(cast, customer)
        assert outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
        assert message.last_error == "AFTERSALES_WEBHOOK_URL is not an http(s) URL"

    def test_a_backend_that_raises_is_a_failed_attempt(self, cast, customer, settings):
        settings.AFTERSALES_MESSAGE_BACKEND = "aftersales.messaging.tests.backends.RaisingBackend"
        message = _queue(cast, customer)
        assert outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert message.status == MessageStatus.PENDING
        assert message.last_error == "RuntimeError: backend bug"

    def test_a_failing_backend_after_commit_does_not_break_the_caller(
        self, cast, customer, failing, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            message = _queue(cast, customer)
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)


class DeliverDueTests:
    def test_running_the_sweep_twice_sends_nothing_twice(self, cast, customer, fan, console_outbox):
        with time_machine.travel(T0, tick=False):
            ids = {_queue(cast, customer).pk, _queue(cast, fan).pk, _queue(cast, customer).pk}
            assert outbox_deliver_due() == 3
            assert outbox_deliver_due() == 0
        assert sorted(m["id"] for m in console_outbox) == sorted(ids)
        assert DeliveryAttempt.objects.count() == 3

    def test_the_limit_is_respected_oldest_due_first(self, cast, customer, console_outbox):
        with time_machine.travel(T0, tick=False) as traveller:
            first = _queue(cast, customer)
            traveller.shift(dt.timedelta(seconds=1))
            _queue(cast, customer)
            assert outbox_deliver_due(limit=1) == 1
        assert [m["id"] for m in console_outbox] == [first.pk]

    def test_suppressed_sent_and_failed_messages_are_left_alone(self, cast, customer, console_outbox):
        _queue(cast, customer, template="maintenance_reminder", context=MAINTENANCE, purpose="marketing")
        assert outbox_deliver_due() == 0
        assert not console_outbox


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
class ConcurrentClaimTests:
    def test_two_workers_delivering_the_same_message_send_it_exactly_once(self, cast, customer, settings, monkeypatch):
        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL: concurrent connections to one database")
        settings.AFTERSALES_MESSAGE_BACKEND = "aftersales.messaging.tests.backends.SlowBackend"
        backends.SlowBackend.calls.clear()
        monkeypatch.setattr(services, "_deliver_after_commit", lambda message_id: None)  # only the workers send
        message = _queue(cast, customer)
        barrier = threading.Barrier(2)
        results: list[bool] = []

        def worker():
            try:
                barrier.wait()
                results.append(outbox_deliver(message_id=message.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False, True]
        assert backends.SlowBackend.calls == [message.pk]
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.SENT, 1)
        assert DeliveryAttempt.objects.filter(message=message).count() == 1
