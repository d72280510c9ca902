"""Reads for the customer 360° profile and the vehicle page (一车一档): read-only, group-wide files.

A customer and a vehicle are one file per dealer group, so both pages show every store's visits, each naming its
store.  The caller has resolved the customer or vehicle with the scoped selectors (`customer_get_for_user`,
`vehicle_get_for_user`: 404 outside the user's stores); these functions only gather what the page shows.

Query counts are bounded: every section is one query (lists capped at a fixed length, sums done in SQL), so a
customer with 200 visits costs the same number of queries as one with two.  Only the reminders section runs a few
queries per vehicle, and vehicles are capped at VEHICLES_SHOWN.

The reminders and campaigns apps sit to the right of crm on layer 6; the profile reads them at call time only
(no import at module load), and a section whose app is absent is simply left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db.models import Avg, Case, Count, DecimalField, IntegerField, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.crm.models import TierChange
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.choices import ConsentPurpose
from aftersales.customers.models import Customer, CustomerStoreLink, Vehicle
from aftersales.feedback.models import Complaint, SurveyResponse
from aftersales.messaging.models import InboundMessage, OutboxMessage
from aftersales.organisation.permissions import Capability
from aftersales.service.choices import DeferredStatus, EstimateStatus, LineDecision, RepairOrderStatus
from aftersales.service.models import DeferredWork, Estimate, RepairOrder

C = Capability
VISITS_SHOWN = 100  # the latest visits listed; the totals count all of them
LIST_SHOWN = 20  # messages, replies, surveys, complaints, campaign touches, tier changes
VEHICLES_SHOWN = 10  # vehicles whose next reminders are computed (a few queries each)
REMINDERS_PER_VEHICLE = 3
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY_FIELD)


@dataclass(frozen=True)
class Allowed:
    """The stores where the user may open each kind of linked page (links to other stores' records are plain
    text).  Computed once per request; `store_ids_where` caches per user."""

    service: frozenset[int]
    feedback: frozenset[int]
    campaigns: frozenset[int]
    customers: frozenset[int]

    @classmethod
    def for_user(cls, user: Any) -> Allowed:
        return cls(
            service=store_ids_where(user, C.VIEW_SERVICE),
            feedback=store_ids_where(user, C.VIEW_FEEDBACK),
            campaigns=store_ids_where(user, C.MANAGE_CAMPAIGNS),
            customers=store_ids_where(user, C.VIEW_CUSTOMERS),
        )


@dataclass(frozen=True)
class Totals:
    """All the customer's (or vehicle's) visits at every store of the group, summed in SQL."""

    visits: int
    delivered: int
    lifetime_spend: Decimal
    last_visit: dt.datetime | None


@dataclass
class VehicleReminders:
    vehicle: Vehicle
    plate: str
    items: list[Any] = field(default_factory=list)


@dataclass
class CustomerProfile:
    customer: Customer
    personal: customer_selectors.PersonalView
    stores: list[CustomerStoreLink]
    vehicles: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    tier_changes: list[TierChange]
    totals: Totals
    visits: list[RepairOrder]
    estimates: list[Estimate]
    deferred: list[DeferredWork]
    surveys: list[SurveyResponse]
    survey_average: Decimal | None
    complaints: list[Complaint]
    outbox: list[OutboxMessage]
    inbound: list[InboundMessage]
    campaign_touches: list[Any] | None  # None: the campaigns app is not installed
    reminders: list[VehicleReminders] | None  # None: the reminders app is not installed
    referrals: list[Customer]
    visible_referral_ids: frozenset[int]


# ------------------------------------------------------------------------------------------------ shared reads


def visit_totals(*, customer: Customer | None = None, vehicle: Vehicle | None = None) -> Totals:
    """Visit counts and lifetime spend (the bill totals of delivered orders, every store of the group) in one
    aggregate query."""
    orders = RepairOrder.objects.order_by()
    orders = orders.filter(customer=customer) if customer is not None else orders.filter(vehicle=vehicle)
    delivered = Q(status=RepairOrderStatus.DELIVERED)
    row = orders.exclude(status=RepairOrderStatus.CANCELLED).aggregate(
        visits=Count("pk"),
        delivered=Count("pk", filter=delivered),
        spend=Coalesce(Sum("billed_total", filter=delivered), ZERO, output_field=MONEY_FIELD),
        last=Max("arrived_at"),
    )
    return Totals(row["visits"], row["delivered"], row["spend"], row["last"])


def _visits(**lookup: Any) -> list[RepairOrder]:
    """The latest visits, each with its store and vehicle (one query)."""
    return list(
        RepairOrder.objects.filter(**lookup)
        .select_related("store", "vehicle", "customer", "advisor__staff_profile")
        .order_by("-arrived_at", "-id")[:VISITS_SHOWN]
    )


def _deferred(**lookup: Any) -> list[DeferredWork]:
    """Declined work kept on the vehicle: open first (soonest suggested date first), then done and dismissed."""
    closed = Case(When(status=DeferredStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(
        DeferredWork.objects.filter(**lookup)
        .select_related("store", "vehicle", "resolved_order")
        .annotate(closed=closed)
        .order_by("closed", "suggested_date", "id")[:LIST_SHOWN]
    )


def _plate_store(user: Any, customer: Customer) -> int:
    return customer_selectors.acting_store_id(user, C.SEE_PLATES, customer) or customer.store_id


def _with_plates(rows: list[Any], user: Any, plate_store: int, vehicle: str = "vehicle") -> list[Any]:
    """Put the plate as this user may see it on each row (`shown_plate`), decided once for the customer's file
    rather than per row (no query per row)."""
    for row in rows:
        car = row
        for step in vehicle.split("."):
            car = getattr(car, step)
        row.shown_plate = customer_selectors.plate_for(user, car.plate, plate_store) or car.vin[-6:]
    return rows


# ---------------------------------------------------------------------------------------------- the 360° page


def customer_profile(*, customer: Customer, user: Any) -> CustomerProfile:
    """Everything the 360° page shows about a customer the user may see (already resolved with
    `customer_get_for_user`)."""
    plate_store = _plate_store(user, customer)
    vehicles = list(customer.vehicles.select_related("store", "store__group").order_by("id"))
    states = customer_selectors.consent_states(customer)
    stores = sorted(customer.store_links.all(), key=lambda link: (link.created_at, link.pk))
    estimates = list(
        Estimate.objects.filter(order__customer=customer)
        .exclude(status=EstimateStatus.DRAFT)
        .select_related("order", "order__store", "order__vehicle")
        .annotate(
            approved=Coalesce(Sum("lines__amount", filter=Q(lines__decision=LineDecision.APPROVED)), ZERO),
            declined=Coalesce(Sum("lines__amount", filter=Q(lines__decision=LineDecision.DECLINED)), ZERO),
            pending=Count("lines", filter=Q(lines__decision=LineDecision.PENDING)),
        )
        .order_by("-order__arrived_at", "-number")[:LIST_SHOWN]
    )
    surveys = SurveyResponse.objects.filter(customer=customer)
    referrals = list(
        Customer.objects.filter(referred_by_customer=customer, group_id=customer.group_id).order_by("name", "id")[
            :LIST_SHOWN
        ]
    )
    # Who referred them and whom they referred, linked only when the user may open that customer's profile.
    related_ids = [c.pk for c in referrals] + [pk for pk in [customer.referred_by_customer_id] if pk is not None]
    visible_referrals = frozenset(
        Customer.objects.for_user(user, C.VIEW_CUSTOMERS).filter(pk__in=related_ids).values_list("pk", flat=True)
        if related_ids
        else []
    )
    return CustomerProfile(
        customer=customer,
        personal=customer_selectors.personal_view(customer, user=user),
        stores=stores,
        vehicles=[{"vehicle": v, "plate": customer_selectors.plate_for(user, v.plate, plate_store)} for v in vehicles],
        consents=[
            {"purpose": value, "label": label, "state": states.get(value)} for value, label in ConsentPurpose.choices
        ],
        tier_changes=list(TierChange.objects.filter(customer=customer)[:LIST_SHOWN]),
        totals=visit_totals(customer=customer),
        visits=_with_plates(_visits(customer=customer), user, plate_store),
        estimates=_with_plates(estimates, user, plate_store, "order.vehicle"),
        deferred=_with_plates(_deferred(vehicle__customer=customer), user, plate_store),
        surveys=list(surveys.select_related("store", "order")[:LIST_SHOWN]),
        survey_average=surveys.order_by().aggregate(avg=Avg("overall"))["avg"],
        complaints=list(Complaint.objects.filter(customer=customer).select_related("store", "order")[:LIST_SHOWN]),
        outbox=list(OutboxMessage.objects.filter(customer=customer).select_related("store")[:LIST_SHOWN]),
        inbound=_replies(customer),
        campaign_touches=_campaign_touches(customer),
        reminders=_reminders(vehicles, user=user, plate_store=plate_store),
        referrals=referrals,
        visible_referral_ids=visible_referrals,
    )


def _replies(customer: Customer) -> list[InboundMessage]:
    """The customer's replies through the campaigns app's reader when it is there, else straight from messaging."""
    try:
        from aftersales.campaigns.replies import replies_for_customer
    except ImportError:  # pragma: no cover - the campaigns app is built in parallel
        from aftersales.messaging.inbound import inbound_list_for_customer

        return inbound_list_for_customer(customer=customer, limit=LIST_SHOWN)
    return replies_for_customer(customer, limit=LIST_SHOWN)


def _campaign_touches(customer: Customer) -> list[Any] | None:
    """The campaigns that drew the customer (treatment or control), newest first; None without the app."""
    try:
        member = apps.get_model("campaigns", "CampaignMember")
    except LookupError:
        return None
    return list(
        member.objects.filter(customer=customer)
        .select_related("campaign", "campaign__store", "message")
        .order_by("-created_at", "-id")[:LIST_SHOWN]
    )


def _reminders(vehicles: list[Vehicle], *, user: Any, plate_store: int) -> list[VehicleReminders] | None:
    """The next few reminders of each vehicle (the reminders app computes them); None without the app."""
    if not apps.is_installed("aftersales.reminders"):
        return None
    from aftersales.reminders.selectors import next_reminders_for_vehicle

    return [
        VehicleReminders(
            v,
            customer_selectors.plate_for(user, v.plate, plate_store),
            next_reminders_for_vehicle(v)[:REMINDERS_PER_VEHICLE],
        )
        for v in vehicles[:VEHICLES_SHOWN]
    ]


# ------------------------------------------------------------------------------------------ the vehicle page


@dataclass(frozen=True)
class MaintenanceDue:
    """The next maintenance: due on `due_on` (the date or the day the projection reaches `due_km`, whichever
    comes first); `reaches_on` is the day the projected mileage reaches `due_km` (None at 0 km/day)."""

    kind: str
    label: str
    due_on: dt.date
    due_km: int | None
    reaches_on: dt.date | None


@dataclass
class VehiclePage:
    vehicle: Vehicle
    owner: Customer
    owner_phone: str
    plate: str
    totals: Totals
    visits: list[RepairOrder]
    deferred: list[DeferredWork]
    readings: list[tuple[dt.date, int]]
    projection: Any | None  # reminders.maths.Projection; None without the reminders app
    maintenance: MaintenanceDue | None
    reminders: list[Any] | None
    chart: dict[str, Any] | None
    today: dt.date


def vehicle_page(*, vehicle: Vehicle, user: Any, on: dt.date | None = None) -> VehiclePage:
    """The vehicle's file (already resolved with `vehicle_get_for_user`): every visit at the group's stores, the
    odometer readings and the projection, the next maintenance, the next reminders, the open deferred work."""
    on = on or clock.today()
    owner = vehicle.customer
    projection = maintenance = reminders = None
    readings: list[tuple[dt.date, int]] = []
    if apps.is_installed("aftersales.reminders"):
        projection, maintenance, reminders = _projection(vehicle, on)
        readings = list(projection.readings)
    return VehiclePage(
        vehicle=vehicle,
        owner=owner,
        owner_phone=customer_selectors.personal_view(owner, user=user).phone,
        plate=customer_selectors.plate_for(user, vehicle.plate, _plate_store(user, owner)),
        totals=visit_totals(vehicle=vehicle),
        visits=_visits(vehicle=vehicle),
        deferred=[d for d in _deferred(vehicle=vehicle) if d.status == DeferredStatus.OPEN],
        readings=readings,
        projection=projection,
        maintenance=maintenance,
        reminders=reminders,
        chart=mileage_chart(readings, projection, maintenance, on=on) if projection is not None else None,
        today=on,
    )


def _projection(vehicle: Vehicle, on: dt.date) -> tuple[Any, MaintenanceDue | None, list[Any]]:
    """The reminders app's projection (km/day by least squares over the readings), its next maintenance and the
    vehicle's next reminders — the numbers the reminder sweep itself uses."""
    from aftersales.reminders import maths
    from aftersales.reminders import selectors as reminders

    projection = reminders.mileage_projection(vehicle, on=on)
    facts = reminders.vehicle_facts([vehicle.pk])[vehicle.pk]
    interval = reminders.interval_for(vehicle, reminders.interval_rules(vehicle.group_id))
    item = reminders.maintenance_due(vehicle, facts, interval, projection)
    maintenance = None
    if item is not None:
        from aftersales.reminders.choices import ReminderKind

        reaches_on = maths.date_reaching(projection, item.due_km) if item.due_km is not None else None
        label = str(ReminderKind(item.kind).label)
        maintenance = MaintenanceDue(item.kind, label, item.due_on, item.due_km, reaches_on)
    return projection, maintenance, reminders.next_reminders_for_vehicle(vehicle, on=on)


