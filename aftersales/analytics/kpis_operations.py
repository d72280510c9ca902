"""Fixed-operations figures and the KPIs of SPEC §6 about parts, staff and profit (KPIS.md).

Billed lines are the approved lines of the order's sent estimates (what the bill may contain, SPEC §3.3); labour
hours are their standard hours.  Figures whose data a later issue brings answer null with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Round
from django.db.models.lookups import Exact, GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.catalogue import Counts
from aftersales.analytics.kpis_booking import delivered_orders
from aftersales.analytics.kpis_common import Context, CustomRule, ShareRule, Unavailable, entry
from aftersales.parts.models import Movement
from aftersales.service.choices import LineDecision, LineKind
from aftersales.service.models import EstimateLine, JobClockSegment, QualityCheck, RepairOrder
from aftersales.staff import selectors as staff_selectors

PEOPLE: dict[str, Any] = {"advisor": "advisor_id", "technician": "technician_id"}
LINE_PEOPLE: dict[str, Any] = {"advisor": "estimate__order__advisor_id", "technician": "estimate__order__technician_id"}
MONEY_ZERO = Decimal("0")


def billed_lines() -> QuerySet[EstimateLine]:
    """Approved lines of sent estimates."""
    return EstimateLine.objects.filter(decision=LineDecision.APPROVED, estimate__sent_at__isnull=False)


# --------------------------------------------------------------------------------------------- price transparency


def _approved_total() -> Subquery:
    return Subquery(
        billed_lines()
        .filter(estimate__order_id=OuterRef("pk"))
        .order_by()
        .values("estimate__order_id")
        .annotate(total=Sum("amount"))
        .values("total")[:1]
    )


def _bill_matches(ctx: Context) -> Q:
    approved = Round(Coalesce(_approved_total(), MONEY_ZERO), 2)
    return Q(billed_total__isnull=False) & Q(Exact(Round(F("billed_total"), 2), approved))


entry(
    ShareRule(base=delivered_orders, meets=_bill_matches, **PEOPLE),
    key="price_transparency_percent",
    label=_("Price transparency"),
    definition=_(
        "Orders delivered in the period whose bill equals the sum of the approved lines of all sent estimates, to "
        "the cent."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_price_transparency_percent",
    cuts=("advisor", "technician"),
    area="operations",
)


# ------------------------------------------------------------------------------------------- parts traceability


def _part_lines(ctx: Context) -> QuerySet[EstimateLine]:
    """Part lines billed in the period: approved part lines of the sent estimates of orders delivered in it."""
    return billed_lines().filter(
        kind=LineKind.PART,
        estimate__order__status="delivered",
        estimate__order__delivered_at__gte=ctx.period.start,
        estimate__order__delivered_at__lt=ctx.period.end,
    )


entry(
    ShareRule(
        base=_part_lines,
        store="estimate__order__store_id",
        meets=lambda ctx: ~Q(batch_number=""),
        **LINE_PEOPLE,
    ),
    key="parts_traceability_percent",
    label=_("Parts traceability"),
    definition=_(
        "Part lines billed in the period (approved part lines of orders delivered in it) with a batch record: the "
        "batches issued to the line from the parts ledger, or the batch typed on the line for a part bought outside "
        "the ledger."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_parts_traceability_percent",
    cuts=("advisor", "technician"),
    area="operations",
)


def _core_part_demands(ctx: Context) -> QuerySet[EstimateLine]:
    """Core-part demands of the period: part lines of a catalogue part flagged core, written in the period."""
    return EstimateLine.objects.filter(
        kind=LineKind.PART,
        part__is_core=True,
        created_at__gte=ctx.period.start,
        created_at__lt=ctx.period.end,
    )


def _in_stock_when_asked(ctx: Context) -> Q:
    """The store's stock of the part when the line was written (its ledger's movements up to that moment) covered
    the line's quantity."""
    on_hand = Subquery(
        Movement.objects.filter(
            store_id=OuterRef("estimate__order__store_id"), part_id=OuterRef("part_id"), at__lte=OuterRef("created_at")
        )
        .order_by()
        .values("part_id")
        .annotate(total=Sum("quantity"))
        .values("total")[:1]
    )
    return Q(GreaterThanOrEqual(Coalesce(on_hand, MONEY_ZERO), F("quantity")))


