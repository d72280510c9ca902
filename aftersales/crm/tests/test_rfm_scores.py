"""Quintile RFM scores (NTILE(5)) for analysts, the same on SQLite and PostgreSQL, and the R×F heat-map."""

from __future__ import annotations

import pytest

from aftersales.crm.selectors import rfm_heatmap, rfm_scores
from aftersales.crm.services import tiers_compute
from aftersales.crm.tests.conftest import AS_OF, customer_with

pytestmark = pytest.mark.django_db


class RfmScoreTests:
    def test_ten_customers_make_two_per_quintile_and_the_best_score_five(self, cast):
        # Customer i: last visit i + 1 days ago, i + 1 visits, 100 × (i + 1) each → recent, frequent, rich together.
        for i in range(10):
            customer_with(cast.store_a, [(1 + i + k, "100.00") for k in range(10 - i)], name=f"c{i}")
        customer_with(cast.store_a, [], name="no visit")  # no tier, no score
        tiers_compute(as_of=AS_OF)
        scores = {c.name: (c.r_score, c.f_score, c.m_score) for c in rfm_scores(store_ids=[cast.store_a.pk])}
        assert len(scores) == 10
        assert scores["c0"] == (5, 5, 5) and scores["c1"] == (5, 5, 5)
        assert scores["c9"] == (1, 1, 1) and scores["c8"] == (1, 1, 1)
        grid = rfm_heatmap(store_ids=[cast.store_a.pk])
        assert [grid[n][n] for n in range(5)] == [2, 2, 2, 2, 2]
        assert sum(map(sum, grid)) == 10

    def test_no_customer_gives_an_empty_grid(self, cast):
        assert rfm_heatmap(store_ids=[cast.store_a.pk]) == [[0] * 5 for _ in range(5)]
