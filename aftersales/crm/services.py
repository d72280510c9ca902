"""Customer tiers (RFM, SPEC §5): compute every customer's R, F, M and tier in SQL, store them on the customer,
keep the history of changes, and move customers in and out of the priority lane.

The rules, on an `as_of` day, for each customer, with the thresholds in force at the customer's registered store:

- R = days from the last closed visit's delivery day (Asia/Shanghai calendar day) to `as_of`;
- N = closed visits ever (up to `as_of`), F = closed visits delivered in the window, M = what they were billed;
  the window is the `tier_window_months` months before `as_of`: delivery days after the same day
  `window_months` months earlier, up to and including `as_of` (12 months from 2026-12-03 = 2025-12-04 … 2026-12-03);
- first match wins: D if R > d; C if N = 1 and R ≤ c; A if R ≤ a and F ≥ v and M ≥ amount; B otherwise;
  a customer with no closed visit has no tier (blank), and R/F/M are cleared.

"Closed visit" = a delivered repair order (status DELIVERED with a delivery time); cancelled and open orders never
count, and deliveries after `as_of` are ignored, so a recomputation "as of" an earlier day gives that day's tiers.

The priority lane (SPEC §5, tier A's benefit): entering A puts the customer in it.  Leaving A takes it away only
when the tier gave it (the `TierChange` that moved the customer into A says `priority_granted`); a lane set by hand
for a customer who was already in it when they reached A is theirs to keep, and staff remove it by hand.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round, TruncDate

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.crm.models import TierChange
from aftersales.customers.choices import Tier
from aftersales.customers.models import Customer
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus

LOCAL_TZ = ZoneInfo(settings.TIME_ZONE)  # Asia/Shanghai: a visit's day is the store's calendar day
NO_TIER = ""

# The six settings of settings_catalogue.py that the rules read, in the order they are printed.
THRESHOLD_KEYS = (
    "tier_window_months",
    "tier_d_recency_days",
    "tier_c_recency_days",
    "tier_a_recency_days",
    "tier_a_min_visits",
    "tier_a_min_amount",
)
MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass(frozen=True)
class Thresholds:
    """The tier rules' numbers at one store (settings: store override, else group value, else default)."""

    window_months: int
    d_recency_days: int
    c_recency_days: int
    a_recency_days: int
    a_min_visits: int
    a_min_amount: Decimal

    @classmethod
    def from_settings(cls, values: Mapping[str, int | Decimal]) -> Thresholds:
        return cls(
            window_months=int(values["tier_window_months"]),
            d_recency_days=int(values["tier_d_recency_days"]),
            c_recency_days=int(values["tier_c_recency_days"]),
            a_recency_days=int(values["tier_a_recency_days"]),
            a_min_visits=int(values["tier_a_min_visits"]),
            a_min_amount=Decimal(values["tier_a_min_amount"]).quantize(Decimal("0.01")),
        )

    def as_dict(self) -> dict[str, int | str]:
        """The settings by their catalogue keys (the amount as a decimal string, like every amount we print)."""
        return {
            "tier_window_months": self.window_months,
            "tier_d_recency_days": self.d_recency_days,
            "tier_c_recency_days": self.c_recency_days,
            "tier_a_recency_days": self.a_recency_days,
            "tier_a_min_visits": self.a_min_visits,
            "tier_a_min_amount": f"{self.a_min_amount:.2f}",
        }

    def rules(self) -> dict[str, str]:
        """The rule in force for each tier as a short formula, stored on the customer and shown on the profile.
        R: days since the last closed visit; N: closed visits ever; F, M: closed visits and amount in the window."""
        return {
            Tier.D: f"R > {self.d_recency_days}",
            Tier.C: f"N = 1 ∧ R ≤ {self.c_recency_days}",
            Tier.A: f"R ≤ {self.a_recency_days} ∧ F ≥ {self.a_min_visits} ∧ M ≥ {self.a_min_amount:.2f}",
            Tier.B: f"N ≥ 1 ∧ R ≤ {self.d_recency_days} ∧ ¬C ∧ ¬A",
        }


def thresholds_for_store(store: Store) -> Thresholds:
    return Thresholds.from_settings(setting_values_for_store(store))


@dataclass
class TierSummary:
    """What one computation did."""

    as_of: dt.date
    customers: int = 0  # customers evaluated
    updated: int = 0  # customers whose tier, rule or R/F/M changed
    changed: int = 0  # of those, customers whose tier changed (one TierChange each)
    priority_granted: int = 0
    priority_removed: int = 0
    tiers: Counter[str] = field(default_factory=Counter)  # tier ("" = none) → customers

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "updated": self.updated,
            "changed": self.changed,
            "priority_granted": self.priority_granted,
            "priority_removed": self.priority_removed,
            "tiers": {(code or "none"): self.tiers.get(code, 0) for code in (*Tier.values, NO_TIER)},
        }