def mileage_chart(
    readings: list[tuple[dt.date, int]], projection: Any, maintenance: MaintenanceDue | None, *, on: dt.date
) -> dict[str, Any] | None:
    """ECharts options (plain JSON, embedded with json_script: no inline script under the CSP): the readings as
    points and the projection as a dashed line from the latest reading through today to the due mileage."""
    from django.utils.translation import gettext as _

    if projection.anchor_on is None and not readings:
        return None
    line: list[list[Any]] = []
    if projection.anchor_on is not None:
        line.append([projection.anchor_on.isoformat(), projection.anchor_km])
        if on > projection.anchor_on:
            line.append([on.isoformat(), projection.projected_km])
    due = maintenance.due_km if maintenance is not None else None
    if maintenance is not None and due is not None and maintenance.reaches_on is not None and line:
        if maintenance.reaches_on.isoformat() > line[-1][0]:
            line.append([maintenance.reaches_on.isoformat(), due])
    series: list[dict[str, Any]] = [
        {
            "name": _("Odometer readings"),
            "type": "scatter",
            "symbolSize": 10,
            "itemStyle": {"color": "#0d6efd"},
            "data": [[day.isoformat(), km] for day, km in readings],
        },
        {
            "name": _("Projection"),
            "type": "line",
            "symbol": "emptyCircle",
            "symbolSize": 7,
            "lineStyle": {"type": "dashed", "color": "#fd7e14"},
            "itemStyle": {"color": "#fd7e14"},
            "data": line,
        },
    ]
    if due is not None:
        series[1]["markLine"] = {
            "symbol": "none",
            "lineStyle": {"type": "dotted", "color": "#dc3545"},
            "label": {"formatter": _("due at {km} km").format(km=f"{due:,}"), "position": "insideEndTop"},
            "data": [{"yAxis": due}],
        }
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 24, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": "km", "scale": True},
        "series": series,
    }
