"""message_enqueue: consent, quiet hours, de-duplication, delivery only after commit, encryption at rest."""

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction

from aftersales.config.testing import make_customer
from aftersales.core.exceptions import ApplicationError
from aftersales.customers.services import consent_set
from aftersales.messaging.choices import MessageStatus, SuppressionReason
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue, outbox_deliver_due, quiet_hours_end
from aftersales.organisation.services import settings_update

from .conftest import BOOKING_CANCELLED, MAINTENANCE, shanghai

pytestmark = pytest.mark.django_db


def _service(cast, customer, **overrides):
    fields = {
        "store": cast.store_a,
        "template": "booking_cancelled",
        "context": BOOKING_CANCELLED,
        "customer": customer,
        "purpose": "service",
    }
    return message_enqueue(**{**fields, **overrides})


def _marketing(cast, customer, **overrides):
    return _service(
        cast, customer, template="maintenance_reminder", context=MAINTENANCE, purpose="marketing", **overrides
    )


class ConsentTests:
    def test_marketing_without_consent_is_stored_suppressed_and_never_sent(
        self, cast, customer, console_outbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            message = _marketing(cast, customer)
        assert message.status == MessageStatus.SUPPRESSED
        assert message.suppressed_reason == SuppressionReason.NO_MARKETING_CONSENT
        assert message.next_attempt_at is None
        assert callbacks == []
        assert outbox_deliver_due() == 0
        assert not console_outbox

    def test_marketing_after_consent_was_withdrawn_is_suppressed(self, cast, fan):
        consent_set(customer=fan, purpose="marketing", granted=False, channel="desk", by=cast.alice)
        assert _marketing(cast, fan).suppressed_reason == SuppressionReason.NO_MARKETING_CONSENT

    def test_marketing_with_consent_is_sent(self, cast, fan, console_outbox, django_capture_on_commit_callbacks):
        with time_machine.travel(shanghai(2026, 3, 2, 10, 0), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                message = _marketing(cast, fan)
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert [m["id"] for m in console_outbox] == [message.pk]

    def test_a_survey_needs_survey_consent_not_marketing_consent(self, cast):
        marketing_only = make_customer(cast.store_a, by=cast.alice, consents={"marketing": True, "surveys": False})
        message = _service(
            cast,
            marketing_only,
            template="survey_invitation",
            context={"name": "王五", "store": "上海店", "link": "https://x.test/s/1"},
            purpose="survey",
        )
        assert message.suppressed_reason == SuppressionReason.NO_SURVEY_CONSENT

    def test_a_service_notice_needs_no_consent(
        self, cast, customer, console_outbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            message = _service(cast, customer)
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.suppressed_reason == ""
        assert len(console_outbox) == 1

    def test_withdrawing_consent_stops_a_message_already_waiting_for_the_morning(self, cast, fan, console_outbox):
        with time_machine.travel(shanghai(2026, 3, 2, 22, 30), tick=False):
            message = _marketing(cast, fan)
        with time_machine.travel(shanghai(2026, 3, 2, 23, 0), tick=False):
            consent_set(customer=fan, purpose="marketing", granted=False, channel="phone", by=cast.alice)
        with time_machine.travel(shanghai(2026, 3, 3, 8, 0), tick=False):
            assert outbox_deliver_due() == 0
        message.refresh_from_db()
        assert message.status == MessageStatus.SUPPRESSED
        assert message.suppressed_reason == SuppressionReason.NO_MARKETING_CONSENT
        assert message.attempts == 0
        assert not console_outbox


class QuietHoursTests:
    def test_a_marketing_message_at_half_past_ten_at_night_waits_until_eight(self, cast, fan, console_outbox):
        with time_machine.travel(shanghai(2026, 3, 2, 22, 30), tick=False):
            message = _marketing(cast, fan)
            assert message.status == MessageStatus.PENDING
            assert message.next_attempt_at == shanghai(2026, 3, 3, 8, 0)
            assert outbox_deliver_due() == 0
        with time_machine.travel(shanghai(2026, 3, 3, 7, 59, 59), tick=False):
            assert outbox_deliver_due() == 0
        with time_machine.travel(shanghai(2026, 3, 3, 8, 0), tick=False):
            assert outbox_deliver_due() == 1
        assert [m["id"] for m in console_outbox] == [message.pk]

    def test_a_service_message_at_night_goes_at_once(
        self, cast, customer, console_outbox, django_capture_on_commit_callbacks
    ):
        at = shanghai(2026, 3, 2, 22, 30)
        with time_machine.travel(at, tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                message = _service(cast, customer)
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.sent_at == at

    @pytest.mark.parametrize(
        ("hour", "minute", "expected"),
        [
            (20, 59, None),  # one minute before the start
            (21, 0, (3, 8)),  # at the start
            (21, 1, (3, 8)),  # one minute after the start
            (7, 59, (2, 8)),  # one minute before the end
            (8, 0, None),  # at the end
            (8, 1, None),  # one minute after the end
            (0, 0, (2, 8)),  # midnight
        ],
    )
    def test_the_edges_of_quiet_hours(self, cast, fan, hour, minute, expected):
        at = shanghai(2026, 3, 2, hour, minute)
        with time_machine.travel(at, tick=False):
            message = _marketing(cast, fan)
        wanted = at if expected is None else shanghai(2026, 3, expected[0], expected[1], 0)
        assert message.next_attempt_at == wanted

    def test_the_store_s_own_quiet_hours_apply(self, cast, fan):
        settings_update(
            group=cast.group, store=cast.store_a, changes={"quiet_hours_start": 22, "quiet_hours_end": 9}, by=cast.grace
        )
        at = shanghai(2026, 3, 2, 21, 30)
        with time_machine.travel(at, tick=False):
            assert _marketing(cast, fan).next_attempt_at == at
        with time_machine.travel(shanghai(2026, 3, 3, 8, 30), tick=False):
            assert _marketing(cast, fan).next_attempt_at == shanghai(2026, 3, 3, 9, 0)

    def test_quiet_hours_within_one_day_and_none_at_all(self):
        assert quiet_hours_end(at=shanghai(2026, 3, 2, 13, 30), start=12, end=14) == shanghai(2026, 3, 2, 14, 0)
        assert quiet_hours_end(at=shanghai(2026, 3, 2, 14, 0), start=12, end=14) is None
        assert quiet_hours_end(at=shanghai(2026, 3, 2, 23, 0), start=8, end=8) is None
        # The answer does not depend on the time zone the moment is written in.
        assert quiet_hours_end(at=dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC), start=21, end=8) == shanghai(
            2026, 3, 3, 8, 0
        )


class DedupeTests:
    def test_the_same_key_returns_the_first_message_and_sends_once(
        self, cast, customer, console_outbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            first = _service(cast, customer, dedupe_key="booking_cancelled:42")
            second = _service(cast, customer, dedupe_key="booking_cancelled:42", language="en")
        assert second.pk == first.pk
        assert OutboxMessage.objects.count() == 1
        assert len(console_outbox) == 1

    def test_messages_without_a_key_are_never_merged(self, cast, customer):
        _service(cast, customer)
        _service(cast, customer)
        assert OutboxMessage.objects.count() == 2

    def test_a_suppressed_message_also_counts_as_queued(self, cast, customer):
        first = _marketing(cast, customer, dedupe_key="care:1")
        assert _marketing(cast, customer, dedupe_key="care:1").pk == first.pk


class OnCommitTests:
    def test_a_rolled_back_caller_sends_nothing(
        self, cast, customer, console_outbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError):
                with transaction.atomic():
                    _service(cast, customer)
                    raise RuntimeError("the booking failed")
        assert callbacks == []
        assert not OutboxMessage.objects.exists()
        assert not console_outbox

    def test_nothing_is_sent_before_the_caller_commits(
        self, cast, customer, console_outbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            message = _service(cast, customer)
        assert len(callbacks) == 1
        assert not console_outbox
        callbacks[0]()
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT

    def test_the_message_keeps_a_link_to_the_record_it_is_about(self, cast, customer):
        vehicle_owner = customer
        message = _service(cast, customer, related=vehicle_owner)
        assert (message.related_type, message.related_id) == ("customers.customer", str(customer.pk))


class RecipientTests:
    def test_the_recipient_is_never_in_clear_in_the_database(self, cast, customer):
        message = _service(cast, customer)
        assert message.recipient == "13812345678"
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM messaging_outboxmessage")
            raw = " ".join(str(value) for row in cursor.fetchall() for value in row)
        assert "13812345678" not in raw
        assert "138****5678" not in raw

    def test_a_staff_alert_goes_to_the_user_s_e_mail(self, cast, console_outbox, django_capture_on_commit_callbacks):
        cast.mia.email = "mia@dealer.example"
        cast.mia.save()
        with django_capture_on_commit_callbacks(execute=True):
            message = message_enqueue(
                store=cast.store_a,
                template="staff_alert",
                context={"text": "工位3空闲"},
                recipient_user=cast.mia,
                purpose="staff",
            )
        assert message.channel == "email"
        assert message.recipient == "mia@dealer.example"
        assert console_outbox[0]["to"] == "m***@dealer.example"

    def test_a_staff_alert_to_a_user_without_e_mail_is_suppressed(self, cast):
        message = message_enqueue(
            store=cast.store_a, template="staff_alert", context={"text": "x"}, recipient_user=cast.tom, purpose="staff"
        )
        assert message.status == MessageStatus.SUPPRESSED
        assert message.suppressed_reason == SuppressionReason.NO_ADDRESS

    def test_a_staff_alert_to_an_inactive_user_is_suppressed(self, cast):
        cast.tom.email = "tom@dealer.example"
        cast.tom.is_active = False
        cast.tom.save()
        message = message_enqueue(
            store=cast.store_a, template="staff_alert", context={"text": "x"}, recipient_user=cast.tom, purpose="staff"
        )
        assert message.suppressed_reason == SuppressionReason.RECIPIENT_INACTIVE

    def test_customers_have_no_e_mail_yet_so_an_e_mail_to_them_is_suppressed(self, cast, customer):
        message = _service(cast, customer, channel="email")
        assert message.suppressed_reason == SuppressionReason.NO_ADDRESS


class EnqueueValidationTests:
    def test_a_staff_notification_needs_a_user_and_no_customer(self, cast, customer):
        with pytest.raises(ApplicationError, match="needs a staff recipient and no customer"):
            _service(cast, customer, purpose="staff")

    def test_a_customer_message_needs_a_customer(self, cast):
        with pytest.raises(ApplicationError, match="needs a customer and no staff recipient"):
            message_enqueue(
                store=cast.store_a,
                template="staff_alert",
                context={"text": "x"},
                recipient_user=cast.mia,
                purpose="service",
            )

    def test_the_customer_must_belong_to_the_stores_group(self, cast, customer):
        with pytest.raises(ApplicationError, match="belongs to another dealer group"):
            _service(cast, customer, store=cast.store_c)

    @pytest.mark.parametrize(
        ("field", "value", "text"),
        [
            ("purpose", "spam", "Unknown message purpose 'spam'."),
            ("channel", "fax", "Unknown message channel 'fax'."),
            ("language", "fr", "Unknown message language 'fr'."),
            ("dedupe_key", "k" * 129, "A de-duplication key has at most 128 characters."),
        ],
    )
    def test_unknown_values_are_refused_with_a_clear_message(self, cast, customer, field, value, text):
        with pytest.raises(ApplicationError) as exc_info:
            _service(cast, customer, **{field: value})
        assert exc_info.value.message == text
        assert not OutboxMessage.objects.exists()