class DaysSince(Func):
    """Whole days from a date expression to `as_of` (a Python date), the same on SQLite and PostgreSQL
    (Django has no portable date difference in days: its DurationField subtraction differs per backend)."""

    output_field = IntegerField()

    def __init__(self, expression: Any, *, as_of: dt.date) -> None:
        super().__init__(expression)
        self.as_of = as_of

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "sqlite":
            return f"CAST(julianday(%s) - julianday({sql}) AS INTEGER)", [self.as_of.isoformat(), *params]
        return f"(CAST(%s AS date) - CAST({sql} AS date))", [self.as_of, *params]


def months_back(day: dt.date, months: int) -> dt.date:
    """The same calendar day `months` earlier (the month's last day when it is shorter: 31 May − 3 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)


def tier_rows(*, customers: Any, thresholds: Thresholds, as_of: dt.date) -> Any:
    """`customers` (a Customer queryset) annotated with the new values: `new_r` (days, None without a closed visit),
    `new_n` (closed visits ever), `new_f`, `new_m`, `new_tier` and `new_rule`.  One LEFT JOIN of the repair orders
    with GROUP BY customer; the delivery-time bounds are timestamps (local midnights), so the index on
    delivered_at serves them and no per-row date conversion is needed but for the last visit's day."""
    end = _local_midnight(as_of + dt.timedelta(days=1))
    window_start = _local_midnight(months_back(as_of, thresholds.window_months) + dt.timedelta(days=1))
    closed = Q(
        repair_orders__status=RepairOrderStatus.DELIVERED,
        repair_orders__delivered_at__isnull=False,
        repair_orders__delivered_at__lt=end,
    )
    in_window = closed & Q(repair_orders__delivered_at__gte=window_start)
    rules = thresholds.rules()
    t = thresholds
    # Round the sum to cents: SQLite adds decimals as binary floating point (7 500.10 + 7 499.90 may come out a
    # hair under 15 000), PostgreSQL exactly; rounded, both compare the same against the threshold.
    amount = Round(Coalesce(Sum("repair_orders__billed_total", filter=in_window), Value(Decimal("0.00"))), 2)
    decided = [
        (Q(new_n=0), NO_TIER),
        (Q(new_r__gt=t.d_recency_days), Tier.D),
        (Q(new_n=1, new_r__lte=t.c_recency_days), Tier.C),
        (Q(new_r__lte=t.a_recency_days, new_f__gte=t.a_min_visits, new_m__gte=t.a_min_amount), Tier.A),
    ]
    return (
        customers.order_by()
        .annotate(
            new_last=Max("repair_orders__delivered_at", filter=closed),
            new_n=Count("repair_orders", filter=closed),
            new_f=Count("repair_orders", filter=in_window),
            new_m=Coalesce(amount, Value(Decimal("0.00")), output_field=MONEY),
        )
        .annotate(new_r=DaysSince(TruncDate("new_last", tzinfo=LOCAL_TZ), as_of=as_of))
        .annotate(
            new_tier=Case(
                *(When(condition, then=Value(str(code))) for condition, code in decided),
                default=Value(str(Tier.B)),
                output_field=CharField(),
            ),
            new_rule=Case(
                *(When(condition, then=Value(rules[code] if code else "")) for condition, code in decided),
                default=Value(rules[Tier.B]),
                output_field=CharField(),
            ),
        )
    )


def _profiles(store_ids: Iterable[int] | None) -> dict[Thresholds, list[int]]:
    """Stores grouped by the thresholds in force there: one computation per distinct set of numbers (usually one
    for a whole group), so per-store overrides cost a query each, not a pass each."""
    stores = Store.objects.order_by("pk")
    if store_ids is not None:
        stores = stores.filter(pk__in=list(store_ids))
    profiles: dict[Thresholds, list[int]] = {}
    for store in stores:
        profiles.setdefault(thresholds_for_store(store), []).append(store.pk)
    return profiles


