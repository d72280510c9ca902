"""Advisor scorecards (SPEC §7) and the quarter's service star, reviewed by a manager before they are final (§10).

A scorecard has five components, each read from the KPI catalogue for the advisor (`kpi_by_staff`, the same
figures as the dashboards) or, for referrals, from the CRM's referral counts:

| component | figure | target |
|---|---|---|
| csat | `csat_percent` of the advisor's orders | the KPI's target setting |
| repurchase | `repurchase_rate_percent` of the advisor's customers | the KPI's target setting |
| referrals | new customers the advisor referred in the period | `scorecard_target_referrals` per month × months |
| efficiency | `EFFICIENCY_KEY` of the advisor's orders | the KPI's target setting |
| complaints | `complaint_resolved_in_time_percent` of the advisor's complaints | the KPI's target setting |

attainment = value / target (lower-is-better: target / value), capped at 100 %; a value meeting a target of 0 (or a
lower-is-better value of 0) attains 100 %.  points = attainment × weight / 100.  A component without data (no
population: no survey, no complaint) is left out and the weights of the others are scaled up to 100 (shown as
`effective_weight`), so an advisor is neither punished nor rewarded for having had no complaint; with no component
with data there is no score.  Referrals always have data (0 is a count)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from aftersales.analytics import catalogue
from aftersales.analytics.models import Scorecard, ScorecardStatus
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_by_staff, scope_for_store
from aftersales.analytics.transitions import SCORECARD
from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.crm.selectors import referral_counts
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.rules import Actor, actor_user
from aftersales.organisation.selectors import setting_values_for_store

logger = logging.getLogger("aftersales.analytics.scorecards")
HUNDRED = Decimal(100)
TWO = Decimal("0.01")
# Repair efficiency of an advisor (docs/kpis-scorecards.md): the mean minutes a customer waiting on site waits from
# arrival to the first work start on the advisor's orders (lower is better, target `target_waiting_minutes`) — the
# part of the repair's speed the advisor controls (reception, estimate, dispatch request).  Ready-on-promise would
# need a promised time the orders do not record; mean repair duration mixes service types an advisor does not choose.
EFFICIENCY_KEY = "waiting_time_minutes"

REVIEW_OWN = gettext_noop("An advisor cannot review their own scorecard.")
REVIEW_NOT_DRAFT = gettext_noop("This scorecard is already reviewed.")
REVIEW_OPEN_PERIOD = gettext_noop("The period is not over yet; a scorecard is reviewed once its period has ended.")
EXPLANATION_REQUIRED = gettext_noop("Explain the score to the advisor before marking it reviewed.")


@dataclass(frozen=True)
class Component:
    key: str  # the component's name in the stored JSON
    label: str | Promise
    weight_setting: str
    kpi_key: str | None  # None: referrals (from the CRM)
    target_setting: str | None = None  # only when the KPI's own target setting is not the one


COMPONENTS: tuple[Component, ...] = (
    Component("csat", gettext_lazy("Customer satisfaction (CSAT)"), "scorecard_weight_csat", "csat_percent"),
    Component("repurchase", gettext_lazy("Repurchase rate"), "scorecard_weight_repurchase", "repurchase_rate_percent"),
    Component(
        "referrals",
        gettext_lazy("Referrals"),
        "scorecard_weight_referrals",
        None,
        target_setting="scorecard_target_referrals",
    ),
    Component("efficiency", gettext_lazy("Repair efficiency"), "scorecard_weight_efficiency", EFFICIENCY_KEY),
    Component(
        "complaints",
        gettext_lazy("Complaint handling"),
        "scorecard_weight_complaints",
        "complaint_resolved_in_time_percent",
    ),
)
COMPONENT_LABELS = {c.key: c.label for c in COMPONENTS}


def _q(number: Decimal) -> Decimal:
    return number.quantize(TWO, rounding=ROUND_HALF_UP)


def attainment(value: Decimal | None, target: Decimal | None, *, lower_is_better: bool) -> Decimal | None:
    """value / target (lower is better: target / value) in %, capped at 100; None without a value or target."""
    if value is None or target is None:
        return None
    if lower_is_better:
        if value <= 0 or value <= target:
            return HUNDRED
        return _q(min(HUNDRED, target * HUNDRED / value))
    if target <= 0 or value >= target:
        return HUNDRED
    return _q(max(Decimal(0), value * HUNDRED / target))


def score_of(parts: list[dict[str, Any]]) -> Decimal | None:
    """Fill in each part's effective weight and points (re-weighting over the parts with an attainment); the score
    is the sum of the points, 0–100, or None when no part has data."""
    with_data = [p for p in parts if p["attainment"] is not None]
    total_weight = sum((Decimal(p["weight"]) for p in with_data), Decimal(0))
    for part in parts:
        if part["attainment"] is None or total_weight == 0:
            part["effective_weight"] = None
            part["points"] = None
            continue
        effective = Decimal(part["weight"]) * HUNDRED / total_weight
        part["effective_weight"] = _q(effective)
        part["points"] = _q(Decimal(part["attainment"]) * effective / HUNDRED)
    if not with_data or total_weight == 0:
        return None
    # Summed from the unrounded points, so the score never drifts by a rounding cent from the weights.
    raw = sum(
        (Decimal(p["attainment"]) * Decimal(p["weight"]) / total_weight for p in with_data),
        Decimal(0),
    )
    return _q(min(HUNDRED, raw))


def _jsonable(part: dict[str, Any]) -> dict[str, Any]:
    """Decimals as strings with two places (JSON has no decimal; floats would lose the cent)."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in part.items()}


