"""Reads: a customer's messages, the store-scoped list (three personas), masked recipients."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.config.testing import make_customer
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.selectors import (
    message_list,
    message_list_for_customer,
    message_list_for_related,
    message_recipient_masked,
)
from aftersales.messaging.services import message_enqueue

from .conftest import BOOKING_CANCELLED

pytestmark = pytest.mark.django_db


def _queue(store, customer, **overrides):
    fields = {
        "store": store,
        "template": "booking_cancelled",
        "context": BOOKING_CANCELLED,
        "customer": customer,
        "purpose": "service",
    }
    return message_enqueue(**{**fields, **overrides})


class MessageListForCustomerTests:
    def test_it_lists_the_customer_s_latest_messages_first_up_to_the_limit(self, cast, customer):
        other = make_customer(cast.store_a, by=cast.alice)
        messages = [_queue(cast.store_a, customer) for _ in range(3)]
        _queue(cast.store_a, other)
        listed = message_list_for_customer(customer=customer, limit=2)
        assert [m.pk for m in listed] == [messages[2].pk, messages[1].pk]


class MessageListTests:
    def test_each_user_sees_only_the_messages_of_their_stores(self, cast, customer):
        in_a = _queue(cast.store_a, customer)
        in_b = _queue(cast.store_b, make_customer(cast.store_b, by=cast.carol))
        all_ids = [cast.store_a.pk, cast.store_b.pk, cast.store_c.pk]
        assert [m.pk for m in message_list(user=cast.alice, store_ids=all_ids)] == [in_a.pk]
        assert [m.pk for m in message_list(user=cast.bob, store_ids=all_ids)] == [in_a.pk]
        assert [m.pk for m in message_list(user=cast.carol, store_ids=all_ids)] == [in_b.pk]
        assert list(message_list(user=cast.otto, store_ids=all_ids)) == []
        assert {m.pk for m in message_list(user=cast.grace, store_ids=all_ids)} == {in_a.pk, in_b.pk}
        assert [m.pk for m in message_list(user=cast.grace, store_ids=[cast.store_b.pk])] == [in_b.pk]

    def test_it_filters_by_status(self, cast, customer):
        _queue(cast.store_a, customer)
        suppressed = _queue(
            cast.store_a,
            customer,
            template="maintenance_reminder",
            context={"name": "x", "plate": "x", "due": "x", "store": "x", "phone": "x"},
            purpose="marketing",
        )
        listed = message_list(user=cast.alice, store_ids=[cast.store_a.pk], status=MessageStatus.SUPPRESSED)
        assert [m.pk for m in listed] == [suppressed.pk]

    def test_the_query_count_does_not_grow_with_the_rows(self, cast, customer):
        def count_queries() -> int:
            user = get_user_model().objects.get(pk=cast.alice.pk)  # a fresh user object, as in a new request
            with CaptureQueriesContext(connection) as ctx:
                for m in message_list(user=user, store_ids=[cast.store_a.pk]):
                    str(m.store), str(m.customer), m.recipient_user
            return len(ctx.captured_queries)

        _queue(cast.store_a, customer)
        one = count_queries()
        for _ in range(5):
            _queue(cast.store_a, make_customer(cast.store_a, by=cast.alice))
        assert count_queries() == one


class MessageHelpersTests:
    def test_the_recipient_is_shown_masked(self, cast, customer):
        assert message_recipient_masked(_queue(cast.store_a, customer)) == "138****5678"

    def test_messages_about_one_record_are_listed_oldest_first(self, cast, customer):
        first = _queue(cast.store_a, customer, related=customer)
        second = _queue(cast.store_a, customer, related=customer)
        _queue(cast.store_a, customer)
        assert [m.pk for m in message_list_for_related(related=customer)] == [first.pk, second.pk]
