"""CAPA flow with its guards, and the monthly frequent issues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from aftersales.core.exceptions import ApplicationError
from aftersales.feedback import selectors, services, transitions
from aftersales.feedback.choices import CapaStatus as C
from aftersales.feedback.tests.conftest import LOW, deliver, grant_survey_consent

from .conftest import shanghai

pytestmark = pytest.mark.django_db


def complaint(shop, category="waiting", at=None):
    at = at or shanghai(2026, 3, 10, 9, 0)
    with time_machine.travel(at, tick=False):
        return services.complaint_log(
            store=shop.store,
            customer=shop.customer,
            channel="phone",
            category=category,
            priority="general",
            description="等待时间过长",
            by=shop.cast.alice,
        )


class CapaTests:
    @pytest.mark.parametrize("source", list(C))
    @pytest.mark.parametrize("target", list(C))
    def test_the_table_decides_every_move(self, shop, source, target):
        assert transitions.allowed(transitions.CAPA_FLOW, source, target) is (target in transitions.CAPA_FLOW[source])

    def test_a_capa_from_a_complaint_walks_to_closed_through_its_guards(self, shop):
        capa = services.capa_open(store=shop.store, by=shop.cast.mia, title="缩短等待", complaint=complaint(shop))
        services.capa_transition(capa=capa, to="analysing", by=shop.cast.mia)
        with pytest.raises(ApplicationError):
            services.capa_transition(capa=capa, to="acting", by=shop.cast.mia)
        services.capa_update(capa=capa, by=shop.cast.mia, root_cause="接待环节人手不足")
        action = services.capa_action_add(
            capa=capa, by=shop.cast.mia, description="高峰期增派顾问", owner=shop.cast.bob, due_date=dt.date(2026, 4, 1)
        )
        services.capa_transition(capa=capa, to="acting", by=shop.cast.mia)
        with pytest.raises(ApplicationError):
            services.capa_transition(capa=capa, to="verifying", by=shop.cast.mia)
        services.capa_action_done(action=action, by=shop.cast.bob)
        services.capa_transition(capa=capa, to="verifying", by=shop.cast.mia)
        with pytest.raises(ApplicationError):
            services.capa_transition(capa=capa, to="closed", by=shop.cast.mia)
        services.capa_update(
            capa=capa,
            by=shop.cast.mia,
            kpi_name="waiting time (min)",
            kpi_before="42",
            kpi_after=Decimal("25"),
            procedure_change="接待SOP：高峰期双顾问",
        )
        services.capa_transition(capa=capa, to="closed", by=shop.cast.mia)
        capa.refresh_from_db()
        assert capa.status == "closed" and capa.closed_at is not None
        assert [e.to_status for e in capa.events.all()] == ["open", "analysing", "acting", "verifying", "closed"]

    def test_the_owner_is_told_once_when_an_action_falls_due_undone(self, shop):
        from aftersales.notifications.models import InboxItem

        capa = services.capa_open(store=shop.store, by=shop.cast.mia, title="缩短等待", complaint=complaint(shop))
        with time_machine.travel(shanghai(2026, 3, 20, 9, 0), tick=False):
            late = services.capa_action_add(
                capa=capa,
                by=shop.cast.mia,
                description="高峰期增派顾问",
                owner=shop.cast.bob,
                due_date=dt.date(2026, 4, 1),
            )
            done = services.capa_action_add(
                capa=capa,
                by=shop.cast.mia,
                description="休息区屏幕",
                owner=shop.cast.alice,
                due_date=dt.date(2026, 4, 1),
            )
            services.capa_action_done(action=done, by=shop.cast.alice)
        assert services.capa_action_due_sweep(now=shanghai(2026, 3, 31, 23, 59)) == 0  # not due yet
        assert services.capa_action_due_sweep(now=shanghai(2026, 4, 1, 0, 1)) == 1
        assert services.capa_action_due_sweep(now=shanghai(2026, 4, 2, 9, 0)) == 0  # once
        [item] = InboxItem.objects.all()
        assert (
            item.recipient == shop.cast.bob
            and "高峰期增派顾问" in item.text_zh_hans
            and f"/feedback/capa/{capa.pk}/" in item.url
        )
        late.refresh_from_db()
        assert late.due_alerted_at == shanghai(2026, 4, 1, 0, 1)

    def test_a_capa_needs_a_source(self, shop):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as caught:
            services.capa_open(store=shop.store, by=shop.cast.mia, title="x")
        assert "cluster_month" in caught.value.message_dict
        capa = services.capa_open(
            store=shop.store,
            by=shop.cast.mia,
            title="价格投诉",
            cluster_category="price",
            cluster_month=dt.date(2026, 3, 17),
        )
        assert capa.cluster_month == dt.date(2026, 3, 1)


class FrequentIssueTests:
    def test_categories_and_low_items_are_ranked_with_the_change_against_last_month(self, shop):
        complaint(shop, "price", at=shanghai(2026, 2, 10, 9, 0))
        complaint(shop, "price", at=shanghai(2026, 2, 11, 9, 0))
        complaint(shop, "waiting", at=shanghai(2026, 3, 3, 9, 0))
        complaint(shop, "waiting", at=shanghai(2026, 3, 4, 9, 0))
        complaint(shop, "price", at=shanghai(2026, 3, 5, 9, 0))
        grant_survey_consent(shop.customer, shop.advisor)
        with time_machine.travel(shanghai(2026, 3, 6, 10, 0), tick=False):
            order = deliver(shop)
            services.survey_response_record(order=order, channel="delivery", answers=LOW, by=shop.advisor)
        issues = selectors.frequent_issues(store_ids={shop.store.pk}, month=dt.date(2026, 3, 1))
        assert [(r.rank, r.key, r.count, r.previous, r.change) for r in issues.complaint_categories] == [
            (1, "waiting", 2, 0, 2),
            (2, "price", 1, 2, -1),
        ]
        low = {r.key: r.count for r in issues.survey_items}
        assert low == {"attitude": 0, "quality": 1, "waiting": 1}
        assert issues.survey_items[0].count == 1
        other = selectors.frequent_issues(store_ids={shop.cast.store_b.pk}, month=dt.date(2026, 3, 1))
        assert other.complaint_categories == [] and other.survey_items == []