# ------------------------------------------------------------------------------------------------ computing


def advisors_of(store: Store) -> list[Any]:
    """The store's advisors: active users with an advisor membership in the store, by id."""
    memberships = Membership.objects.filter(store=store, role=Role.ADVISOR, user__is_active=True)
    seen: dict[int, Any] = {}
    for membership in memberships.select_related("user").order_by("user_id"):
        seen.setdefault(membership.user_id, membership.user)
    return list(seen.values())


def scorecard_components(
    *, store: Store, period: Period, advisor_ids: list[int], now: dt.datetime | None = None
) -> dict[int, tuple[Decimal | None, list[dict[str, Any]]]]:
    """{advisor id: (score, components)} for the advisors of a store and period, read from the catalogue: one
    per-advisor query per KPI component, one for the referrals, whatever the number of advisors."""
    now = now or clock.now()
    catalogue.ensure_loaded()
    values = setting_values_for_store(store)
    scope = scope_for_store(store)
    figures: dict[str, dict[int, catalogue.KpiResult]] = {}
    for component in COMPONENTS:
        if component.kpi_key is not None and component.kpi_key in catalogue.REGISTRY:
            figures[component.key] = kpi_by_staff(component.kpi_key, scope, period, "advisor", now=now)
    referrals = referral_counts(store_ids=[store.pk], start=period.start, end=period.end).by_staff
    referral_target = Decimal(values["scorecard_target_referrals"]) * len(period.months())
    result: dict[int, tuple[Decimal | None, list[dict[str, Any]]]] = {}
    for advisor_id in advisor_ids:
        parts: list[dict[str, Any]] = []
        for component in COMPONENTS:
            weight = Decimal(values[component.weight_setting])
            numerator: Decimal | int
            if component.kpi_key is None:
                count = referrals.get(advisor_id, 0)
                value: Decimal | None = Decimal(count)
                target: Decimal | None = referral_target
                lower, numerator, denominator, unit, reason = False, count, 1, "number", ""
            elif component.key not in figures:  # not (yet) in the catalogue: no data, re-weighted
                value, target, lower, numerator, denominator, unit = None, None, False, 0, 0, ""
                reason = "not_in_catalogue"
            else:
                kpi = catalogue.registered(component.kpi_key)
                figure = figures[component.key].get(advisor_id)
                value = figure.value if figure else None
                target = figure.target if figure else None
                if target is None and kpi.target_setting:
                    target = Decimal(values[kpi.target_setting])
                lower = kpi.direction != "higher"
                numerator = figure.numerator if figure else 0
                denominator = figure.denominator if figure else 0
                unit = kpi.unit
                reason = (figure.reason if figure else "") or ("" if value is not None else "no_data")
            parts.append(
                {
                    "key": component.key,
                    "kpi": component.kpi_key or "referrals",
                    "unit": unit,
                    "lower_is_better": lower,
                    "value": value,
                    "numerator": numerator,
                    "denominator": denominator,
                    "target": target,
                    "attainment": attainment(value, target, lower_is_better=lower),
                    "weight": weight,
                    "reason": reason,
                }
            )
        score = score_of(parts)
        result[advisor_id] = (score, [_jsonable(p) for p in parts])
    return result


