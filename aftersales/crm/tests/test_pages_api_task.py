"""The tier object of GET /api/v1/customers/{id}, the tiers page (who sees it, the drill-down, masking), the
recompute button (who may press it) and the nightly task."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from aftersales.config.testing import make_user
from aftersales.core.models import AuditEntry
from aftersales.crm.models import TierChange
from aftersales.crm.services import tiers_compute
from aftersales.crm.tests.conftest import AS_OF, SHANGHAI, customer_with
from aftersales.customers.models import Customer
from aftersales.organisation.choices import Role

pytestmark = pytest.mark.django_db

LOYAL = [(5, "3750.00"), (6, "3750.00"), (7, "3750.00"), (8, "3750.00")]


class ApiTierTests:
    def test_the_customer_carries_its_tier_object(self, cast, client, api_token):
        loyal = customer_with(cast.store_a, LOYAL, name="loyal")
        fresh = customer_with(cast.store_a, [], name="fresh")
        tiers_compute(as_of=AS_OF)
        headers = api_token(cast.alice)
        body = client.get(f"/api/v1/customers/{loyal.pk}", **headers).json()
        assert body["tier"] == {
            "code": "A",
            "rule": "R ≤ 90 ∧ F ≥ 4 ∧ M ≥ 15000.00",
            "r_days": 5,
            "f": 4,
            "m": "15000.00",
        }
        assert body["is_priority"] is True
        assert {"id", "store", "name", "phone_masked", "vehicles"} <= set(body)
        body = client.get(f"/api/v1/customers/{fresh.pk}", **headers).json()
        assert body["tier"] == {"code": None, "rule": "", "r_days": None, "f": 0, "m": "0.00"}


class TiersPageTests:
    def test_a_manager_sees_counts_shares_rules_and_the_heatmap(self, cast, client):
        customer_with(cast.store_a, LOYAL, name="loyal")
        customer_with(cast.store_a, [(3, "100.00")], name="new")
        tiers_compute(as_of=AS_OF)
        client.force_login(cast.mia)
        page = client.get(reverse("crm:tiers"))
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="tier-table"' in html and 'data-store="SH01"' in html
        assert "R ≤ 90 ∧ F ≥ 4 ∧ M ≥ 15000.00" in html
        assert 'id="rfm-heatmap"' in html and 'id="store-chart"' in html
        assert 'id="tiers-recompute"' in html
        first = page.context["summary"][0]
        assert (first["key"], first["count"], first["share"], first["badge"]) == ("A", 1, 50.0, "success")

    def test_the_drill_down_lists_a_tier_with_masked_phones_and_pages(self, cast, client):
        for n in range(27):
            customer_with(cast.store_a, [(3 + n, "100.00")], name=f"c{n}", phone=f"1380000{n:04d}")
        tiers_compute(as_of=AS_OF)
        client.force_login(cast.mia)
        page = client.get(reverse("crm:tiers"), {"tier": "C"})
        assert page.context["page"].paginator.count == 27  # R 3 … 29: new (≤ 30), and R 30 is customer 27
        assert len(page.context["customers"]) == 25
        html = page.content.decode()
        assert "138****0000" in html and "13800000000" not in html
        second = client.get(reverse("crm:tiers"), {"tier": "C", "page": "2"})
        assert len(second.context["customers"]) == 2

    def test_the_profile_link_is_offered_only_for_customers_the_user_may_open(self, cast, client):
        from aftersales.crm.tests.conftest import visit

        own = customer_with(cast.store_a, [(3, "100.00")], name="own")
        elsewhere = customer_with(cast.store_b, [], name="elsewhere")  # registered at HZ01, last visit at SH01
        visit(elsewhere, AS_OF - dt.timedelta(days=4), store=cast.store_a)
        tiers_compute(as_of=AS_OF)
        client.force_login(cast.mia)
        rows = {
            c["customer"].name: c["url"] for c in client.get(reverse("crm:tiers"), {"tier": "C"}).context["customers"]
        }
        assert rows == {"own": reverse("crm:customer-profile", args=[own.pk]), "elsewhere": ""}

    def test_a_bad_tier_is_no_drill_down(self, cast, client):
        client.force_login(cast.mia)
        page = client.get(reverse("crm:tiers"), {"tier": "Z"})
        assert page.status_code == 200 and page.context["tier"] == ""

    def test_an_advisor_may_not_see_it_and_the_menu_does_not_offer_it(self, cast, client):
        client.force_login(cast.alice)
        assert client.get(reverse("crm:tiers")).status_code == 403
        assert reverse("crm:tiers") not in client.get(reverse("home")).content.decode()
        client.force_login(cast.mia)
        assert reverse("crm:tiers") in client.get(reverse("home")).content.decode()

    def test_a_manager_counts_only_their_stores(self, cast, client):
        customer_with(cast.store_a, [(3, "100.00")], name="a")
        customer_with(cast.store_b, [(3, "100.00")], name="b")
        tiers_compute(as_of=AS_OF)
        client.force_login(cast.mia)
        page = client.get(reverse("crm:tiers"), {"tier": "C"})
        assert [row["row"].store.code for row in page.context["rows"]] == ["SH01"]
        assert [c["customer"].name for c in page.context["customers"]] == ["a"]


class RecomputeTests:
    def test_a_manager_recomputes_and_it_is_audited(self, cast, client):
        customer = customer_with(cast.store_a, [(3, "100.00")], name="new")
        outside = customer_with(cast.store_b, [(3, "100.00")], name="outside")
        client.force_login(cast.mia)
        with time_machine.travel(dt.datetime(2026, 6, 30, 9, 0, tzinfo=SHANGHAI), tick=False):
            response = client.post(reverse("crm:tiers-recompute"))
        assert response.status_code == 302
        assert Customer.objects.get(pk=customer.pk).tier == "C"
        assert Customer.objects.get(pk=outside.pk).tier == ""  # not mia's store
        entry = AuditEntry.objects.get(action="tiers.recompute")
        assert entry.actor == cast.mia and entry.changes["customers"] == 1

    @pytest.mark.parametrize("who", ["alice", "tom", "dan"])
    def test_other_roles_may_not_recompute(self, cast, client, who):
        customer_with(cast.store_a, [(3, "100.00")], name="new")
        client.force_login(getattr(cast, who))
        assert client.post(reverse("crm:tiers-recompute")).status_code == 403
        assert not TierChange.objects.exists()
        assert not AuditEntry.objects.filter(action="tiers.recompute").exists()

    def test_a_group_manager_may_and_get_is_refused(self, cast, client):
        customer_with(cast.store_b, [(3, "100.00")], name="new")
        client.force_login(cast.grace)
        assert client.get(reverse("crm:tiers-recompute")).status_code == 405
        assert client.post(reverse("crm:tiers-recompute")).status_code == 302
        assert TierChange.objects.count() == 1

    def test_an_agent_of_the_store_may_not(self, cast, client):
        agent = make_user("ann", Role.AGENT, store=cast.store_a)
        client.force_login(agent)
        assert client.post(reverse("crm:tiers-recompute")).status_code == 403


class NightlyTaskTests:
    def test_the_task_computes_as_of_the_shanghai_day_and_a_rerun_changes_nothing(self, cast):
        from aftersales.crm.tasks import tiers_nightly

        customer = customer_with(cast.store_a, [(3, "100.00")], name="new")
        # 02:30 in Shanghai on 1 July is still 30 June in UTC: R counts from 1 July.
        with time_machine.travel(dt.datetime(2026, 7, 1, 2, 30, tzinfo=SHANGHAI), tick=False):
            first = tiers_nightly.call_local()
            second = tiers_nightly.call_local()
        assert first["as_of"] == "2026-07-01" and first["changed"] == 1
        assert (second["changed"], second["updated"]) == (0, 0)
        assert Customer.objects.get(pk=customer.pk).tier_recency_days == 4

    def test_it_is_scheduled_at_two_thirty_in_shanghai(self):
        from aftersales.crm.tasks import tiers_nightly

        validate = tiers_nightly.task_class().validate_datetime
        assert validate(dt.datetime(2026, 6, 30, 18, 30))  # Huey's clock is UTC: 02:30 in Shanghai
        assert not validate(dt.datetime(2026, 6, 30, 2, 30))