entry(
    ShareRule(base=_core_part_demands, store="estimate__order__store_id", meets=_in_stock_when_asked, **LINE_PEOPLE),
    key="core_parts_availability_percent",
    label=_("Core parts availability"),
    definition=_(
        "Part lines written in the period for a catalogue part flagged core (the demands): those whose store had "
        "the line's quantity in stock at that moment, by the parts ledger."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_core_parts_availability_percent",
    cuts=("advisor", "technician"),
    area="operations",
)


# ------------------------------------------------------------------------------------------- labour: rate, hours


def _labour_lines(ctx: Context) -> QuerySet[EstimateLine]:
    return billed_lines().filter(
        kind=LineKind.LABOUR,
        estimate__order__status="delivered",
        estimate__order__delivered_at__gte=ctx.period.start,
        estimate__order__delivered_at__lt=ctx.period.end,
    )


def _labour_aggregates() -> dict[str, Any]:
    return {"sales": Sum("amount"), "hours": Sum("standard_hours")}


def _rate(row: dict[str, Any]) -> Counts:
    """numerator = labour sales (CNY), denominator = billed hours in hundredths of an hour (exact: standard hours
    have two decimals), so the share's ×100 gives CNY per hour."""
    hours = Decimal(str(row["hours"] or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sales = Decimal(str(row["sales"] or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Counts(numerator=sales, denominator=int(hours * 100), extra={"hours": str(hours)})


entry(
    CustomRule(
        base=_labour_lines,
        store="estimate__order__store_id",
        count_fn=lambda records, ctx: _rate(records.aggregate(**_labour_aggregates())),
        count_by_fn=lambda records, ctx, path: {
            row[path]: _rate(row) for row in records.values(path).annotate(**_labour_aggregates())
        },
        **LINE_PEOPLE,
    ),
    key="effective_labour_rate",
    label=_("Effective labour rate"),
    definition=_(
        "Labour sales of the orders delivered in the period divided by their billed labour hours (CNY per hour; "
        "the denominator is given in hundredths of an hour)."
    ),
    unit="currency",
    direction="higher",
    cuts=("advisor", "technician"),
    area="operations",
)


def _hours_per_ro(records: QuerySet[RepairOrder], ctx: Context) -> Counts:
    orders = records.aggregate(n=Count("pk"))["n"] or 0
    hours = (
        billed_lines()
        .filter(kind=LineKind.LABOUR, estimate__order__in=records.values("pk"))
        .aggregate(h=Sum("standard_hours"))["h"]
    )
    return Counts(numerator=Decimal(str(hours or 0)).quantize(Decimal("0.01")), denominator=orders)


def _hours_per_ro_by_store(records: QuerySet[RepairOrder], ctx: Context) -> dict[int, Counts]:
    """`_hours_per_ro` of every store: orders and billed hours each in one GROUP BY store."""
    orders = {row["store_id"]: row["n"] for row in records.values("store_id").annotate(n=Count("pk"))}
    hours = {
        row["estimate__order__store_id"]: row["h"]
        for row in billed_lines()
        .filter(kind=LineKind.LABOUR, estimate__order__in=records.values("pk"))
        .order_by()
        .values("estimate__order__store_id")
        .annotate(h=Sum("standard_hours"))
    }
    return {
        store_id: Counts(numerator=Decimal(str(hours.get(store_id) or 0)).quantize(Decimal("0.01")), denominator=n)
        for store_id, n in orders.items()
    }


entry(
    CustomRule(base=delivered_orders, count_fn=_hours_per_ro, count_by_store_fn=_hours_per_ro_by_store, **PEOPLE),
    key="hours_per_ro",
    label=_("Hours per repair order"),
    definition=_("Billed labour hours of the orders delivered in the period per order delivered."),
    unit="hours",
    direction="higher",
    area="operations",
    value_kind="mean",
)


# ---------------------------------------------------------------------------------------------------------- QC


entry(
    ShareRule(
        base=lambda ctx: delivered_orders(ctx).filter(Exists(QualityCheck.objects.filter(order_id=OuterRef("pk")))),
        meets=lambda ctx: ~Q(Exists(QualityCheck.objects.filter(order_id=OuterRef("pk"), passed=False))),
        **PEOPLE,
    ),
    key="qc_first_pass_percent",
    label=_("Quality check first-time pass"),
    definition=_("Orders delivered in the period with a quality check whose quality checks never failed."),
    unit="percent",
    direction="higher",
    cuts=("advisor", "technician"),
    area="operations",
)


# ------------------------------------------------------------------------------------------ technician efficiency


def _finished_labour(ctx: Context) -> QuerySet[EstimateLine]:
    return EstimateLine.objects.filter(kind=LineKind.LABOUR, **_period_kwargs("work_finished_at", ctx))


def _period_kwargs(field: str, ctx: Context) -> dict[str, Any]:
    return {f"{field}__gte": ctx.period.start, f"{field}__lt": ctx.period.end}


def _efficiency(records: QuerySet[EstimateLine], segments: QuerySet[JobClockSegment]) -> Counts:
    """numerator = standard minutes of the finished lines, denominator = clocked minutes on them (closed segments;
    an open clock is not counted until it stops)."""
    standard = records.aggregate(h=Sum("standard_hours"))["h"]
    seconds = segments.aggregate(s=Sum(_segment_seconds()))["s"]
    minutes = (Decimal(seconds or 0) / 60).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return Counts(numerator=Decimal(str(standard or 0)) * 60, denominator=int(minutes))


def _segment_seconds() -> Any:
    from aftersales.analytics.kpis_common import Seconds

    return Seconds(F("ended_at"), F("started_at"))


def _closed_segments(records: QuerySet[EstimateLine]) -> QuerySet[JobClockSegment]:
    return JobClockSegment.objects.filter(line__in=records.values("pk"), ended_at__isnull=False).order_by()


def _efficiency_by(records: QuerySet[EstimateLine], ctx: Context, path: str) -> dict[int, Counts]:
    standard = {row[path]: row["h"] for row in records.values(path).annotate(h=Sum("standard_hours"))}
    seconds = {
        row[f"line__{path}"]: row["s"]
        for row in _closed_segments(records).values(f"line__{path}").annotate(s=Sum(_segment_seconds()))
    }
    result = {}
    for person, hours in standard.items():
        minutes = (Decimal(seconds.get(person) or 0) / 60).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        result[person] = Counts(numerator=Decimal(str(hours or 0)) * 60, denominator=int(minutes))
    return result


entry(
    CustomRule(
        base=_finished_labour,
        store="estimate__order__store_id",
        count_fn=lambda records, ctx: _efficiency(records, _closed_segments(records)),
        count_by_fn=_efficiency_by,
        technician="estimate__order__technician_id",
    ),
    key="efficiency",
    label=_("Technician efficiency"),
    definition=_(
        "Labour lines finished in the period: standard hours over the hours clocked on them, in percent "
        "(numerator = standard minutes, denominator = clocked minutes; a running clock counts once stopped)."
    ),
    unit="percent",
    direction="higher",
    cuts=("technician",),
    area="operations",
)


# -------------------------------------------------------------------------------------- staff qualifications


def _roster_day(ctx: Context) -> dt.date:
    """The period's last day, or today while the period runs (a future day has no roster yet)."""
    return min(ctx.period.last_day, timezone.localdate(ctx.now))


entry(
    ShareRule(
        base=lambda ctx: staff_selectors.roster_on(ctx.scope.store_ids, _roster_day(ctx)),
        meets=lambda ctx: Q(senior=True),
        technician="user_id",
    ),
    key="senior_technician_share_percent",
    label=_("Senior technician share"),
    definition=_(
        "Technicians (technician or foreman of the store) on the period's last day: those whose grade on that "
        "day, by the grade history, is senior (level 3) or above. A person counts once per store."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_senior_technician_percent",
    cuts=("technician",),
    area="operations",
)


# -------------------------------------------------------------------------------------- data of a later issue

ATTENDANCE = _("Needs the technicians' available hours (attendance), which are not recorded yet.")

for key, label, reason, target, area in (
    ("productivity", _("Technician productivity"), ATTENDANCE, None, "operations"),
    ("proficiency", _("Technician proficiency"), ATTENDANCE, None, "operations"),
    (
        "after_sales_profit_share_percent",
        _("After-sales profit share"),
        _("Needs the monthly gross profits (after-sales and new vehicles), which are not entered yet."),
        "target_profit_share_percent",
        "operations",
    ),
):
    entry(
        Unavailable(reason=reason, model_queryset=RepairOrder.objects.all),
        key=key,
        label=label,
        definition=reason,
        unit="percent",
        direction="higher",
        target_setting=target,
        review_cycle="year" if key == "after_sales_profit_share_percent" else "month",
        area=area,
    )
