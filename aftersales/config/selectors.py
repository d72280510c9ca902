"""Figures for the home page, gathered from the apps' own selectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from aftersales.core import clock
from aftersales.customers.choices import NEV_POWERTRAINS
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.selectors import store_list_for_user


@dataclass(frozen=True)
class HomeSummary:
    stores: list[Any]
    customers: int
    new_customers_30d: int
    vehicles: int
    nev_vehicles: int
    registrations_chart: dict[str, Any]


def home_summary(*, user: Any, store_ids: frozenset[int]) -> HomeSummary:
    since = clock.now() - dt.timedelta(days=30)
    customer_counts = Customer.objects.for_user(user, store_ids=store_ids).aggregate(
        total=Count("id"), recent=Count("id", filter=Q(created_at__gte=since))
    )
    vehicle_counts = Vehicle.objects.for_user(user, store_ids=store_ids).aggregate(
        total=Count("id"), nev=Count("id", filter=Q(powertrain__in=NEV_POWERTRAINS))
    )
    stores = [s for s in store_list_for_user(user=user) if s.pk in store_ids]
    return HomeSummary(
        stores=stores,
        customers=customer_counts["total"],
        new_customers_30d=customer_counts["recent"],
        vehicles=vehicle_counts["total"],
        nev_vehicles=vehicle_counts["nev"],
        registrations_chart=registrations_by_month(user=user, store_ids=store_ids, stores=stores),
    )


def registrations_by_month(*, user: Any, store_ids: frozenset[int], stores: list[Any], months: int = 24) -> dict:
    """ECharts options: new customers per month and store over the last `months` months (one SQL query)."""
    today = clock.today()
    start = dt.date(today.year - months // 12, today.month, 1)
    rows = (
        Customer.objects.for_user(user, store_ids=store_ids)
        .filter(created_at__date__gte=start)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "store_id")
        .annotate(n=Count("id"))
    )
    counts = {(r["month"].strftime("%Y-%m"), r["store_id"]): r["n"] for r in rows}
    labels = sorted({month for month, _ in counts})
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 40, "right": 10, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"name": s.name, "type": "bar", "stack": "all", "data": [counts.get((m, s.pk), 0) for m in labels]}
            for s in stores
        ],
    }
