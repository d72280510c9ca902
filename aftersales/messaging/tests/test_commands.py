"""`aftersales messaging_deliver`: sends what is due, prints how many, safe to rerun."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from aftersales.messaging.services import message_enqueue

from .conftest import BOOKING_CANCELLED

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("messaging_deliver", *args, stdout=out)
    return out.getvalue().strip()


class MessagingDeliverCommandTests:
    def test_it_sends_the_due_messages_within_the_limit_and_then_the_rest(self, cast, customer, console_outbox):
        for _ in range(3):
            message_enqueue(
                store=cast.store_a,
                template="booking_cancelled",
                context=BOOKING_CANCELLED,
                customer=customer,
                purpose="service",
            )
        assert _run("--dry-run") == "3 messages are due; nothing sent (dry run)."
        assert not console_outbox
        assert _run("--limit", "2") == "Sent 2 messages."
        assert _run() == "Sent 1 messages."
        assert _run() == "Sent 0 messages."
        assert len(console_outbox) == 3

    def test_a_limit_below_one_is_refused(self, db):
        with pytest.raises(CommandError, match="--limit must be at least 1"):
            _run("--limit", "0")
