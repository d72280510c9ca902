"""The tasks of the job worker, run in Huey's immediate mode: the hand-off from the outbox, the periodic
sweeps (their schedule, their lock, and that a second run changes nothing), and the `worker` command."""

from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from huey import signals as huey_signals
from huey.contrib.djhuey import HUEY

from aftersales.config.management.commands.worker import schedule_description, storage_description
from aftersales.messaging import tasks as messaging_tasks
from aftersales.messaging.backends import ConsoleBackend
from aftersales.messaging.models import DeliveryAttempt, OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.messaging.tests.conftest import BOOKING_CANCELLED
from aftersales.notifications.models import InboxItem
from aftersales.service import tasks as service_tasks
from aftersales.service.models import RepairOrder
from aftersales.service.tests.conftest import frozen, order_in_progress, shop  # noqa: F401 - `shop` is a fixture


@pytest.fixture(autouse=True)
def console_outbox():
    ConsoleBackend.clear()
    yield ConsoleBackend.sent
    ConsoleBackend.clear()


@pytest.fixture
def executed():
    """Names of the Huey tasks that ran (completed, or skipped for a held lock) during the test."""
    seen: list[tuple[str, str]] = []

    def note(signal, task, *args, **kwargs):
        seen.append((signal, type(task).__name__))

    HUEY.signal(huey_signals.SIGNAL_COMPLETE, huey_signals.SIGNAL_LOCKED)(note)
    yield seen
    HUEY.disconnect_signal(note)


def _queue(cast, customer_phone="13812345678", count=3):
    from aftersales.config.testing import make_customer

    customer = make_customer(cast.store_a, by=cast.alice, phone=customer_phone)
    return [
        message_enqueue(
            store=cast.store_a,
            template="booking_cancelled",
            context=BOOKING_CANCELLED,
            customer=customer,
            purpose="service",
        )
        for _ in range(count)
    ]


def _outbox_state():
    return list(OutboxMessage.objects.order_by("id").values()), DeliveryAttempt.objects.count()


def test_tests_run_tasks_in_immediate_mode():
    assert HUEY.immediate


@pytest.mark.django_db
class HandOffTests:
    def test_a_committed_message_is_delivered_by_the_worker_task(
        self, cast, console_outbox, executed, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            (message,) = _queue(cast, count=1)
        assert ("complete", "outbox_deliver_message") in executed
        message.refresh_from_db()
        assert message.status == "sent"
        assert len(console_outbox) == 1

    def test_an_uncommitted_message_hands_nothing_to_the_worker(
        self, cast, executed, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            _queue(cast, count=1)
        assert len(callbacks) == 1  # queued only for the commit that never comes here
        assert executed == []

    def test_a_failing_hand_off_leaves_the_message_for_the_sweep(
        self, cast, monkeypatch, console_outbox, django_capture_on_commit_callbacks
    ):
        def broken(message_id):
            raise ConnectionError("queue down")

        monkeypatch.setattr(messaging_tasks, "outbox_deliver_message", broken)
        with django_capture_on_commit_callbacks(execute=True):
            (message,) = _queue(cast, count=1)
        message.refresh_from_db()
        assert message.status == "pending" and not console_outbox
        messaging_tasks.outbox_deliver_due()
        message.refresh_from_db()
        assert message.status == "sent"


@pytest.mark.django_db
class OutboxSweepTests:
    def test_the_sweep_sends_what_is_due_and_a_second_run_changes_nothing(self, cast, console_outbox, executed):
        _queue(cast, count=3)  # committed callbacks not run: only the sweep sends
        assert OutboxMessage.objects.filter(status="pending").count() == 3
        messaging_tasks.outbox_deliver_due()
        assert OutboxMessage.objects.filter(status="sent").count() == 3
        assert len(console_outbox) == 3
        after_first = _outbox_state()
        messaging_tasks.outbox_deliver_due()
        assert _outbox_state() == after_first
        assert len(console_outbox) == 3
        assert executed == [("complete", "outbox_deliver_due")] * 2

    def test_a_held_lock_skips_the_sweep(self, cast, console_outbox, executed):
        _queue(cast, count=2)
        with HUEY.lock_task("messaging.outbox_deliver_due"):  # another consumer is sweeping
            messaging_tasks.outbox_deliver_due()
        assert executed == [("locked", "outbox_deliver_due")]
        assert OutboxMessage.objects.filter(status="pending").count() == 2 and not console_outbox
        messaging_tasks.outbox_deliver_due()  # the lock is released: the next run does the work
        assert OutboxMessage.objects.filter(status="sent").count() == 2

    def test_schedules(self):
        assert schedule_description(messaging_tasks.outbox_deliver_due.task_class()) == "every minute"
        assert schedule_description(service_tasks.efficiency_sweep.task_class()) == "every 5 minutes"


@pytest.mark.django_db
class EfficiencySweepTests:
    def test_the_sweep_warns_once_and_a_second_run_changes_nothing(self, shop, executed):  # noqa: F811
        with frozen(2026, 3, 2, 9, 0):
            order = order_in_progress(shop, hours="1.0")
        with frozen(2026, 3, 2, 10, 7):  # 67 min of work against 60 standard: over the 10 % margin
            service_tasks.efficiency_sweep()
        order.refresh_from_db()
        assert order.efficiency_warned_at is not None
        alerts = list(InboxItem.objects.filter(kind="efficiency_warning").order_by("id").values())
        orders = list(RepairOrder.objects.order_by("id").values())
        assert alerts
        with frozen(2026, 3, 2, 10, 12):
            service_tasks.efficiency_sweep()
        assert list(InboxItem.objects.filter(kind="efficiency_warning").order_by("id").values()) == alerts
        assert list(RepairOrder.objects.order_by("id").values()) == orders
        assert executed == [("complete", "efficiency_sweep")] * 2

    def test_a_held_lock_skips_the_sweep(self, shop, executed):  # noqa: F811
        with frozen(2026, 3, 2, 9, 0):
            order = order_in_progress(shop, hours="1.0")
        with frozen(2026, 3, 2, 10, 7), HUEY.lock_task("service.efficiency_sweep"):
            service_tasks.efficiency_sweep()
        order.refresh_from_db()
        assert order.efficiency_warned_at is None
        assert executed == [("locked", "efficiency_sweep")]


class WorkerCommandTests:
    def test_it_refuses_to_consume_in_immediate_mode(self):
        with pytest.raises(CommandError, match="immediate mode"):
            call_command("worker", stdout=StringIO())

    def test_the_storage_is_named_without_a_password(self, settings):
        assert storage_description(SimpleNamespace(storage=SimpleNamespace(filename="/d/huey.sqlite3"))) == (
            "SQLite /d/huey.sqlite3"
        )
        settings.HUEY = {"connection": {"url": "redis://:s3cret@cache.local:6380/2"}}
        described = storage_description(SimpleNamespace(storage=SimpleNamespace()))
        assert described == "Redis redis://:***@cache.local:6380/2"
        assert "s3cret" not in described

    def test_an_irregular_schedule_is_counted(self):
        assert schedule_description(SimpleNamespace(validate_datetime=lambda at: at.hour == 3 and at.minute == 0)) == (
            "every 1440 minutes"
        )
        twice = SimpleNamespace(validate_datetime=lambda at: at.minute == 0 and at.hour in (3, 4))
        assert schedule_description(twice) == "2 times a day"
        assert schedule_description(SimpleNamespace(validate_datetime=lambda at: False)) == "not daily"
