"""Reads of the care campaigns: the audience (one SQL query), the preview before sending, the list, and the
results per arm with the uplift and its confidence interval (aggregated in SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from aftersales.campaigns.audience import AudienceFilter, arm_for
from aftersales.campaigns.choices import Arm
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.campaigns.stats import Interval, newcombe_difference
from aftersales.core import clock
from aftersales.customers.choices import NEV_POWERTRAINS, ConsentPurpose
from aftersales.customers.models import Consent, Customer, Vehicle
from aftersales.customers.validators import mask_mobile
from aftersales.messaging.choices import MessageStatus, Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import DeferredStatus, RepairOrderStatus
from aftersales.service.models import Appointment, DeferredWork, RepairOrder

# Reading campaigns and their results: whoever reads the voice of the customer (advisors, agents, managers, the
# group manager); preparing and moving them is MANAGE_CAMPAIGNS (the rulebook's table).  No page shows a
# customer's phone or name in full.
READ = Capability.VIEW_FEEDBACK
SAMPLE_SIZE = 10
# Messages that count against the frequency cap: queued or sent (a suppressed one never reached the customer).
CAPPED_STATUSES = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.SENT)
ZERO = Decimal("0.00")


# ------------------------------------------------------------------------------------------------ audience


def campaign_audience(*, store: Store, audience: AudienceFilter) -> QuerySet[Customer]:
    """Every customer of the store that the filter selects, as one query (EXISTS subqueries, no joins that
    could repeat a customer).  The vehicle conditions hold for one and the same vehicle."""
    customers = Customer.objects.for_stores([store.pk])
    if audience.tiers:
        customers = customers.filter(tier__in=list(audience.tiers))
    vehicle_q = Q()
    if audience.nev == "nev":
        vehicle_q &= Q(powertrain__in=list(NEV_POWERTRAINS))
    elif audience.nev == "non_nev":
        vehicle_q &= ~Q(powertrain__in=list(NEV_POWERTRAINS))
    if audience.model_contains:
        vehicle_q &= Q(model_name__icontains=audience.model_contains)
    if audience.mileage_min is not None:
        vehicle_q &= Q(mileage_km__gte=audience.mileage_min)
    if audience.mileage_max is not None:
        vehicle_q &= Q(mileage_km__lte=audience.mileage_max)
    if vehicle_q:
        customers = customers.filter(Exists(Vehicle.objects.filter(vehicle_q, customer=OuterRef("pk"))))
    if audience.last_visit_from or audience.last_visit_to:
        # The last delivered visit falls in the range: one in the range, and none after its end.
        delivered = RepairOrder.objects.filter(customer=OuterRef("pk"), status=RepairOrderStatus.DELIVERED)
        in_range = delivered
        if audience.last_visit_from:
            in_range = in_range.filter(delivered_at__date__gte=audience.last_visit_from)
        if audience.last_visit_to:
            in_range = in_range.filter(delivered_at__date__lte=audience.last_visit_to)
            customers = customers.exclude(Exists(delivered.filter(delivered_at__date__gt=audience.last_visit_to)))
        customers = customers.filter(Exists(in_range))
    if audience.open_deferred:
        customers = customers.filter(
            Exists(DeferredWork.objects.filter(vehicle__customer=OuterRef("pk"), status=DeferredStatus.OPEN))
        )
    return customers


def marketing_consent_exists() -> Exists:
    return Exists(Consent.objects.filter(customer=OuterRef("pk"), purpose=ConsentPurpose.MARKETING, granted=True))


def recent_marketing_count(*, customer_ref: str, since: dt.datetime) -> Subquery:
    """How many marketing messages the customer was queued or sent since `since` (the frequency cap)."""
    rows = (
        OutboxMessage.objects.filter(
            customer_id=OuterRef(customer_ref),
            purpose=Purpose.MARKETING,
            status__in=CAPPED_STATUSES,
            created_at__gte=since,
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(rows, output_field=IntegerField())


@dataclass(frozen=True)
class SampleRow:
    name: str
    phone: str
    tier: str
    arm: str


@dataclass(frozen=True)
class Preview:
    total: int
    treatment: int
    control: int
    control_percent: int
    no_consent: int  # treatment members without marketing consent (no message)
    capped: int  # treatment members over the frequency cap (no message)
    will_send: int
    sample: list[SampleRow] = field(default_factory=list)
    exact: bool = True  # False before the campaign is saved: the split then uses a provisional seed


def mask_name(name: str) -> str:
    return f"{name[:1]}{'*' * max(1, len(name) - 1)}" if name else ""


def campaign_preview(*, store: Store, audience: AudienceFilter, campaign_id: int | None = None) -> Preview:
    """What sending would do now: the audience, its split, who would be skipped and why, a masked sample.

    One query reads each customer's id, consent and recent marketing messages; the arms come from the seeded
    hash (audience.arm_for), computed here on the ids exactly as the sending will."""
    values = setting_values_for_store(store)
    control_percent = int(values["campaign_control_share_percent"])
    cap = int(values["campaign_frequency_cap_messages"])
    since = clock.now() - dt.timedelta(days=int(values["campaign_frequency_cap_days"]))
    rows = (
        campaign_audience(store=store, audience=audience)
        .annotate(consented=marketing_consent_exists(), recent=recent_marketing_count(customer_ref="pk", since=since))
        .order_by("pk")
        .values_list("pk", "consented", "recent")
    )
    seed = campaign_id or 0
    treatment = control = no_consent = capped = 0
    arms: dict[int, str] = {}
    for pk, consented, recent in rows:
        arm = arm_for(campaign_id=seed, customer_id=pk, control_percent=control_percent)
        arms[pk] = arm
        if arm == Arm.CONTROL:
            control += 1
            continue
        treatment += 1
        if not consented:  # every campaign is marketing (choices.CampaignPurpose)
            no_consent += 1
        elif (recent or 0) >= cap:
            capped += 1
    sample_ids = sorted(arms)[:: max(1, len(arms) // SAMPLE_SIZE)][:SAMPLE_SIZE]
    sample = [
        SampleRow(name=mask_name(c.name), phone=mask_mobile(c.phone), tier=c.tier or "–", arm=arms[c.pk])
        for c in Customer.objects.filter(pk__in=sample_ids).order_by("pk")
    ]
    return Preview(
        total=treatment + control,
        treatment=treatment,
        control=control,
        control_percent=control_percent,
        no_consent=no_consent,
        capped=capped,
        will_send=treatment - no_consent - capped,
        sample=sample,
        exact=campaign_id is not None,
    )


# ------------------------------------------------------------------------------------------------- lists


def campaign_list(*, user: Any, store_ids: frozenset[int] | None = None, status: str = "") -> QuerySet[Campaign]:
    rows = Campaign.objects.for_user(user, READ, store_ids=store_ids).select_related("store", "created_by")
    if status:
        rows = rows.filter(status=status)
    return rows.annotate(member_count=Count("members")).order_by("-created_at", "-pk")


def campaign_get_for_user(*, user: Any, pk: int) -> Campaign:
    """The campaign in a store where the user may read campaigns; 404 otherwise (like a missing one)."""
    return (
        Campaign.objects.select_related("store", "created_by")
        .annotate(member_count=Count("members"))
        .get_for_user_or_404(user, READ, pk=pk)
    )


def campaigns_due(*, now: dt.datetime) -> QuerySet[Campaign]:
    """Scheduled campaigns whose time has come, and campaigns still sending (a worker stopped half-way)."""
    from aftersales.campaigns.choices import CampaignStatus as S

    return Campaign.objects.filter(Q(status=S.SCHEDULED, scheduled_at__lte=now) | Q(status=S.SENDING)).order_by(
        "scheduled_at", "pk"
    )


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ArmResult:
    arm: str
    members: int = 0
    delivered: int = 0
    opened: int = 0
    booked: int = 0
    returned: int = 0
    revenue: Decimal = ZERO

    @property
    def return_rate(self) -> float | None:
        return self.returned / self.members if self.members else None

    @property
    def booking_rate(self) -> float | None:
        return self.booked / self.members if self.members else None

    @property
    def revenue_per_member(self) -> Decimal | None:
        return (self.revenue / self.members).quantize(Decimal("0.01")) if self.members else None


@dataclass(frozen=True)
class Results:
    treatment: ArmResult
    control: ArmResult
    window_days: int
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    uplift: Interval | None  # return rate treatment − control, Newcombe hybrid score 95 % CI
    method: str = "newcombe_hybrid_score_95"

    @property
    def arms(self) -> list[ArmResult]:
        return [self.treatment, self.control]


def campaign_results(*, campaign: Campaign) -> Results:
    """Per arm: members, messages delivered, links opened, bookings made and visits (a repair order that
    arrived, not cancelled) within the window after the sending started, and the revenue of those visits that
    were delivered; the uplift of the return rate with its 95 % interval.  One grouped query.

    Both arms are measured from the same moment (the start of the sending), so the control group, which got no
    message, is compared over exactly the same days."""
    days = int(setting_values_for_store(campaign.store)["campaign_result_days"])
    start = campaign.started_at
    empty: dict[str, ArmResult] = {arm: ArmResult(arm=arm) for arm in (Arm.TREATMENT, Arm.CONTROL)}
    if start is None:
        return Results(empty[Arm.TREATMENT], empty[Arm.CONTROL], days, None, None, None)
    end = start + dt.timedelta(days=days)
    visits = RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"), store_id=campaign.store_id, arrived_at__gte=start, arrived_at__lt=end
    ).exclude(status=RepairOrderStatus.CANCELLED)
    revenue = (
        visits.filter(status=RepairOrderStatus.DELIVERED)
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("billed_total"))
        .values("total")
    )
    bookings = Appointment.objects.filter(
        customer_id=OuterRef("customer_id"), store_id=campaign.store_id, created_at__gte=start, created_at__lt=end
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = (
        CampaignMember.objects.filter(campaign=campaign)
        .annotate(
            did_book=Exists(bookings),
            did_return=Exists(visits),
            spent=Coalesce(Subquery(revenue, output_field=money), Value(ZERO), output_field=money),
        )
        .order_by()
        .values("arm")
        .annotate(
            n_members=Count("pk"),
            n_delivered=Count("pk", filter=Q(message__status=MessageStatus.SENT)),
            n_opened=Count("pk", filter=Q(opened_at__isnull=False)),
            n_booked=Count("pk", filter=Q(did_book=True)),
            n_returned=Count("pk", filter=Q(did_return=True)),
            revenue=Sum("spent", output_field=money),
        )
    )
    by_arm: dict[str, ArmResult] = dict(empty)
    for row in rows:
        by_arm[row["arm"]] = ArmResult(
            arm=row["arm"],
            members=row["n_members"],
            delivered=row["n_delivered"],
            opened=row["n_opened"],
            booked=row["n_booked"],
            returned=row["n_returned"],
            revenue=Decimal(row["revenue"] or ZERO).quantize(Decimal("0.01")),
        )
    t, c = by_arm[Arm.TREATMENT], by_arm[Arm.CONTROL]
    uplift = newcombe_difference(t.returned, t.members, c.returned, c.members)
    return Results(t, c, days, start, end, uplift)


def uplift_chart(results: Results, *, labels: dict[str, str]) -> dict[str, Any]:
    """ECharts options (plain JSON): the return rate of each arm as bars, and the uplift in percentage points
    with its 95 % interval as a point on a whisker, against a zero line."""
    rates = [round(100 * (a.return_rate or 0), 1) for a in results.arms]
    option: dict[str, Any] = {
        "grid": [
            {"left": 90, "right": 20, "top": 10, "height": 90},
            {"left": 90, "right": 20, "top": 150, "height": 50},
        ],
        "tooltip": {"trigger": "item"},
        "xAxis": [
            {"type": "value", "gridIndex": 0, "axisLabel": {"formatter": "{value} %"}, "min": 0},
            {"type": "value", "gridIndex": 1, "axisLabel": {"formatter": "{value} pp"}},
        ],
        "yAxis": [
            {"type": "category", "gridIndex": 0, "data": [labels["treatment"], labels["control"]]},
            {"type": "category", "gridIndex": 1, "data": [labels["uplift"]]},
        ],
        "series": [
            {
                "type": "bar",
                "xAxisIndex": 0,
                "yAxisIndex": 0,
                "name": labels["return_rate"],
                "data": rates,
                "label": {"show": True, "position": "right", "formatter": "{c} %"},
                "itemStyle": {"color": "#0d6efd"},
            }
        ],
    }
    if results.uplift is not None:
        u = results.uplift
        low, mid, high = (round(100 * v, 1) for v in (u.lower, u.estimate, u.upper))
        option["series"] += [
            {
                "type": "line",
                "xAxisIndex": 1,
                "yAxisIndex": 1,
                "name": labels["interval"],
                "data": [[low, labels["uplift"]], [high, labels["uplift"]]],
                "symbol": "line",
                "symbolSize": 14,
                "lineStyle": {"width": 3, "color": "#6c757d"},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "data": [{"xAxis": 0}],
                    "lineStyle": {"color": "#dc3545", "type": "dashed"},
                },
            },
            {
                "type": "scatter",
                "xAxisIndex": 1,
                "yAxisIndex": 1,
                "name": labels["uplift"],
                "data": [[mid, labels["uplift"]]],
                "symbolSize": 14,
                "itemStyle": {"color": "#198754" if low > 0 else "#fd7e14"},
                "label": {"show": True, "position": "top", "formatter": f"{mid:+.1f} pp [{low:+.1f}, {high:+.1f}]"},
            },
        ]
    return option