@transaction.atomic
def scorecards_compute(
    *, store: Store, period: Period, by: Actor, now: dt.datetime | None = None, advisors: list[Any] | None = None
) -> list[Scorecard]:
    """Compute (or recompute) the drafts of the store's advisors for the period.  A final scorecard is never
    replaced: it is what the manager explained and the advisor was told.  Returns the scorecards of the period."""
    SCORECARD.authorise(SCORECARD.get("compute"), actor=by, store_id=store.pk)
    now = now or clock.now()
    advisors = advisors if advisors is not None else advisors_of(store)
    key = str(period)
    # Lock the period's rows so a manager's recompute and the monthly job do not interleave.
    existing = {
        card.advisor_id: card
        for card in Scorecard.objects.select_for_update().filter(store=store, period=key).order_by("pk")
    }
    to_compute = [a.pk for a in advisors if getattr(existing.get(a.pk), "status", None) != ScorecardStatus.FINAL]
    computed = scorecard_components(store=store, period=period, advisor_ids=to_compute, now=now)
    for advisor_id, (score, parts) in computed.items():
        card = existing.get(advisor_id)
        if card is None:
            card = _insert_or_lock(store=store, advisor_id=advisor_id, period=key)
            if card.status == ScorecardStatus.FINAL:  # reviewed meanwhile: it stays as reviewed
                existing[advisor_id] = card
                continue
        card.score = score
        card.components = parts
        card.computed_at = now
        card.full_clean(validate_constraints=False)
        card.save()
        existing[advisor_id] = card
    service_star_mark(store=store, period=period)
    audit_record(
        actor=actor_user(by),
        action="scorecard.compute",
        store_id=store.pk,
        object_type="analytics.scorecard",
        object_id=key,
        changes={"advisors": sorted(computed)},
    )
    return list(Scorecard.objects.filter(store=store, period=key).order_by("-score", "advisor_id"))


def _insert_or_lock(*, store: Store, advisor_id: int, period: str) -> Scorecard:
    """The first scorecard of an advisor and period.  Two first computes of the same store and period both find
    no row to lock; the second insert then breaks `scorecard_once_per_period`.  The insert is tried in a
    savepoint and, when the other one won, its row is taken (locked) and updated instead."""
    card = Scorecard(store=store, advisor_id=advisor_id, period=period, computed_at=clock.now())
    try:
        with transaction.atomic():
            card.save()
        return card
    except IntegrityError:
        return Scorecard.objects.select_for_update().get(store=store, advisor_id=advisor_id, period=period)


@transaction.atomic
def scorecard_review(*, scorecard: Scorecard, user: Any, explanation: Any) -> Scorecard:
    """A manager of the store explains the scorecard and marks it reviewed: it becomes final (SPEC §10)."""
    SCORECARD.authorise(SCORECARD.get("review"), actor=user, store_id=scorecard.store_id)
    if not user_can(user, Capability.REVIEW_SCORECARDS, scorecard.store_id):  # the table says so; kept explicit
        raise PermissionDenied(_("Your role may not do this."))
    if scorecard.advisor_id == user.pk:
        raise PermissionDenied(_(REVIEW_OWN))
    text = explanation.strip() if isinstance(explanation, str) else ""
    if not text:
        raise ValidationError({"explanation": [_(EXPLANATION_REQUIRED)]})
    if len(text) > 5000:
        raise ValidationError({"explanation": [_("At most 5000 characters.")]})
    now = clock.now()
    period = Period.parse(scorecard.period)
    if not period.is_closed(now):
        raise ApplicationError(_(REVIEW_OPEN_PERIOD), {"code": "invalid_transition"})
    # A draft computed before its period ended lacks the rest of the period's records: it is recomputed here,
    # in this transaction, so a mid-period draft never becomes final.  A draft computed after the end is what
    # the reviewer read and explained, and is finalised as it is (the sweep refreshes the drafts daily through
    # the next month's first week, when the period's late surveys and closures come in).
    # (scorecards_compute locks the period's rows in id order first, as the monthly job does: no deadlock.)
    computed_at = Scorecard.objects.filter(pk=scorecard.pk).values_list("computed_at", flat=True).first()
    if computed_at is not None and computed_at < period.end:
        scorecards_compute(store=scorecard.store, period=period, by=user, now=now, advisors=[scorecard.advisor])
    updated = Scorecard.objects.filter(pk=scorecard.pk, status=ScorecardStatus.DRAFT).update(
        status=ScorecardStatus.FINAL, explanation=text, reviewed_by=user, reviewed_at=now, updated_at=now
    )
    if not updated:
        raise ApplicationError(_(REVIEW_NOT_DRAFT), {"code": "invalid_transition"})
    scorecard.refresh_from_db()
    audit_record(
        actor=user,
        action="scorecard.review",
        obj=scorecard,
        changes={"status": [ScorecardStatus.DRAFT, ScorecardStatus.FINAL], "score": str(scorecard.score)},
    )
    service_star_mark(store=scorecard.store, period=Period.parse(scorecard.period))
    return scorecard


# ------------------------------------------------------------------------------------------- service star


