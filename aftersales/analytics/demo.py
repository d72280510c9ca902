"""Demo data of the analytics app: the advisor scorecards of the last closed month (drafts) and quarter (reviewed
by each store's manager, so every store has its service star), and the early warnings of the last closed month in
the managers' inboxes; the evaluation models (the group's J.D. Power one, the first store's own SERVQUAL one with
its manager's comparisons).  Everything goes through the services a manager and the nightly jobs use."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from aftersales.analytics.comment_issues import comments_scan
from aftersales.analytics.models import ScorecardStatus
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.quality import services as quality
from aftersales.analytics.scorecards import scorecard_review, scorecards_compute
from aftersales.analytics.warnings import warnings_sweep
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.rules import Party

# What a manager writes when reviewing a quarter's scorecard: chosen by the score band, so it reads true.
EXPLANATIONS: tuple[tuple[int, str], ...] = (
    (90, "本季度各项指标均衡，客户满意度与投诉处理表现突出，继续保持。"),
    (75, "整体达标；复购率与推荐人数仍有提升空间，下季度重点跟进老客户回厂。"),
    (0, "多项指标未达目标，已与本人面谈，制定改进计划：交车解释与回访跟进每周复盘。"),
)


def _explanation(score: object) -> str:
    value = float(score) if score is not None else 0.0
    return next(text for floor, text in EXPLANATIONS if value >= floor)


def seed_analytics(*, rng: random.Random, today: dt.date, stores: list[Store]) -> dict[str, int]:
    """Scorecards and early warnings as of the demo's today (a closed month and a closed quarter before it)."""
    now = dt.datetime.combine(today, dt.time(23, 0), tzinfo=LOCAL_TZ)
    month = Period.containing(today).previous()
    quarter = Period.containing(today, "quarter").previous()
    cards = reviewed = 0
    managers = {
        m.store_id: m.user
        for m in Membership.objects.filter(store__in=stores, role=Role.MANAGER).select_related("user").order_by("pk")
    }
    for store in stores:
        cards += len(scorecards_compute(store=store, period=month, by=Party.SYSTEM, now=now))
        quarter_cards = scorecards_compute(store=store, period=quarter, by=Party.SYSTEM, now=now)
        cards += len(quarter_cards)
        manager = managers.get(store.pk)
        if manager is None:
            continue
        for card in quarter_cards:
            # Most are reviewed; one in five waits for its talk with the manager (a draft on the list).
            if card.status == ScorecardStatus.DRAFT and card.score is not None and rng.random() < 0.8:
                scorecard_review(scorecard=card, user=manager, explanation=_explanation(card.score))
                reviewed += 1
    alerts = warnings_sweep(now=timezone.localtime(now), period=month)
    seed_quality(stores=stores)
    # The customers' comments of the last six months, read as the nightly job does (the frequent-issues page).
    issues = sum(
        sum(comments_scan(store=store, period=period, by_sweep=True).issues.values())
        for store in stores
        for period in Period.containing(today).trailing(6)
    )
    return {"scorecards": cards, "reviewed": reviewed, "warnings": len(alerts), "comment_issues": issues}


# The first store's manager's judgement of SERVQUAL's dimensions (tangibles, reliability, responsiveness, assurance,
# empathy) on Saaty's scale: repair quality first, then responsiveness; CR ≈ 0.012.
MANAGER_SERVQUAL_MATRIX = (
    ("1", "1/4", "1/3", "1/2", "1/2"),
    ("4", "1", "2", "2", "2"),
    ("3", "1/2", "1", "2", "2"),
    ("2", "1/2", "1/2", "1", "1"),
    ("2", "1/2", "1/2", "1", "1"),
)


def seed_quality(*, stores: list[Store]) -> None:
    """The evaluation models (SPEC §8): the group's from J.D. Power's CSI factors (by its group manager), the first
    store's own from SERVQUAL with its manager's consistent comparisons of the dimensions."""
    if not stores:
        return
    group = stores[0].group
    group_manager = (
        Membership.objects.filter(group=group, role=Role.GROUP_MANAGER, store__isnull=True).order_by("pk").first()
    )
    if group_manager is not None:
        quality.model_create(user=group_manager.user, group=group, store=None, preset="jd_power")
    first = stores[0]
    manager = Membership.objects.filter(store=first, role=Role.MANAGER).order_by("pk").first()
    if manager is not None:
        model = quality.model_create(user=manager.user, group=group, store=first, preset="servqual")
        quality.matrix_save(user=manager.user, model=model, parent=None, values=MANAGER_SERVQUAL_MATRIX)
