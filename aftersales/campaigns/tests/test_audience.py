"""The audience builder (one query, every filter), the seeded split and the preview before sending."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from aftersales.campaigns.audience import AudienceFilter, arm_for, audience_clean
from aftersales.campaigns.selectors import campaign_audience, campaign_preview
from aftersales.customers.choices import Powertrain
from aftersales.messaging.choices import Purpose
from aftersales.messaging.services import message_enqueue
from aftersales.organisation.services import settings_update
from aftersales.service.models import DeferredWork

from .conftest import customer, shanghai, visit

pytestmark = pytest.mark.django_db


def names(store, **raw):
    return sorted(c.name for c in campaign_audience(store=store, audience=audience_clean(raw)))


@pytest.fixture
def people(cast, clock_at):
    store = cast.store_a
    a = customer(store, name="甲", tier="A", model_name="ID.4 CROZZ", powertrain=Powertrain.BEV, mileage_km=30000)
    b = customer(store, name="乙", tier="B", model_name="朗逸", mileage_km=80000)
    c = customer(store, name="丙", tier="D", model_name="帕萨特", powertrain=Powertrain.PHEV, mileage_km=5000)
    customer(cast.store_b, name="外店", tier="A")  # another store: never in store A's audience
    visit(a, arrived=shanghai(2025, 6, 1, 9))
    visit(b, arrived=shanghai(2025, 6, 1, 9))
    visit(b, arrived=shanghai(2026, 1, 10, 9))  # b's last visit is January
    DeferredWork.objects.create(
        store=store,
        vehicle=c.vehicles.first(),
        description="刹车片",
        amount="480.00",
        suggested_date=dt.date(2026, 4, 1),
    )
    return store


class AudienceTests:
    def test_an_empty_filter_is_every_customer_of_the_store(self, people):
        assert names(people) == ["丙", "乙", "甲"]

    def test_each_filter_selects(self, people):
        assert names(people, tiers=["A", "D"]) == ["丙", "甲"]
        assert names(people, nev="nev") == ["丙", "甲"]
        assert names(people, nev="non_nev") == ["乙"]
        assert names(people, model_contains="id.4") == ["甲"]
        assert names(people, mileage_min=20000, mileage_max=50000) == ["甲"]
        assert names(people, open_deferred=True) == ["丙"]

    def test_the_last_visit_range_looks_at_the_last_delivered_visit(self, people):
        assert names(people, last_visit_from="2025-05-01", last_visit_to="2025-07-01") == ["甲"]  # b came back since
        assert names(people, last_visit_from="2026-01-01") == ["乙"]

    def test_vehicle_conditions_hold_for_one_vehicle(self, people):
        # 甲's BEV has 30 000 km: an NEV with over 50 000 km is nobody, even if another car had the mileage.
        assert names(people, nev="nev", mileage_min=50000) == []

    def test_it_is_one_query(self, people, django_assert_num_queries):
        audience = audience_clean({"tiers": ["A"], "nev": "nev", "last_visit_to": "2026-02-01", "open_deferred": "on"})
        with django_assert_num_queries(1):
            list(campaign_audience(store=people, audience=audience))

    def test_bad_input_names_the_field(self):
        with pytest.raises(ValidationError) as caught:
            audience_clean({"tiers": ["E"], "nev": "diesel", "mileage_min": "x", "last_visit_from": "2026-13-01"})
        assert set(caught.value.message_dict) == {"tiers", "nev", "mileage_min", "last_visit_from"}
        with pytest.raises(ValidationError) as caught:
            audience_clean(
                {
                    "mileage_min": 9000,
                    "mileage_max": 100,
                    "last_visit_from": "2026-02-01",
                    "last_visit_to": "2026-01-01",
                }
            )
        assert set(caught.value.message_dict) == {"mileage_max", "last_visit_to"}

    def test_the_filter_round_trips_through_json(self):
        audience = audience_clean({"tiers": ["B", "A"], "last_visit_from": "2026-01-01", "open_deferred": True})
        assert audience_clean(audience.as_json()) == audience
        assert AudienceFilter().is_empty


class ArmTests:
    def test_the_arm_is_the_same_every_time_and_differs_between_campaigns(self):
        first = [arm_for(campaign_id=7, customer_id=i, control_percent=10) for i in range(2000)]
        again = [arm_for(campaign_id=7, customer_id=i, control_percent=10) for i in range(2000)]
        other = [arm_for(campaign_id=8, customer_id=i, control_percent=10) for i in range(2000)]
        assert first == again
        assert first != other
        share = Counter(first)["control"] / 2000
        assert 0.08 < share < 0.12

    def test_no_control_at_zero_percent(self):
        assert {arm_for(campaign_id=1, customer_id=i, control_percent=0) for i in range(500)} == {"treatment"}


class PreviewTests:
    def test_it_counts_the_split_and_who_would_be_skipped(self, cast, clock_at):
        store = cast.store_a
        settings_update(
            group=store.group,
            store=store,
            changes={"campaign_control_share_percent": 20, "campaign_frequency_cap_messages": 1},
            by=cast.mia,
        )
        everyone = [customer(store, name=f"客{i}", consent=i % 3 != 0) for i in range(30)]
        capped = everyone[1]  # consented; one marketing message this month already
        message_enqueue(
            store=store,
            template="maintenance_reminder",
            customer=capped,
            purpose=Purpose.MARKETING,
            context={"name": "x", "plate": "x", "due": "x", "store": "x", "phone": "x"},
        )
        preview = campaign_preview(store=store, audience=AudienceFilter(), campaign_id=41)
        arms = {p.pk: arm_for(campaign_id=41, customer_id=p.pk, control_percent=20) for p in everyone}
        treated = [p for p in everyone if arms[p.pk] == "treatment"]
        assert (preview.total, preview.control_percent, preview.exact) == (30, 20, True)
        assert preview.treatment == len(treated) and preview.control == 30 - len(treated)
        no_consent = [p for p in treated if everyone.index(p) % 3 == 0]
        assert preview.no_consent == len(no_consent)
        assert preview.capped == (1 if arms[capped.pk] == "treatment" else 0)
        assert preview.will_send == len(treated) - len(no_consent) - preview.capped
        assert len(preview.sample) == 10
        assert all("*" in row.name and "****" in row.phone for row in preview.sample)

    def test_without_consent_nobody_would_be_sent_anything(self, cast, clock_at):
        # Campaigns are marketing only: there is no purpose left that would skip the consent.
        settings_update(
            group=cast.group, store=cast.store_a, changes={"campaign_control_share_percent": 0}, by=cast.mia
        )
        for i in range(5):
            customer(cast.store_a, name=f"客{i}", consent=False)
        preview = campaign_preview(store=cast.store_a, audience=AudienceFilter())
        assert preview.treatment == preview.no_consent == 5
        assert preview.will_send == 0