def star_candidates(cards: list[Scorecard]) -> tuple[list[Scorecard], bool]:
    """The quarter's service star(s) among a store's quarter scorecards, and whether it is provisional.
    Among the reviewed (final) ones when any is; otherwise the top computed one, provisional.  Equal top scores
    share the star (a tie is not broken by something the advisors were not measured on)."""
    finals = [c for c in cards if c.status == ScorecardStatus.FINAL and c.score is not None]
    pool = finals or [c for c in cards if c.score is not None]
    if not pool:
        return [], False
    best = max(c.score for c in pool if c.score is not None)
    return [c for c in pool if c.score == best], not finals


def service_star_mark(*, store: Store, period: Period) -> list[int]:
    """Store the star flag of a quarter: only a reviewed scorecard carries it (the provisional leader is shown,
    not stored).  Returns the advisors holding it."""
    if period.kind != "quarter":
        return []
    cards = list(Scorecard.objects.filter(store=store, period=str(period)))
    stars, provisional = star_candidates(cards)
    star_ids = [] if provisional else [c.pk for c in stars]
    Scorecard.objects.filter(store=store, period=str(period)).exclude(pk__in=star_ids).filter(star=True).update(
        star=False
    )
    Scorecard.objects.filter(pk__in=star_ids, star=False).update(star=True)
    return [c.advisor_id for c in stars if c.pk in star_ids]


# -------------------------------------------------------------------------------------------------- reads


def scorecard_list(*, user: Any, store: Store, period: Period) -> QuerySet[Scorecard]:
    """The store's scorecards of a period for a reviewer (404-free: an empty list without the capability)."""
    if not user_can(user, Capability.REVIEW_SCORECARDS, store.pk):
        return Scorecard.objects.none()
    return (
        Scorecard.objects.filter(store=store, period=str(period))
        .select_related("advisor__staff_profile", "reviewed_by__staff_profile")
        .order_by("-score", "advisor_id")
    )


def scorecard_get_for_user(*, user: Any, pk: int) -> Scorecard:
    """One scorecard: a reviewer of its store, or the advisor themself; anyone else gets 404."""
    from django.http import Http404

    card = (
        Scorecard.objects.select_related("store", "advisor__staff_profile", "reviewed_by__staff_profile")
        .filter(pk=pk)
        .first()
    )
    if card is None or not (card.advisor_id == user.pk or user_can(user, Capability.REVIEW_SCORECARDS, card.store_id)):
        raise Http404
    return card


def own_scorecards(*, user: Any) -> QuerySet[Scorecard]:
    """The advisor's own scorecards, newest period first (drafts too, shown as not reviewed)."""
    return (
        Scorecard.objects.filter(advisor=user)
        .select_related("store", "reviewed_by__staff_profile")
        .order_by("-period", "store__code")
    )


def component_rows(card: Scorecard) -> list[dict[str, Any]]:
    """The stored components with their labels and numbers back as decimals, for the page and the chart."""
    rows = []
    for part in card.components:
        row = dict(part)
        for name in ("value", "target", "attainment", "weight", "effective_weight", "points"):
            raw = part.get(name)
            row[name] = None if raw in (None, "") else Decimal(str(raw))
        row["label"] = COMPONENT_LABELS.get(part["key"], part["key"])
        rows.append(row)
    return rows


# -------------------------------------------------------------------------------------------------- the job

SWEEP_DAYS = 7  # the drafts of the month just ended are refreshed daily in the next month's first week


def scorecards_sweep(*, now: dt.datetime | None = None) -> int:
    """Drafts of every active store for the month just ended (and the quarter, when it ended with it), during the
    first SWEEP_DAYS days of the month, so late records of the month (a survey submitted on the 31st at night)
    are in.  Idempotent: a rerun replaces drafts with the same figures and never touches a final scorecard."""
    from aftersales.organisation.rules import Party

    now = now or clock.now()
    today = timezone.localtime(now).date()
    if today.day > SWEEP_DAYS:
        return 0
    month = Period.containing(today).previous()
    periods = [month]
    quarter = Period.containing(month.first_day, "quarter")
    if quarter.is_closed(now):
        periods.append(quarter)
    computed = 0
    for store in Store.objects.filter(is_active=True).order_by("pk"):
        for period in periods:
            # One store's failure (a race, bad data) is logged and leaves the others' scorecards to be made;
            # each compute is its own transaction (a savepoint inside a caller's), so nothing half-done stays.
            try:
                computed += len(scorecards_compute(store=store, period=period, by=Party.SYSTEM, now=now))
            except Exception:
                logger.exception("scorecards of store %s for %s failed; the other stores go on", store.code, period)
    return computed
