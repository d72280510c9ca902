"""Reads of the care app: the win-back rate of KPIS.md, the care page's figures, the playbook and its rules.

`win_back_rate_percent` (KPIS.md): the population is the tier-D customers **sent** a recall in the period — a
`CareAction` of kind d_recall whose outbox message reached the status sent, with its `sent_at` in the period
(half-open, store-local days); the numerator those who **returned**: a repair order of the customer (any store of
the group: the customer file is the group's; cancelled orders never count) arrived after the recall was sent and
at most `win_back_return_days` (90) days after it, exact timestamps (KPIS "In time": sent + 90 days to the second).
**Pending** (KPIS conventions): a recall whose 90 days have not run out when computing and whose customer has not
returned yet is left out of the denominator; a customer who already returned counts at once (the step is done).
The store is the recall's store (the customer's registered store, which sent it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from aftersales.care.choices import CareKind
from aftersales.care.models import CareAction, CarePlaybook, SuggestionRule
from aftersales.core import clock
from aftersales.messaging.choices import MessageStatus
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder

LOCAL_TZ = ZoneInfo(settings.TIME_ZONE)
KPI_KEY = "win_back_rate_percent"

# The suggestion table a group starts with (SPEC §5's example and the usual maintenance items).
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"item": "变速箱油更换", "at_km": 20_000, "at_months": None},
    {"item": "刹车油更换", "at_km": 40_000, "at_months": None},
    {"item": "冷却液更换", "at_km": None, "at_months": 24},
)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


# ------------------------------------------------------------------------------------------------- win-back


@dataclass(frozen=True)
class KpiValue:
    value: Decimal | None
    numerator: int
    denominator: int
    target: Decimal
    status: str | None
    pending: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "target": self.target,
            "status": self.status,
        }


def kpi_status(value: Decimal | None, *, target: Decimal, amber_margin: Decimal) -> str | None:
    """green at or above the target, amber within the amber band below it, red below that; None without a value."""
    if value is None:
        return None
    if value >= target:
        return "green"
    return "amber" if value >= target - amber_margin else "red"


def _recalls_sent(store_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> QuerySet[CareAction]:
    return CareAction.objects.filter(
        kind=CareKind.D_RECALL,
        store_id__in=list(store_ids),
        message__status=MessageStatus.SENT,
        message__sent_at__gte=start,
        message__sent_at__lt=end,
    )


def _returned(days: int) -> Exists:
    """Whether the recall's customer arrived (any store of the group, not cancelled) within `days` after it."""
    return Exists(
        RepairOrder.objects.filter(
            customer_id=OuterRef("customer_id"),
            arrived_at__gt=OuterRef("message__sent_at"),
            arrived_at__lte=OuterRef("message__sent_at") + dt.timedelta(days=days),
        ).exclude(status=RepairOrderStatus.CANCELLED)
    )


def win_back_rate(store_ids: Iterable[int], period_start: dt.date, period_end: dt.date) -> KpiValue:
    """`win_back_rate_percent` of KPIS.md for the stores over [period_start, period_end) (store-local days; a
    month is [1st, next 1st)).  One aggregate query per distinct return window among the stores (usually one)."""
    ids = sorted(set(store_ids))
    stores = list(Store.objects.filter(pk__in=ids).order_by("pk"))
    now = clock.now()
    start, end = local_midnight(period_start), local_midnight(period_end)
    windows: dict[int, list[int]] = {}
    values: dict[str, Any] = {}
    for store in stores:
        values = values or setting_values_for_store(store)
        days = int(setting_values_for_store(store)["win_back_return_days"])
        windows.setdefault(days, []).append(store.pk)
    numerator = denominator = pending = 0
    for days, window_store_ids in windows.items():
        ran_out = now - dt.timedelta(days=days)
        counts = (
            _recalls_sent(window_store_ids, start, end)
            .annotate(returned=_returned(days))
            .aggregate(
                n=Count("pk", filter=Q(returned=True)),
                d=Count("pk", filter=Q(returned=True) | Q(message__sent_at__lte=ran_out)),
                p=Count("pk", filter=Q(returned=False) & Q(message__sent_at__gt=ran_out)),
            )
        )
        numerator, denominator, pending = numerator + counts["n"], denominator + counts["d"], pending + counts["p"]
    # The target and the amber band of the first store (a group's stores normally share the group's values).
    target = Decimal(str(values.get("target_win_back_percent", 20)))
    margin = Decimal(str(values.get("kpi_amber_margin_percent", 5)))
    value = (
        (Decimal(100 * numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if denominator
        else None
    )
    return KpiValue(
        value=value,
        numerator=numerator,
        denominator=denominator,
        target=target,
        status=kpi_status(value, target=target, amber_margin=margin),
        pending=pending,
    )


# --------------------------------------------------------------------------------------------- the care page


@dataclass(frozen=True)
class CareOverview:
    month: dt.date
    by_kind: list[tuple[str, str, int]]  # (kind, label, actions this month)
    total: int
    win_back: KpiValue
    recalls_pending: int  # recalls sent whose return window is still open and whose customer has not returned


def care_overview(*, store_ids: Iterable[int], month: dt.date) -> CareOverview:
    """The care page: actions taken in the month by kind (one GROUP BY), the month's win-back rate, and how many
    recalls (of any month) still wait for their customer within the return window."""
    ids = sorted(set(store_ids))
    start, end = month_start(month), next_month(month)
    counts = dict(
        CareAction.objects.filter(store_id__in=ids, done_at__gte=local_midnight(start), done_at__lt=local_midnight(end))
        .order_by()
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    by_kind = [(str(kind), str(label), int(counts.get(kind, 0))) for kind, label in CareKind.choices]
    win_back = win_back_rate(ids, start, end)
    open_since = dt.date(2000, 1, 1)
    all_time = win_back_rate(ids, open_since, clock.today() + dt.timedelta(days=1))
    return CareOverview(
        month=start,
        by_kind=by_kind,
        total=sum(n for _k, _l, n in by_kind),
        win_back=win_back,
        recalls_pending=all_time.pending,
    )


# ------------------------------------------------------------------------------------ playbook and rule table


def playbook_for_group(group_id: int) -> CarePlaybook:
    """The group's playbook (the defaults until a manager changes it; not written by a read)."""
    return CarePlaybook.objects.filter(group_id=group_id).first() or CarePlaybook(group_id=group_id)


def suggestion_rules(group_id: int, *, active_only: bool = False) -> QuerySet[SuggestionRule]:
    rows = SuggestionRule.objects.filter(group_id=group_id)
    return rows.filter(is_active=True) if active_only else rows
