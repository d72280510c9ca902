"""Advisor scorecards (SPEC §7, §10): components computed by hand from figures given to the catalogue's per-advisor
read, attainment capped at 100 %, the weights from settings, re-weighting without data, the review and its
refusals, recomputation never touching a final scorecard, the quarter's service star, the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from aftersales.analytics import scorecards
from aftersales.analytics.catalogue import KpiResult
from aftersales.analytics.models import Scorecard, ScorecardStatus
from aftersales.analytics.periods import Period
from aftersales.config.testing import make_customer, make_user
from aftersales.core.exceptions import ApplicationError
from aftersales.core.models import AuditEntry
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership
from aftersales.organisation.rules import Party
from aftersales.organisation.services import settings_update

D = Decimal
MAY = Period.parse("2026-05")
NOW = dt.datetime(2026, 6, 3, 2, 0, tzinfo=dt.UTC)  # 3 June, 10:00 in Shanghai: May is closed


def result(key: str, value: str | None, target: str | None, numerator: int = 0, denominator: int = 0) -> KpiResult:
    return KpiResult(
        key=key,
        value=None if value is None else D(value),
        numerator=numerator,
        denominator=denominator,
        target=None if target is None else D(target),
        status=None,
    )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def figures(monkeypatch, cast):
    """The catalogue's per-advisor figures of May for store A, chosen so each rule shows:
    alice: CSAT 81 of 90 → 90 %; repurchase 90 of 85 → capped 100 %; waiting 40 min of 30 (lower is better)
    → 75 %; complaints resolved 95 of 95 → 100 %.   bob: CSAT 95 → 100 %, no complaint (no data)."""
    table = {
        "csat_percent": {
            cast.alice.pk: result("csat_percent", "81.00", "90", 81, 100),
            cast.bob.pk: result("csat_percent", "95.00", "90", 19, 20),
        },
        "repurchase_rate_percent": {
            cast.alice.pk: result("repurchase_rate_percent", "90.00", "85", 9, 10),
            cast.bob.pk: result("repurchase_rate_percent", "42.50", "85", 17, 40),
        },
        "waiting_time_minutes": {
            cast.alice.pk: result("waiting_time_minutes", "40.00", "30", 400, 10),
            cast.bob.pk: result("waiting_time_minutes", "20.00", "30", 200, 10),
        },
        "complaint_resolved_in_time_percent": {
            cast.alice.pk: result("complaint_resolved_in_time_percent", "95.00", "95", 19, 20),
        },
    }
    calls = []

    def fake(key, scope, period, cut, *, now=None):
        calls.append((key, scope.store_ids, str(period), cut))
        return table.get(key, {})

    monkeypatch.setattr(scorecards, "kpi_by_staff", fake)
    # Every component's KPI counts as registered (the catalogue may not have all of them yet).
    from aftersales.analytics import catalogue

    catalogue.ensure_loaded()
    for component in scorecards.COMPONENTS:
        if component.kpi_key and component.kpi_key not in catalogue.REGISTRY:
            monkeypatch.setitem(
                catalogue.REGISTRY,
                component.kpi_key,
                catalogue.Kpi(
                    key=component.kpi_key,
                    label=component.kpi_key,
                    definition="",
                    unit="percent",
                    direction="lower" if component.kpi_key == "waiting_time_minutes" else "higher",
                    count=lambda *a: None,  # type: ignore[arg-type,return-value]
                ),
            )
    return calls


def refer(cast, advisor, n: int, when: dt.datetime) -> None:
    """`n` new customers of store A registered at `when`, referred by `advisor`."""
    with time_machine.travel(when, tick=False):
        for i in range(n):
            make_customer(cast.store_a, by=cast.mia, name=f"客户{i}", referred_by_staff=advisor.username)


def parts_of(card: Scorecard) -> dict[str, dict]:
    return {row["key"]: row for row in scorecards.component_rows(card)}


# ------------------------------------------------------------------------------------------------ arithmetic


class TestAttainment:
    def test_higher_is_better_is_value_over_target_capped_at_100(self):
        assert scorecards.attainment(D("81"), D("90"), lower_is_better=False) == D("90.00")
        assert scorecards.attainment(D("99"), D("90"), lower_is_better=False) == D("100")
        assert scorecards.attainment(D("0"), D("90"), lower_is_better=False) == D("0.00")

    def test_lower_is_better_is_target_over_value_capped_at_100(self):
        assert scorecards.attainment(D("40"), D("30"), lower_is_better=True) == D("75.00")
        assert scorecards.attainment(D("45"), D("30"), lower_is_better=True) == D("66.67")
        assert scorecards.attainment(D("20"), D("30"), lower_is_better=True) == D("100")

    def test_no_value_or_no_target_is_no_attainment(self):
        assert scorecards.attainment(None, D("90"), lower_is_better=False) is None
        assert scorecards.attainment(D("90"), None, lower_is_better=False) is None

    def test_a_target_of_zero_is_met(self):
        assert scorecards.attainment(D("0"), D("0"), lower_is_better=False) == D("100")


class TestCompute:
    def test_components_by_hand_with_the_default_weights(self, cast, clock, figures):
        refer(cast, cast.alice, 3, dt.datetime(2026, 5, 10, 2, 0, tzinfo=dt.UTC))  # target 2 a month → 100 %
        refer(cast, cast.alice, 1, dt.datetime(2026, 4, 30, 15, 59, tzinfo=dt.UTC))  # 23:59 on 30 April: not May
        refer(cast, cast.bob, 1, dt.datetime(2026, 5, 31, 15, 59, tzinfo=dt.UTC))  # 23:59 on 31 May: May

        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)

        alice = next(c for c in cards if c.advisor_id == cast.alice.pk)
        parts = parts_of(alice)
        assert [p["key"] for p in alice.components] == ["csat", "repurchase", "referrals", "efficiency", "complaints"]
        assert (parts["csat"]["attainment"], parts["csat"]["points"]) == (D("90.00"), D("27.00"))
        assert (parts["repurchase"]["attainment"], parts["repurchase"]["points"]) == (D("100"), D("20.00"))
        assert (parts["referrals"]["value"], parts["referrals"]["target"]) == (D("3"), D("2"))
        assert parts["referrals"]["points"] == D("15.00")
        assert parts["efficiency"]["lower_is_better"] is True
        assert (parts["efficiency"]["attainment"], parts["efficiency"]["points"]) == (D("75.00"), D("11.25"))
        assert parts["complaints"]["points"] == D("20.00")
        # 27 + 20 + 15 + 11.25 + 20
        assert alice.score == D("93.25")
        assert alice.status == ScorecardStatus.DRAFT
        assert {call[0] for call in figures} >= {"csat_percent", "complaint_resolved_in_time_percent"}
        assert all(call[3] == "advisor" and call[2] == "2026-05" for call in figures)

    def test_a_component_without_data_is_left_out_and_the_others_re_weighted(self, cast, clock, figures):
        refer(cast, cast.bob, 1, dt.datetime(2026, 5, 31, 15, 59, tzinfo=dt.UTC))
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
        bob = next(c for c in cards if c.advisor_id == cast.bob.pk)
        parts = parts_of(bob)
        assert parts["complaints"]["attainment"] is None and parts["complaints"]["points"] is None
        # Weights 30/20/15/15 over 80 → 37.5/25/18.75/18.75.
        assert parts["csat"]["effective_weight"] == D("37.50")
        # CSAT 100 %, repurchase 42.5/85 = 50 %, referrals 1/2 = 50 %, waiting 20 ≤ 30 → 100 %:
        # (100·30 + 50·20 + 50·15 + 100·15) / 80 = 6250 / 80 = 78.125 → 78.13
        assert (parts["repurchase"]["attainment"], parts["referrals"]["attainment"]) == (D("50.00"), D("50.00"))
        assert bob.score == D("78.13")

    def test_the_weights_come_from_the_settings_in_force_at_the_store(self, cast, clock, figures):
        settings_update(
            group=cast.group,
            store=None,
            changes={"scorecard_weight_csat": 40, "scorecard_weight_complaints": 10},
            by=cast.grace,
        )
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
        alice = next(c for c in cards if c.advisor_id == cast.alice.pk)
        parts = parts_of(alice)
        assert parts["csat"]["weight"] == D("40") and parts["complaints"]["weight"] == D("10")
        # No referral: 0 of 2 → 0 %.  90·40 + 100·20 + 0·15 + 75·15 + 100·10 = 7725 → 77.25
        assert parts["referrals"]["attainment"] == D("0.00")
        assert alice.score == D("77.25")

    def test_a_quarter_multiplies_the_referral_target_by_its_months(self, cast, clock, figures):
        with time_machine.travel(dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC), tick=False):
            cards = scorecards.scorecards_compute(store=cast.store_a, period=Period.parse("2026-Q2"), by=Party.SYSTEM)
        assert parts_of(cards[0])["referrals"]["target"] == D("6")

    def test_recomputing_replaces_a_draft_but_never_a_final_scorecard(self, cast, clock, figures, monkeypatch):
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
        alice = next(c for c in cards if c.advisor_id == cast.alice.pk)
        scorecards.scorecard_review(scorecard=alice, user=cast.mia, explanation="Good month; wait less.")
        monkeypatch.setattr(scorecards, "kpi_by_staff", lambda *a, **k: {})  # every figure gone
        again = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
        assert Scorecard.objects.filter(store=cast.store_a, period="2026-05").count() == 2
        kept = next(c for c in again if c.advisor_id == cast.alice.pk)
        assert kept.pk == alice.pk and kept.score == D("93.25") - D("15")  # no referral made in this test
        assert kept.status == ScorecardStatus.FINAL
        bob = next(c for c in again if c.advisor_id == cast.bob.pk)
        assert parts_of(bob)["csat"]["value"] is None  # the draft was replaced

    def test_only_the_system_or_a_reviewer_computes(self, cast, clock, figures):
        with pytest.raises(PermissionDenied):
            scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=cast.alice)
        scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=cast.mia)
        assert AuditEntry.objects.filter(action="scorecard.compute", store_id=cast.store_a.pk).exists()


class TestReview:
    @pytest.fixture
    def card(self, cast, clock, figures):
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
        return next(c for c in cards if c.advisor_id == cast.alice.pk)

    def test_a_manager_explains_and_marks_it_final_audited(self, cast, card):
        done = scorecards.scorecard_review(scorecard=card, user=cast.mia, explanation="  Waiting time is the gap. ")
        assert done.status == ScorecardStatus.FINAL
        assert (done.reviewed_by, done.explanation) == (cast.mia, "Waiting time is the gap.")
        assert done.reviewed_at == NOW
        entry = AuditEntry.objects.get(action="scorecard.review")
        assert (entry.actor, entry.object_id, entry.store_id) == (cast.mia, str(card.pk), cast.store_a.pk)

    def test_the_explanation_is_required_and_the_error_names_it(self, cast, card):
        for blank in ("", "   ", None):
            with pytest.raises(ValidationError) as excinfo:
                scorecards.scorecard_review(scorecard=card, user=cast.mia, explanation=blank)
            assert list(excinfo.value.message_dict) == ["explanation"]
        card.refresh_from_db()
        assert card.status == ScorecardStatus.DRAFT

    def test_an_advisor_cannot_review_their_own_even_holding_the_capability(self, cast, card):
        # alice also manages store A: she holds REVIEW_SCORECARDS there, but this is her own scorecard.
        Membership.objects.create(user=cast.alice, group=cast.group, store=cast.store_a, role=Role.MANAGER)
        cast.alice = type(cast.alice).objects.get(pk=cast.alice.pk)  # forget the cached roles
        with pytest.raises(PermissionDenied) as excinfo:
            scorecards.scorecard_review(scorecard=card, user=cast.alice, explanation="I was great.")
        assert "own" in str(excinfo.value)
        card.refresh_from_db()
        assert card.status == ScorecardStatus.DRAFT

    def test_without_the_capability_in_the_store_it_is_refused(self, cast, card):
        other_manager = make_user("hank", Role.MANAGER, store=cast.store_b)
        for user in (cast.bob, cast.tom, other_manager, cast.otto):
            with pytest.raises(PermissionDenied):
                scorecards.scorecard_review(scorecard=card, user=user, explanation="Fine.")
        card.refresh_from_db()
        assert card.status == ScorecardStatus.DRAFT

    def test_the_group_manager_may_review(self, cast, card):
        assert scorecards.scorecard_review(scorecard=card, user=cast.grace, explanation="OK").status == "final"

    def test_a_final_scorecard_is_not_reviewed_twice(self, cast, card):
        scorecards.scorecard_review(scorecard=card, user=cast.mia, explanation="First.")
        with pytest.raises(ApplicationError):
            scorecards.scorecard_review(scorecard=card, user=cast.grace, explanation="Second.")
        card.refresh_from_db()
        assert card.explanation == "First."

    def test_a_period_not_over_is_not_reviewed(self, cast, clock, figures):
        june = scorecards.scorecards_compute(store=cast.store_a, period=Period.parse("2026-06"), by=Party.SYSTEM)
        with pytest.raises(ApplicationError):
            scorecards.scorecard_review(scorecard=june[0], user=cast.mia, explanation="Too early.")


class TestServiceStar:
    Q2 = Period.parse("2026-Q2")

    def cards(self, cast, scores: dict):
        now = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)
        made = {}
        for user, score in scores.items():
            made[user.username] = Scorecard.objects.create(
                store=cast.store_a, advisor=user, period=str(self.Q2), score=D(score), components=[], computed_at=now
            )
        return made

    def test_the_star_goes_to_the_top_reviewed_scorecard_only(self, cast):
        extra = make_user("ivy", Role.ADVISOR, store=cast.store_a)
        made = self.cards(cast, {cast.alice: "91", cast.bob: "85", extra: "70"})
        with time_machine.travel(dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC), tick=False):
            stars, provisional = scorecards.star_candidates(list(made.values()))
            assert ([c.advisor_id for c in stars], provisional) == ([cast.alice.pk], True)
            assert scorecards.service_star_mark(store=cast.store_a, period=self.Q2) == []  # provisional: not stored
            scorecards.scorecard_review(scorecard=made["bob"], user=cast.mia, explanation="Solid.")
            scorecards.scorecard_review(scorecard=made["ivy"], user=cast.mia, explanation="Learning.")
        stars = Scorecard.objects.filter(star=True)
        assert [c.advisor_id for c in stars] == [cast.bob.pk]  # alice's 91 is not reviewed yet

    def test_equal_top_scores_share_the_star(self, cast):
        made = self.cards(cast, {cast.alice: "88.50", cast.bob: "88.50"})
        with time_machine.travel(dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC), tick=False):
            for card in made.values():
                scorecards.scorecard_review(scorecard=card, user=cast.mia, explanation="Equal.")
        assert sorted(Scorecard.objects.filter(star=True).values_list("advisor_id", flat=True)) == sorted(
            [cast.alice.pk, cast.bob.pk]
        )


class TestPages:
    @pytest.fixture
    def card(self, cast, clock, figures):
        cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
        return next(c for c in cards if c.advisor_id == cast.alice.pk)

    def test_the_manager_lists_reviews_and_the_advisor_reads_their_own(self, client, cast, card):
        client.force_login(cast.mia)
        page = client.get(reverse("analytics:scorecards") + "?store=SH01&period=2026-05")
        assert page.status_code == 200 and "78.25" in page.content.decode()  # no referral here
        detail = client.get(reverse("analytics:scorecard-detail", args=[card.pk]))
        assert detail.status_code == 200 and 'data-chart="scorecard-chart"' in detail.content.decode()
        missing = client.post(reverse("analytics:scorecard-review", args=[card.pk]), {"explanation": " "})
        assert missing.status_code == 400 and 'data-error-for="explanation"' in missing.content.decode()
        done = client.post(reverse("analytics:scorecard-review", args=[card.pk]), {"explanation": "Well done."})
        assert done.status_code == 302
        client.force_login(cast.alice)
        mine = client.get(reverse("analytics:my-scorecards"))
        assert reverse("analytics:scorecard-detail", args=[card.pk]) in mine.content.decode()
        own = client.get(reverse("analytics:scorecard-detail", args=[card.pk]))
        assert own.status_code == 200 and "Well done." in own.content.decode()

    def test_a_draft_is_shown_to_the_advisor_as_not_reviewed(self, client, cast, card):
        client.force_login(cast.alice)
        page = client.get(reverse("analytics:scorecard-detail", args=[card.pk]), HTTP_ACCEPT_LANGUAGE="en")
        assert "Not reviewed: may still change" in page.content.decode()
        assert "scorecard-review-form" not in page.content.decode()

    def test_a_colleague_and_another_store_get_404(self, client, cast, card):
        for user in (cast.bob, cast.carol, cast.otto):
            client.force_login(user)
            assert client.get(reverse("analytics:scorecard-detail", args=[card.pk])).status_code == 404
        client.force_login(cast.bob)
        assert client.get(reverse("analytics:scorecards")).status_code == 403


def test_through_the_real_catalogue_a_month_without_records_scores_the_referrals_alone(cast, clock):
    """No survey, order or complaint: every KPI component has no data and is left out; the referrals (1 of 2)
    carry the whole weight: 50 %."""
    refer(cast, cast.alice, 1, dt.datetime(2026, 5, 10, 2, 0, tzinfo=dt.UTC))
    cards = scorecards.scorecards_compute(store=cast.store_a, period=MAY, by=Party.SYSTEM)
    alice = next(c for c in cards if c.advisor_id == cast.alice.pk)
    parts = parts_of(alice)
    assert [k for k, p in parts.items() if p["attainment"] is None] == [
        "csat",
        "repurchase",
        "efficiency",
        "complaints",
    ]
    assert parts["referrals"]["effective_weight"] == D("100.00")
    assert alice.score == D("50.00")
    bob = next(c for c in cards if c.advisor_id == cast.bob.pk)
    assert bob.score == D("0.00")
