"""Audit and standards KPIs (issue 16, KPIS.md "Audits and standards"): the mean audit score (all kinds and one
per kind), the audit findings open at the period's end and the share of them overdue, and the share of SOP
acknowledgements done.

Analytics sits above `audits` and `standards` and reads their tables; each figure is one aggregate query (one
GROUP BY store for the group's stores), and its drill-down is the same queryset annotated.

Definitions (the period's bounds are local, half-open; "cut-off" = the period's end, or now while it runs):

* **audit score**: audits *submitted* in the period (status submitted, `submitted_at` in it): numerator = the sum
  of their scores, denominator = the count, value = the mean (0–100 points, each score being Σ weights passed /
  Σ weights applicable × 100).  Planned, in-progress and cancelled audits never count.
* **findings open**: findings raised before the cut-off (`created_at`) and not closed before it (`closed_at` empty
  or at / after it): their number (numerator = denominator = that number, the value is never null).
* **findings overdue**: of those, the ones whose due day had ended at the cut-off (`due_date` before the cut-off's
  local day: due 31 May and still open at 1 June 00:00 is overdue; due today is not yet).
* **SOP acknowledgement**: requests to acknowledge a published version (one per staff member and version) asked
  before the cut-off, for versions not superseded at it (no later version of the same procedure published before
  the cut-off and effective by its day): those acknowledged before the cut-off.  A request counts in a store when
  its staff member belongs to the store (a membership there) and the procedure applies there (the group's
  default, or that store's variant); the group's figure counts each request once.

None of these has a running clock: a closed period's figure is fixed at its end (a finding closed or an
acknowledgement given later belongs to later periods), so a snapshot is read from the 1st on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Concat, LPad
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.catalogue import Counts
from aftersales.analytics.kpis_common import Context, CustomRule, ShareRule, as_bool, entry, in_period
from aftersales.analytics.periods import LOCAL_TZ
from aftersales.audits.choices import AuditKind, AuditStatus
from aftersales.audits.models import Audit, Finding
from aftersales.organisation.models import Membership
from aftersales.standards.choices import VersionStatus
from aftersales.standards.models import Acknowledgement, ProcedureVersion

AREA = "audits"
SCORE_KEY = "audit_score"
SCORE_KEYS: dict[str, str] = {kind: f"audit_score_{kind}" for kind in AuditKind.values}
FINDINGS_OPEN_KEY = "audit_findings_open"
FINDINGS_OVERDUE_KEY = "audit_findings_overdue_percent"
SOP_KEY = "sop_acknowledged_percent"
KEYS: tuple[str, ...] = (SCORE_KEY, *SCORE_KEYS.values(), FINDINGS_OPEN_KEY, FINDINGS_OVERDUE_KEY, SOP_KEY)
SCORE_FIELD = DecimalField(max_digits=12, decimal_places=2)


def cutoff(ctx: Context) -> dt.datetime:
    """The moment "at the period's end" means: its end, or now while the period runs."""
    return min(ctx.period.end, ctx.now)


def _cutoff_day(ctx: Context) -> dt.date:
    return cutoff(ctx).astimezone(LOCAL_TZ).date()


# ------------------------------------------------------------------------------------------------ audit score


def submitted_audits(ctx: Context, kind: str | None = None) -> QuerySet[Audit]:
    audits = Audit.objects.filter(in_period("submitted_at", ctx.period), status=AuditStatus.SUBMITTED)
    return audits.filter(kind=kind) if kind else audits


def _score_aggregates() -> dict[str, Any]:
    return {"total": Count("pk"), "points": Sum("score", output_field=SCORE_FIELD)}


def _score_counts(row: dict[str, Any]) -> Counts:
    # Each score has two decimals, so their sum has too (SQLite sums them as floats: back to the cent).
    points = Decimal(str(row["points"] or 0)).quantize(Decimal("0.01"))
    return Counts(numerator=points, denominator=row["total"] or 0)


def _audit_label(records: QuerySet[Audit], ctx: Context) -> QuerySet[Audit]:
    """The drill-down's label: the audit's number and score (e.g. "AUD-000012 · 87.50", as `Audit.__str__`)."""
    return records.annotate(
        drill_label=Concat(
            Value("AUD-"),
            LPad(Cast("pk", output_field=CharField()), 6, Value("0")),
            Value(" · "),
            Cast("score", output_field=CharField()),
            output_field=CharField(),
        )
    )


def _score_rule(kind: str | None) -> CustomRule:
    return CustomRule(
        base=lambda ctx: submitted_audits(ctx, kind),
        count_fn=lambda records, ctx: _score_counts(records.aggregate(**_score_aggregates())),
        count_by_fn=lambda records, ctx, path: {
            row[path]: _score_counts(row) for row in records.values(path).annotate(**_score_aggregates())
        },
        annotate_fn=_audit_label,
    )


SCORE_DEFINITION = _(
    "Audits submitted in the period: the mean of their scores (score = the weights of the items passed over the "
    "weights of the items that applied × 100; not-applicable items left out). Planned, unfinished and cancelled "
    "audits do not count."
)
KIND_DEFINITION = _(
    "Audits of this kind submitted in the period: the mean of their scores (score = the weights of the items "
    "passed over the weights of the items that applied × 100)."
)

entry(
    _score_rule(None),
    key=SCORE_KEY,
    label=_("Audit score"),
    definition=SCORE_DEFINITION,
    unit="points",
    direction="higher",
    target_setting="target_audit_score",
    review_cycle="quarter",
    area=AREA,
    value_kind="mean",
)

KIND_LABELS = {
    AuditKind.MYSTERY_SHOPPER: _("Audit score: mystery shopper"),
    AuditKind.INTERNAL: _("Audit score: internal audit"),
    AuditKind.RECORD_CHECK: _("Audit score: record spot check"),
    AuditKind.VIDEO_CHECK: _("Audit score: video spot check"),
}

for _kind, _key in SCORE_KEYS.items():
    entry(
        _score_rule(_kind),
        key=_key,
        label=KIND_LABELS[AuditKind(_kind)],
        definition=KIND_DEFINITION,
        unit="points",
        direction="higher",
        target_setting="target_audit_score",
        review_cycle="quarter",
        area=AREA,
        value_kind="mean",
    )


# ------------------------------------------------------------------------------------------------ findings


def open_findings(ctx: Context) -> QuerySet[Finding]:
    """Findings raised before the cut-off and not closed before it."""
    at = cutoff(ctx)
    return Finding.objects.filter(Q(created_at__lt=at) & (Q(closed_at__isnull=True) | Q(closed_at__gte=at)))


def _overdue(ctx: Context) -> Q:
    return Q(due_date__lt=_cutoff_day(ctx))


def _finding_label(records: QuerySet[Finding], ctx: Context) -> QuerySet[Finding]:
    return records.annotate(meets=as_bool(_overdue(ctx)), drill_label=F("text"))


def _open_count(row: dict[str, Any]) -> Counts:
    n = row["total"] or 0
    return Counts(numerator=n, denominator=n)


entry(
    CustomRule(
        base=open_findings,
        count_fn=lambda records, ctx: _open_count(records.aggregate(total=Count("pk"))),
        count_by_fn=lambda records, ctx, path: {
            row[path]: _open_count(row) for row in records.values(path).annotate(total=Count("pk"))
        },
        annotate_fn=_finding_label,
    ),
    key=FINDINGS_OPEN_KEY,
    label=_("Audit findings open"),
    definition=_(
        "Findings of submitted audits raised before the period's end (now, while it runs) and not closed by then: "
        "their number. The records marked met are the overdue ones."
    ),
    unit="number",
    direction="trend_down",
    area=AREA,
    value_kind="count",
)

entry(
    ShareRule(base=open_findings, meets=_overdue),
    key=FINDINGS_OVERDUE_KEY,
    label=_("Audit findings overdue"),
    definition=_(
        "Of the findings open at the period's end (now, while it runs), those past their due date: the due day "
        "had ended (due on the period's last day and still open at its end is overdue; due today is not yet)."
    ),
    unit="percent",
    direction="lower",
    target_setting="target_findings_overdue_percent",
    area=AREA,
)


# ------------------------------------------------------------------------------------------------ SOP acknowledgement


def _superseded(ctx: Context) -> Exists:
    """A later version of the same procedure was published before the cut-off and is effective by its day."""
    return Exists(
        ProcedureVersion.objects.filter(
            procedure_id=OuterRef("version__procedure_id"),
            number__gt=OuterRef("version__number"),
            status=VersionStatus.PUBLISHED,
            published_at__lt=cutoff(ctx),
            effective_from__lte=_cutoff_day(ctx),
        )
    )


def _requests(ctx: Context) -> QuerySet[Acknowledgement]:
    """Requests asked before the cut-off for versions published and not superseded at it (any store)."""
    return Acknowledgement.objects.filter(
        asked_at__lt=cutoff(ctx),
        version__status=VersionStatus.PUBLISHED,
        version__published_at__lt=cutoff(ctx),
    ).exclude(_superseded(ctx))


def _acknowledged(ctx: Context) -> Q:
    # `isnull=False` first: an unacknowledged request is false (not SQL's unknown) in the drill-down's annotation.
    return Q(acknowledged_at__isnull=False, acknowledged_at__lt=cutoff(ctx))


def _in_stores(ctx: Context) -> Q:
    """The request's staff member belongs to one of the scope's stores where the procedure applies."""
    ids = sorted(ctx.scope.store_ids)
    member_anywhere = Membership.objects.filter(user_id=OuterRef("user_id"), store_id__in=ids)
    member_of_variant = member_anywhere.filter(store_id=OuterRef("version__procedure__store_id"))
    return (Q(version__procedure__store__isnull=True) & Q(Exists(member_anywhere))) | Q(Exists(member_of_variant))


def _sop_population(ctx: Context) -> QuerySet[Acknowledgement]:
    return _requests(ctx).filter(_in_stores(ctx))


def _sop_share(row: dict[str, Any]) -> Counts:
    return Counts(numerator=row["n"] or 0, denominator=row["total"] or 0)


def _sop_counts(records: QuerySet[Acknowledgement], ctx: Context) -> Counts:
    return _sop_share(records.aggregate(total=Count("pk"), n=Count("pk", filter=_acknowledged(ctx))))


def _sop_by_store(records: QuerySet[Acknowledgement], ctx: Context) -> dict[int, Counts]:
    """One GROUP BY the staff member's store (a member of two stores counts in each; two roles in one store once)."""
    store = "user__memberships__store_id"
    rows = (
        _requests(ctx)
        .filter(
            Q(**{f"{store}__in": sorted(ctx.scope.store_ids)})
            & (Q(version__procedure__store__isnull=True) | Q(version__procedure__store_id=F(store)))
        )
        .order_by()
        .values(store)
        .annotate(
            total=Count("pk", distinct=True),
            n=Count("pk", distinct=True, filter=_acknowledged(ctx)),
        )
    )
    return {row[store]: _sop_share(row) for row in rows}


def _sop_annotate(records: QuerySet[Acknowledgement], ctx: Context) -> QuerySet[Acknowledgement]:
    return records.annotate(
        meets=as_bool(_acknowledged(ctx)),
        drill_label=Concat(
            F("version__procedure__code"),
            Value(" v"),
            Cast("version__number", output_field=CharField()),
            Value(" · "),
            F("user__username"),
            output_field=CharField(),
        ),
    )


entry(
    CustomRule(
        base=_sop_population,
        store="",  # the population applies the scope's stores itself (through the staff's memberships)
        count_fn=_sop_counts,
        count_by_store_fn=_sop_by_store,
        annotate_fn=_sop_annotate,
    ),
    key=SOP_KEY,
    label=_("SOP acknowledgement"),
    definition=_(
        "Requests to acknowledge a published SOP version (one per staff member and version) asked before the "
        "period's end (now, while it runs), for the versions in force or announced then (not yet replaced by a "
        "later version in effect): those acknowledged by then. A request counts in the staff member's store "
        "where the procedure applies (the group's default or the store's own variant)."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_sop_acknowledged_percent",
    area=AREA,
)
