"""Scorecards (fixes of the issue-12 review): the review recomputes a draft computed before its period ended,
in its own transaction, so a mid-period draft never becomes final; two first computes of the same store and
period do not break on `scorecard_once_per_period`; the monthly sweep goes on with the other stores when one
fails, and logs it."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.db import IntegrityError

from aftersales.analytics import scorecards
from aftersales.analytics.models import Scorecard, ScorecardStatus
from aftersales.analytics.tests import test_scorecards as base
from aftersales.organisation.rules import Party

pytestmark = pytest.mark.django_db
MAY, NOW, D, parts_of = base.MAY, base.NOW, base.D, base.parts_of
figures = base.figures  # the fixture: the catalogue's per-advisor figures of May for store A
MID_MAY = dt.datetime(2026, 5, 20, 2, 0, tzinfo=dt.UTC)


def _alice_card(cast, when: dt.datetime) -> Scorecard:
    with time_machine.travel(when, tick=False):
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
    return next(c for c in cards if c.advisor_id == cast.alice.pk)


def test_the_review_recomputes_a_draft_computed_mid_period(cast, figures, monkeypatch):
    draft = _alice_card(cast, MID_MAY)
    before = draft.score
    assert before is not None and parts_of(draft)["csat"]["value"] == D("81.00")
    monkeypatch.setattr(scorecards, "kpi_by_staff", lambda *a, **k: {})  # the rest of May changed every figure
    with time_machine.travel(NOW, tick=False):
        final = scorecards.scorecard_review(scorecard=draft, user=cast.mia, explanation="Read with May complete.")
    assert final.status == ScorecardStatus.FINAL and final.computed_at == NOW
    assert parts_of(final)["csat"]["value"] is None  # what is final is the figures as of the review
    assert final.score != before


def test_a_draft_computed_after_the_period_ended_is_finalised_as_it_is(cast, figures, monkeypatch):
    draft = _alice_card(cast, NOW)
    before = draft.score
    calls = []
    monkeypatch.setattr(scorecards, "kpi_by_staff", lambda *a, **k: calls.append(a) or {})
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        final = scorecards.scorecard_review(scorecard=draft, user=cast.mia, explanation="What I read.")
    assert not calls
    assert (final.status, final.score, final.computed_at) == (ScorecardStatus.FINAL, before, NOW)


def _competing_insert(cast, monkeypatch, **fields):
    """Another compute of the same store and period inserts alice's scorecard while this one computes (after
    this one found no row to lock)."""
    original = scorecards.scorecard_components

    def racing(*, store, period, advisor_ids, now=None):
        Scorecard.objects.create(store=store, advisor=cast.alice, period=str(period), computed_at=now, **fields)
        return original(store=store, period=period, advisor_ids=advisor_ids, now=now)

    monkeypatch.setattr(scorecards, "scorecard_components", racing)


def test_two_first_computes_do_not_break_on_the_unique_constraint(cast, figures, monkeypatch):
    _competing_insert(cast, monkeypatch, score=D("1"))
    with time_machine.travel(NOW, tick=False):
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
    alice = Scorecard.objects.get(store=cast.store_a, advisor=cast.alice, period="2026-05")  # one row
    assert alice.score == next(c.score for c in cards if c.advisor_id == cast.alice.pk) != D("1")
    assert parts_of(alice)["csat"]["value"] == D("81.00")


def test_a_competing_row_already_final_stays_as_reviewed(cast, figures, monkeypatch):
    _competing_insert(
        cast,
        monkeypatch,
        score=D("1"),
        status=ScorecardStatus.FINAL,
        reviewed_by=cast.mia,
        reviewed_at=NOW,
        explanation="Done.",
    )
    with time_machine.travel(NOW, tick=False):
        scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
    alice = Scorecard.objects.get(store=cast.store_a, advisor=cast.alice, period="2026-05")
    assert (alice.status, alice.score) == (ScorecardStatus.FINAL, D("1"))


def test_the_sweep_goes_on_when_one_store_fails_and_logs_it(cast, figures, monkeypatch, caplog):
    original = scorecards.scorecards_compute

    def failing_at_sh01(*, store, **kwargs):
        if store.pk == cast.store_a.pk:
            raise IntegrityError('duplicate key value violates unique constraint "scorecard_once_per_period"')
        return original(store=store, **kwargs)

    monkeypatch.setattr(scorecards, "scorecards_compute", failing_at_sh01)
    with caplog.at_level(logging.ERROR, logger="aftersales.analytics.scorecards"):
        with time_machine.travel(NOW, tick=False):
            computed = scorecards.scorecards_sweep()
    assert computed >= 1
    assert Scorecard.objects.filter(store=cast.store_b, advisor=cast.carol, period="2026-05").exists()
    assert not Scorecard.objects.filter(store=cast.store_a).exists()
    assert any("SH01" in record.getMessage() for record in caplog.records)
