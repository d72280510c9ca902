"""Figures for the home page, gathered from the apps' own selectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

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
    )
