"""Reads of the tiers: counts per store (the `segment` command, the tiers page), the customers of a tier, and the
classic quintile RFM scores for analysts.  All aggregation is SQL; nothing loops over orders or customers.

Which store a customer counts in: the store of their last closed visit, else the store that registered them.
Every customer therefore counts in exactly one store, and the stores' counts add up to the group's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, Ntile

from aftersales.crm.services import NO_TIER, Thresholds, thresholds_for_store
from aftersales.customers.choices import NEV_POWERTRAINS, Tier
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_group
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder

TIER_KEYS = (*Tier.values, "none")  # the order of every count: A, B, C, D, then no tier
SCORES = range(1, 6)


def _last_visit_store() -> Subquery:
    return Subquery(
        RepairOrder.objects.filter(
            customer=OuterRef("pk"), status=RepairOrderStatus.DELIVERED, delivered_at__isnull=False
        )
        .order_by("-delivered_at", "-id")
        .values("store_id")[:1]
    )


def customers_counted_in(*, store_ids: Collection[int]) -> QuerySet[Any]:
    """Customers counted in these stores (the store of their last closed visit, else their registered store),
    annotated with that store as `counted_store`."""
    return (
        Customer.objects.order_by()
        .annotate(counted_store=Coalesce(_last_visit_store(), F("store_id"), output_field=IntegerField()))
        .filter(counted_store__in=list(store_ids))
    )


def _nev() -> Exists:
    return Exists(Vehicle.objects.filter(customer=OuterRef("pk"), powertrain__in=list(NEV_POWERTRAINS)))


@dataclass
class StoreTiers:
    """One store's tier counts (A, B, C, D, none), its NEV owners and the thresholds in force there."""

    store: Store
    tiers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIER_KEYS, 0))
    nev: int = 0
    thresholds: Thresholds | None = None

    @property
    def total(self) -> int:
        return sum(self.tiers.values())

    @property
    def tiered(self) -> int:
        return self.total - self.tiers["none"]

    def share(self, key: str) -> float:
        """The tier's share of the store's customers with a tier, in percent (one decimal)."""
        return round(100 * self.tiers[key] / self.tiered, 1) if self.tiered and key != "none" else 0.0


def tier_counts(*, store_ids: Collection[int], with_thresholds: bool = False) -> list[StoreTiers]:
    """Tier counts per store (by code) with the NEV owners: two GROUP BY queries, plus one settings read per store
    with `with_thresholds`."""
    stores = {s.pk: StoreTiers(store=s) for s in Store.objects.filter(pk__in=list(store_ids)).order_by("code")}
    counted = customers_counted_in(store_ids=stores)
    for store_id, tier, n in counted.values_list("counted_store", "tier").annotate(n=Count("pk")):
        stores[store_id].tiers[tier or "none"] += n
    for store_id, n in counted.filter(_nev()).values_list("counted_store").annotate(n=Count("pk")):
        stores[store_id].nev = n
    if with_thresholds:
        for row in stores.values():
            row.thresholds = thresholds_for_store(row.store)
    return list(stores.values())


def total_tiers(rows: list[StoreTiers]) -> dict[str, int]:
    return {key: sum(row.tiers[key] for row in rows) for key in TIER_KEYS}


def tiers_as_of(*, store_ids: Collection[int]) -> dt.date | None:
    """The day the stored tiers were last computed for these stores' customers (None: never)."""
    return Customer.objects.filter(store_id__in=list(store_ids)).aggregate(day=Max("tier_as_of"))["day"]


def group_thresholds(stores: list[Store]) -> Thresholds:
    """The thresholds of a set of stores for a one-line summary: the only store's, else their group's (the defaults
    when the stores span groups).  A store that overrides one shows it on its own line of the tiers page."""
    if len(stores) == 1:
        return thresholds_for_store(stores[0])
    groups = {s.group_id for s in stores}
    if len(groups) == 1:
        return Thresholds.from_settings(setting_values_for_group(stores[0].group))
    from aftersales.organisation.settings_catalogue import BY_KEY

    return Thresholds.from_settings({key: setting.default for key, setting in BY_KEY.items()})


def tier_customer_list(*, store_ids: Collection[int], tier: str) -> QuerySet[Any]:
    """The customers of a tier ("" = no tier) counted in these stores, most recent visit first, then by R/F/M."""
    return (
        customers_counted_in(store_ids=store_ids)
        .filter(tier=tier)
        .annotate(nev=_nev())
        .select_related("store")
        .order_by(F("tier_recency_days").asc(nulls_last=True), "-tier_monetary", "-id")
    )


# ------------------------------------------------------------------------------------------ quintile RFM scores
def rfm_scores(*, store_ids: Collection[int]) -> QuerySet[Any]:
    """The customers with a tier, each with the classic quintile scores 1–5 (`r_score`, `f_score`, `m_score`):
    NTILE(5) over the customers of these stores, as of the last computation (the stored R, F, M).  5 is best: the
    most recent visit, the most visits, the most paid.  Ties are broken by id, so equal values may straddle two
    quintiles (that is what quintiles of a skewed distribution do)."""
    return (
        customers_counted_in(store_ids=store_ids)
        .exclude(tier=NO_TIER)
        .annotate(
            r_score=Window(Ntile(5), order_by=[F("tier_recency_days").desc(), F("pk").asc()]),
            f_score=Window(Ntile(5), order_by=[F("tier_frequency").asc(), F("pk").asc()]),
            m_score=Window(Ntile(5), order_by=[F("tier_monetary").asc(), F("pk").asc()]),
        )
    )


def rfm_heatmap(*, store_ids: Collection[int]) -> list[list[int]]:
    """customers[r - 1][f - 1] for each R × F score: one query, counting over the window query (an aggregate over
    a window function needs the window in a subquery, which the ORM does not write, so we wrap its SQL)."""
    sql, params = rfm_scores(store_ids=store_ids).values("r_score", "f_score").query.sql_with_params()
    grid = [[0 for _f in SCORES] for _r in SCORES]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT scores.r_score, scores.f_score, COUNT(*) FROM ({sql}) scores "  # noqa: S608 - the ORM's own SQL
            "GROUP BY scores.r_score, scores.f_score",
            params,
        )
        for r, f, n in cursor.fetchall():
            grid[int(r) - 1][int(f) - 1] = int(n)
    return grid


@dataclass(frozen=True)
class Referrals:
    """New customers of a period brought by someone (SPEC §7: referrals are 15 % of the advisor's scorecard)."""

    by_staff: dict[int, int]  # staff user id → customers they referred
    by_customers: int  # customers referred by another customer


def referral_counts(*, store_ids: Collection[int], start: dt.datetime, end: dt.datetime) -> Referrals:
    """Customers registered at the stores in [start, end) with who referred them, counted in SQL (one query)."""
    registered = Customer.objects.filter(store_id__in=list(store_ids), created_at__gte=start, created_at__lt=end)
    by_staff = dict(
        registered.filter(referred_by_staff__isnull=False)
        .values("referred_by_staff")
        .annotate(n=Count("id"))
        .values_list("referred_by_staff", "n")
    )
    return Referrals(by_staff=by_staff, by_customers=registered.filter(referred_by_customer__isnull=False).count())
