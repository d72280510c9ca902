"""Suggestions: the decision clock in working days on China's calendar and the store's closed days."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from aftersales.core.exceptions import ApplicationError
from aftersales.feedback import services
from aftersales.feedback.tests.conftest import inbox, minutes
from aftersales.organisation.services import closed_day_add

from .conftest import SHANGHAI, shanghai

pytestmark = pytest.mark.django_db


def log(shop, received_at):
    with time_machine.travel(received_at + minutes(5), tick=False):
        return services.suggestion_log(
            store=shop.store,
            customer=shop.customer,
            channel="customer_page",
            description="希望增加夜间取车服务",
            received_at=received_at,
            by=shop.cast.alice,
        )


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


class SuggestionDueTests:
    def test_three_working_days_from_a_monday_end_on_thursday(self, shop):
        assert log(shop, shanghai(2026, 3, 2, 10, 0)).decision_due == end_of(dt.date(2026, 3, 5))

    def test_a_weekend_is_skipped(self, shop):
        # Thursday 5 March 2026 → Friday, Monday, Tuesday.
        assert log(shop, shanghai(2026, 3, 5, 16, 0)).decision_due == end_of(dt.date(2026, 3, 10))

    def test_a_national_holiday_is_skipped(self, shop):
        # National Day 2025: 1–8 October off; received on 30 September → 9, 10, 11 October (11th is a make-up day).
        assert log(shop, shanghai(2025, 9, 30, 10, 0)).decision_due == end_of(dt.date(2025, 10, 11))

    def test_a_make_up_working_day_counts(self, shop):
        # Spring Festival 2025: Sunday 26 January is a make-up working day (调休), 28 January – 4 February off.
        # From Friday 24 January: Sunday 26 (1), Monday 27 (2), Wednesday 5 February (3); without the make-up
        # day it would be Thursday 6 February.
        assert log(shop, shanghai(2025, 1, 24, 10, 0)).decision_due == end_of(dt.date(2025, 2, 5))

    def test_the_store_s_own_closed_days_are_skipped(self, shop):
        closed_day_add(store=shop.store, day=dt.date(2026, 3, 4), reason="盘点", by=shop.cast.mia)
        assert log(shop, shanghai(2026, 3, 2, 10, 0)).decision_due == end_of(dt.date(2026, 3, 6))

    def test_it_refuses_a_future_receipt(self, shop):
        from django.core.exceptions import ValidationError

        with time_machine.travel(shanghai(2026, 3, 2, 10, 0), tick=False), pytest.raises(ValidationError) as caught:
            services.suggestion_log(
                store=shop.store,
                customer=shop.customer,
                channel="phone",
                description="x",
                received_at=shanghai(2026, 3, 2, 10, 1),
                by=shop.cast.alice,
            )
        assert list(caught.value.message_dict) == ["received_at"]


class SuggestionFlowTests:
    def test_decide_then_tell_closes_it(self, shop):
        suggestion = log(shop, shanghai(2026, 3, 2, 10, 0))
        services.suggestion_decide(suggestion=suggestion, by=shop.cast.mia, decision="adopt", note="下月起实行")
        services.suggestion_tell_customer(suggestion=suggestion, by=shop.cast.alice)
        suggestion.refresh_from_db()
        assert (suggestion.status, suggestion.decision) == ("closed", "adopt")
        assert suggestion.decided_at and suggestion.customer_told_at
        with pytest.raises(ApplicationError):
            services.suggestion_decide(suggestion=suggestion, by=shop.cast.mia, decision="not_adopt")

    def test_an_overdue_decision_alerts_the_store_manager_once(self, shop):
        suggestion = log(shop, shanghai(2026, 3, 2, 10, 0))
        due = suggestion.decision_due
        for moment in (due - minutes(1), due):
            with time_machine.travel(moment, tick=False):
                assert services.suggestion_escalation_sweep() == 0
        for expected in (1, 0):
            with time_machine.travel(due + minutes(1), tick=False):
                assert services.suggestion_escalation_sweep() == expected
        assert [m.recipient for m in inbox("suggestion_overdue")] == [shop.cast.mia]