def tiers_compute(*, as_of: dt.date | None = None, store_ids: Iterable[int] | None = None) -> TierSummary:
    """Compute R, F, M and the tier of every customer (of the customers registered at `store_ids`, all when None)
    as of `as_of` (default: today), store what changed, write a `TierChange` per changed tier and move customers
    in and out of the priority lane.  Idempotent: a second run on the same day writes no history and changes
    nothing but what the first one did."""
    as_of = as_of or clock.today()
    summary = TierSummary(as_of=as_of)
    # NB: the customer's registered store picks the thresholds (and the scope); when customers become group-wide
    # this stays the store that registered them.
    for thresholds, profile_store_ids in _profiles(store_ids).items():
        with transaction.atomic():
            # Serialise computations over the same stores (the nightly job and a manager's button): the second
            # waits and then finds the first one's tiers, so no change is recorded twice.
            # Locked in id order, so two runs over overlapping stores cannot deadlock.
            list(
                Store.objects.select_for_update()
                .filter(pk__in=profile_store_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            _compute_profile(thresholds=thresholds, store_ids=profile_store_ids, as_of=as_of, summary=summary)
    return summary


STAGE = "crm_tier_stage"  # a temporary table: the new values of one threshold profile's customers


def _compute_profile(*, thresholds: Thresholds, store_ids: list[int], as_of: dt.date, summary: TierSummary) -> None:
    """The whole write is set-based: the ORM's tier query is materialised once into a temporary table, then one
    INSERT … SELECT writes the history, two UPDATEs move the priority lane, and one UPDATE … FROM stores the new
    values — the same statements on SQLite (≥ 3.33) and PostgreSQL, with no row passing through Python."""
    scope = Customer.objects.filter(store_id__in=store_ids)
    staged = (
        tier_rows(customers=scope, thresholds=thresholds, as_of=as_of)
        .annotate(cid=F("pk"))
        .values("cid", "new_tier", "new_rule", "new_r", "new_f", "new_m")
    )
    select_sql, select_params = staged.query.sql_with_params()
    q = connection.ops.quote_name
    customer, change = q(Customer._meta.db_table), q(TierChange._meta.db_table)
    stage = q(STAGE)
    # A customer whose stored values differ from the staged ones (R is NULL without a closed visit).
    differs = (
        "({c}.tier <> t.new_tier OR {c}.tier_rule <> t.new_rule OR COALESCE({c}.tier_recency_days, -1) "
        "<> COALESCE(t.new_r, -1) OR {c}.tier_frequency <> t.new_f OR {c}.tier_monetary <> t.new_m)"
    ).format(c=customer)
    a, now = str(Tier.A), clock.now()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        # No closed visit: no tier, and R/F/M cleared (the query already gives R NULL, F 0, M 0 then).
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} AS {select_sql}", select_params)  # noqa: S608
        cursor.execute(f"SELECT new_tier, COUNT(*) FROM {stage} GROUP BY new_tier")  # noqa: S608
        for tier, n in cursor.fetchall():
            summary.tiers[tier] += n
            summary.customers += n
        # 1. Leaving A: out of the lane when the change that brought them into A gave it (the latest history row,
        #    read before this run writes its own).
        cursor.execute(
            f"UPDATE {customer} SET is_priority = %s WHERE is_priority = %s AND tier = %s "  # noqa: S608
            f"AND id IN (SELECT cid FROM {stage} WHERE new_tier <> %s) "
            f"AND (SELECT h.priority_granted FROM {change} h WHERE h.customer_id = {customer}.id "
            f"ORDER BY h.id DESC LIMIT 1) = %s",
            [False, True, a, a, True],
        )
        summary.priority_removed += cursor.rowcount
        # 2. History: one row per customer whose tier changes.
        cursor.execute(
            f"INSERT INTO {change} (created_at, updated_at, customer_id, from_tier, to_tier, rule, r_days, f, m, "  # noqa: S608
            f"as_of, priority_granted) SELECT %s, %s, c.id, c.tier, t.new_tier, t.new_rule, t.new_r, t.new_f, t.new_m, "
            f"%s, CASE WHEN t.new_tier = %s AND c.is_priority = %s THEN %s ELSE %s END "
            f"FROM {customer} c INNER JOIN {stage} t ON t.cid = c.id WHERE c.tier <> t.new_tier",
            [now, now, as_of, a, False, True, False],
        )
        summary.changed += cursor.rowcount
        # 3. Entering A: into the priority lane.
        cursor.execute(
            f"UPDATE {customer} SET is_priority = %s WHERE is_priority = %s AND tier <> %s "  # noqa: S608
            f"AND id IN (SELECT cid FROM {stage} WHERE new_tier = %s)",
            [True, False, a, a],
        )
        summary.priority_granted += cursor.rowcount
        # 4. The new values and the day, in one pass over the rows that need either (a second UPDATE for the
        #    day alone would write every row twice).
        cursor.execute(
            f"SELECT COUNT(*) FROM {customer} INNER JOIN {stage} t ON t.cid = {customer}.id WHERE {differs}"  # noqa: S608
        )
        summary.updated += cursor.fetchone()[0]
        cursor.execute(
            f"UPDATE {customer} SET tier = t.new_tier, tier_rule = t.new_rule, tier_recency_days = t.new_r, "  # noqa: S608
            f"tier_frequency = t.new_f, tier_monetary = t.new_m, tier_as_of = %s FROM {stage} t "
            f"WHERE {customer}.id = t.cid AND ({differs} OR {customer}.tier_as_of IS NULL "
            f"OR {customer}.tier_as_of <> %s)",
            [as_of, as_of],
        )
        cursor.execute(f"DROP TABLE {stage}")


def tiers_recompute(*, by: Any, store_ids: Iterable[int] | None = None, as_of: dt.date | None = None) -> TierSummary:
    """A manager's on-demand recomputation (the tiers page's button): the same computation, recorded in the audit
    trail.  The caller has checked the capability in every store of `store_ids`."""
    ids = sorted(set(store_ids)) if store_ids is not None else None
    summary = tiers_compute(as_of=as_of, store_ids=ids)
    audit_record(
        actor=by,
        action="tiers.recompute",
        object_type="crm.tierchange",
        store_id=ids[0] if ids and len(ids) == 1 else None,
        changes={"as_of": summary.as_of.isoformat(), "customers": summary.customers, "changed": summary.changed},
    )
    return summary
