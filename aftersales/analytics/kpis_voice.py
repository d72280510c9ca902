"""The voice of the customer's KPIs (KPIS.md): CSAT, NPS, CSI, low-score recovery, complaint handling."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.catalogue import Counts
from aftersales.analytics.kpis_common import CSI_ITEM_WEIGHTS, Context, CustomRule, ShareRule, as_bool, entry, in_period
from aftersales.feedback.choices import FOLLOW_UP_CHANNELS, ComplaintStatus, ItemKind
from aftersales.feedback.models import Complaint, SurveyAnswer, SurveyResponse

_FOLLOW_UP = sorted(FOLLOW_UP_CHANNELS)


def post_visit_responses(ctx: Context) -> QuerySet[SurveyResponse]:
    """Post-visit responses (follow-up call or the customer's link; not the delivery desk, not campaigns) submitted
    in the period with an overall score, one per order: the earliest (a later one of the same order never counts,
    even when the earliest fell in an earlier period)."""
    earlier = SurveyResponse.objects.filter(
        order_id=OuterRef("order_id"), channel__in=_FOLLOW_UP, overall__isnull=False
    ).filter(
        Q(submitted_at__lt=OuterRef("submitted_at")) | Q(submitted_at=OuterRef("submitted_at"), pk__lt=OuterRef("pk"))
    )
    return (
        SurveyResponse.objects.filter(in_period("submitted_at", ctx.period), channel__in=_FOLLOW_UP)
        .filter(overall__isnull=False)
        .exclude(Exists(earlier))
    )


PEOPLE: dict[str, Any] = {"advisor": "order__advisor_id", "technician": "order__technician_id"}

entry(
    ShareRule(
        base=post_visit_responses,
        meets=lambda ctx: Q(overall__gte=ctx.setting("csat_satisfied_from")),
        **PEOPLE,
    ),
    key="csat_percent",
    label=_("CSAT"),
    definition=_(
        "Share of post-visit survey responses (follow-up call or the customer's link) submitted in the period with "
        "an overall score of 8 or more; one response per order, the earliest."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_csat_percent",
    review_cycle="quarter",
    cuts=("advisor", "technician"),
    area="voice",
)


# ---------------------------------------------------------------------------------------------------- NPS


def _nps_aggregates(ctx: Context) -> dict[str, Any]:
    return {
        "total": Count("pk"),
        "promoters": Count("pk", filter=Q(recommend__gte=ctx.setting("nps_promoter_from"))),
        "detractors": Count("pk", filter=Q(recommend__lte=ctx.setting("nps_detractor_to"))),
    }


def _nps_counts(row: dict[str, Any]) -> Counts:
    return Counts(
        numerator=(row["promoters"] or 0) - (row["detractors"] or 0),
        denominator=row["total"] or 0,
        extra={"promoters": row["promoters"] or 0, "detractors": row["detractors"] or 0},
    )


entry(
    CustomRule(
        base=lambda ctx: post_visit_responses(ctx).filter(recommend__isnull=False),
        count_fn=lambda records, ctx: _nps_counts(records.aggregate(**_nps_aggregates(ctx))),
        count_by_fn=lambda records, ctx, path: {
            row[path]: _nps_counts(row) for row in records.values(path).annotate(**_nps_aggregates(ctx))
        },
        annotate_fn=lambda records, ctx: records.annotate(
            meets=as_bool(Q(recommend__gte=ctx.setting("nps_promoter_from"))),
            detractor=as_bool(Q(recommend__lte=ctx.setting("nps_detractor_to"))),
        ),
        **PEOPLE,
    ),
    key="nps",
    label=_("NPS"),
    definition=_(
        "Net promoter score of the same responses with a recommend score: the share of 9–10 minus the share of 0–6, "
        "in points (numerator = promoters − detractors)."
    ),
    unit="points",
    direction="higher",
    target_setting="target_nps",
    review_cycle="quarter",
    cuts=("advisor", "technician"),
    area="voice",
    value_kind="nps",
)


# ---------------------------------------------------------------------------------------------------- CSI


def _csi(item_rows: list[tuple[str, int, int]], weights: Mapping[str, Decimal] | None) -> Counts:
    """Σ wᵢ·(meanᵢ − 1)/4·100 / Σ wᵢ over the items answered: the evaluation model's global weights of the items
    (SPEC §8; an item the model does not weigh is left out), equal weights without a model.  numerator = items
    counted × that weighted mean (with equal weights: the sum of item scores), denominator = items counted.
    The rows are added up in item order: a Decimal sum of repeating fractions depends on its order in the 28th
    digit, and the grouped (by store / person) and single reads return the rows in whatever order the database
    chose — in item order every read gives the very same numerator."""
    ordered = sorted(item_rows, key=lambda row: row[0])
    scored = [(key, (Decimal(total) / count - 1) / 4 * 100) for key, total, count in ordered if count]
    answers = sum(r[2] for r in item_rows)
    if weights is None:
        return Counts(numerator=sum((s for _k, s in scored), Decimal(0)), denominator=len(scored),
                      extra={"answers": answers})  # fmt: skip
    weighted = [(Decimal(weights[key]), score) for key, score in scored if weights.get(key)]
    total_weight = sum((w for w, _s in weighted), Decimal(0))
    if not total_weight:
        return Counts(0, 0, extra={"answers": answers, "weighted": True})
    mean = sum((w * s for w, s in weighted), Decimal(0)) / total_weight
    return Counts(
        numerator=mean * len(weighted), denominator=len(weighted), extra={"answers": answers, "weighted": True}
    )


def _answers(records: QuerySet[SurveyResponse]) -> QuerySet[SurveyAnswer]:
    return SurveyAnswer.objects.filter(
        response__in=records.values("pk"), item__kind=ItemKind.SCALE_1_5, value__isnull=False
    ).order_by()


def _weights(ctx: Context) -> Mapping[str, Decimal] | None:
    weights: Mapping[str, Decimal] | None = ctx.values.get(CSI_ITEM_WEIGHTS)
    return weights


def _csi_counts(records: QuerySet[SurveyResponse], ctx: Context) -> Counts:
    rows = _answers(records).values("item__key").annotate(total=Sum("value"), n=Count("pk")).order_by("item__key")
    return _csi([(row["item__key"], row["total"], row["n"]) for row in rows], _weights(ctx))


def _csi_by(records: QuerySet[SurveyResponse], ctx: Context, path: str) -> dict[int, Counts]:
    person = f"response__{path}"
    grouped: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for row in _answers(records).values(person, "item__key").annotate(total=Sum("value"), n=Count("pk")):
        grouped[row[person]].append((row["item__key"], row["total"], row["n"]))
    weights = _weights(ctx)
    return {person_id: _csi(rows, weights) for person_id, rows in grouped.items()}


entry(
    CustomRule(base=post_visit_responses, count_fn=_csi_counts, count_by_fn=_csi_by, **PEOPLE),
    key="csi",
    label=_("CSI"),
    definition=_(
        "Customer satisfaction index of the same responses' 1–5 attribute answers: the mean over the items answered "
        "of (item mean − 1) / 4 × 100, weighted by the evaluation model's global weights of the items (equal "
        "weights without a model; an item the model does not weigh is left out) — numerator = items counted × "
        "the weighted mean, denominator = items counted."
    ),
    unit="points",
    direction="higher",
    target_setting="target_csi",
    review_cycle="quarter",
    cuts=("advisor", "technician"),
    area="voice",
    value_kind="csi",
)


# ----------------------------------------------------------------------------------------- low-score recovery


def _low_scores(ctx: Context) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(
        in_period("submitted_at", ctx.period), overall__lt=ctx.setting("csat_satisfied_from")
    )


def _recovery_pending(ctx: Context) -> Q:
    # Open task whose clock still runs; no task yet while the response's own clock still runs.
    no_task_until = ctx.now - dt.timedelta(minutes=ctx.setting("recovery_due_minutes"))
    return Q(recovery__isnull=False, recovery__closed_at__isnull=True, recovery__due_at__gt=ctx.now) | Q(
        recovery__isnull=True, submitted_at__gt=no_task_until
    )


entry(
    ShareRule(
        base=_low_scores,
        meets=lambda ctx: Q(recovery__closed_at__isnull=False, recovery__closed_at__lte=F("recovery__due_at")),
        pending=_recovery_pending,
        **PEOPLE,
    ),
    key="low_score_recovery_within_1h_percent",
    label=_("Low-score recovery within 1 h"),
    definition=_(
        "Survey responses of any channel submitted in the period with an overall score below 8 whose recovery task "
        "was closed (any outcome) by its due time; no task is a failure."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_recovery_in_time_percent",
    cuts=("advisor", "technician"),
    area="voice",
)


# -------------------------------------------------------------------------------------------------- complaints


def _complaints(ctx: Context) -> QuerySet[Complaint]:
    return Complaint.objects.filter(in_period("received_at", ctx.period))


COMPLAINT_PEOPLE: dict[str, Any] = {"advisor": "owner_id"}

entry(
    ShareRule(
        base=_complaints,
        meets=lambda ctx: Q(acknowledged_at__lte=F("acknowledge_due")),
        pending=lambda ctx: Q(acknowledged_at__isnull=True, acknowledge_due__gt=ctx.now),
        **COMPLAINT_PEOPLE,
    ),
    key="complaint_acknowledged_in_time_percent",
    label=_("Complaints acknowledged in time"),
    definition=_(
        "Complaints received in the period acknowledged by the due time stored at receipt (at the due second is in "
        "time)."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_complaint_acknowledged_percent",
    cuts=("advisor",),
    area="voice",
)

entry(
    ShareRule(
        base=_complaints,
        meets=lambda ctx: Q(resolved_at__lte=F("resolve_due")),
        pending=lambda ctx: Q(resolved_at__isnull=True, resolve_due__gt=ctx.now),
        **COMPLAINT_PEOPLE,
    ),
    key="complaint_resolved_in_time_percent",
    label=_("Complaints resolved in time"),
    definition=_(
        "Complaints received in the period finally resolved by the due time stored at receipt; a reopened complaint "
        "is judged on its last resolution against the original clock."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_complaint_resolved_percent",
    cuts=("advisor",),
    area="voice",
)

entry(
    ShareRule(
        base=_complaints,
        meets=lambda ctx: Q(status=ComplaintStatus.CLOSED, satisfaction_with_handling__gte=4),
        pending=lambda ctx: ~Q(status=ComplaintStatus.CLOSED),
        **COMPLAINT_PEOPLE,
    ),
    key="complaint_closed_satisfied_percent",
    label=_("Complaints closed satisfied"),
    definition=_(
        "Complaints received in the period and closed by now whose customer rated the handling 4 or 5 of 5 "
        "(complaints not closed yet are left out)."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_complaint_satisfied_percent",
    cuts=("advisor",),
    area="voice",
)
