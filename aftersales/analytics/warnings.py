"""Early warnings (危机预警): a KPI of a store or of a group that enters red, or gets worse three periods in a row,
raises one `KpiAlert` and tells the managers in their inbox, with the drill-down and a link to open a CAPA.

Rules (docs/kpis-scorecards.md):
- the sweep judges each KPI on the latest month whose figure has **settled** for that KPI (`snapshots.SETTLE_AFTER`:
  the month's end + the KPI's own clock — first-time fix waits its 30-day comeback window, win-back its 90 days,
  first maintenance its grace days, follow-up 24 h, complaints their resolve hours; a KPI without a clock settles
  at the month's end), never the month to date: a month-to-date figure rests on a few records and swings in and
  out of red, and a figure with clocks still running counts only the records that already failed (on 1 April
  March's first-time fix counts the comebacks so far and none of the orders still in their window), so a warning
  raised on it may vanish once the month settles — which teaches managers to ignore warnings.  The alert's period
  is the month judged.  It runs daily, so a month is judged within a day of settling;
- **red**: the KPI's status is red for the month and was not red the month before (amber, green, or no figure);
- **falling**: the month is worse than the one before, which was worse than the one before it, which was worse
  than the one before that (three deteriorations in a row, direction-aware: lower is worse for "higher is
  better", higher is worse for the others), and the streak has just reached three (the month before the streak
  was not itself a deterioration), so a long slide warns once, not every month;
- once per KPI, scope, period and kind (the unique constraints of `KpiAlert`): running the sweep twice raises
  nothing new and tells nobody twice.
Store warnings go to the store's managers; group warnings (the group's figure over all its records) to the
group's managers."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from aftersales.analytics import catalogue
from aftersales.analytics.catalogue import KpiResult, Scope
from aftersales.analytics.kpis_common import values_for_scope, values_for_stores
from aftersales.analytics.models import KpiAlert, KpiAlertKind
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_figures, kpi_figures_by_store, scope_for_group
from aftersales.analytics.snapshots import kpi_settled_at, latest_settled_month
from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import active_users as _users

logger = logging.getLogger("aftersales.analytics")
STREAK = 3  # deteriorations in a row that make a "falling" warning

# The inbox and outbox texts (registered with the outbox's templates when the app starts: apps.py).
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "kpi_alert_red": {
        "zh-hans": (
            "危机预警：{kpi}进入红区｜{scope}",
            "{scope} {period}：{kpi}为{value}（目标{target}），上期未在红区。"
            "查看明细：{drilldown}；开立纠正预防措施：{capa}",
        ),
        "en": (
            "Early warning: {kpi} entered red – {scope}",
            "{scope} {period}: {kpi} is {value} (target {target}); it was not red the period before. "
            "Records: {drilldown}; open a CAPA: {capa}",
        ),
    },
    "kpi_alert_falling": {
        "zh-hans": (
            "危机预警：{kpi}连续三期下滑｜{scope}",
            "{scope} {period}：{kpi}连续三期变差（{values}），当前{value}（目标{target}）。"
            "查看明细：{drilldown}；开立纠正预防措施：{capa}",
        ),
        "en": (
            "Early warning: {kpi} worse three periods in a row – {scope}",
            "{scope} {period}: {kpi} got worse three periods in a row ({values}); now {value} (target {target}). "
            "Records: {drilldown}; open a CAPA: {capa}",
        ),
    },
}


def register_templates() -> None:
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)


# ------------------------------------------------------------------------------------------------ the rules


def worse(before: Decimal | None, after: Decimal | None, direction: str) -> bool:
    """Whether `after` is worse than `before` for a KPI of this direction (no figure: not worse)."""
    if before is None or after is None:
        return False
    return after < before if direction == "higher" else after > before


def entered_red(current: KpiResult | None, previous: KpiResult | None) -> bool:
    return current is not None and current.status == "red" and (previous is None or previous.status != "red")


def falling(values: list[Decimal | None], direction: str) -> bool:
    """`values` oldest first, ending with the period examined (STREAK + 2 of them): the last STREAK steps are each
    a deterioration and the step before them is not (the streak has just reached STREAK)."""
    steps = [worse(a, b, direction) for a, b in zip(values, values[1:], strict=False)]
    if len(steps) < STREAK:
        return False
    recent = steps[-STREAK:]
    before = steps[-STREAK - 1] if len(steps) > STREAK else False
    return all(recent) and not before


def sweep_period(now: dt.datetime) -> Period:
    """The last closed month at `now` (Shanghai time)."""
    return Period.containing(timezone.localtime(now).date()).previous()


# ------------------------------------------------------------------------------------------------- links


def drilldown_url(key: str, period: Period, *, store: Store | None, group: DealerGroup | None) -> str:
    try:
        path = reverse("analytics:drilldown", args=[key])
    except NoReverseMatch:  # the dashboards' drill-down page not installed yet: its agreed path
        path = f"/numbers/kpi/{key}/"
    query = {"period": str(period)}
    if store is not None:
        query["store"] = store.code
    elif group is not None:
        query["group"] = group.code
    return f"{path}?{urlencode(query)}"


def capa_open_url(alert: KpiAlert, label: str) -> str:
    """The feedback page that opens a CAPA, prefilled with the KPI, the store and a title."""
    query = {"kpi": alert.key, "title": f"{label} {alert.period}"[:200]}
    if alert.store_id is not None:
        query["store"] = str(alert.store_id)
    return f"{reverse('feedback:capa-create')}?{urlencode(query)}"


# ------------------------------------------------------------------------------------------------- people


def store_managers(store: Store) -> list[Any]:
    return _users(Membership.objects.filter(store=store, role=Role.MANAGER))


def group_managers(group: DealerGroup) -> list[Any]:
    return _users(Membership.objects.filter(group=group, store__isnull=True, role=Role.GROUP_MANAGER))


def _number(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}"


# -------------------------------------------------------------------------------------------------- sweep


def _raise(
    *,
    group: DealerGroup,
    store: Store | None,
    key: str,
    period: Period,
    kind: str,
    figure: KpiResult,
    history: list[Decimal | None],
    now: dt.datetime,
) -> KpiAlert | None:
    """Create the alert (once, whatever runs concurrently) and tell the managers; None when it already exists."""
    alert = KpiAlert(
        group=group,
        store=store,
        key=key,
        period=str(period),
        kind=kind,
        value=figure.value,
        target=figure.target,
        raised_at=now,
    )
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None
    kpi = catalogue.registered(key)
    people = store_managers(store) if store is not None else group_managers(group)
    inbox_store = store or Store.objects.filter(group=group).order_by("-is_active", "code").first()
    if inbox_store is None or not people:
        logger.warning("early warning %s raised with nobody to tell", alert)
        return alert
    if store is None:
        # A group warning lands in the group managers' inbox (which needs a store); it is not posted to that
        # store's WeCom robot, whose readers are the store's staff.
        inbox_store = copy.copy(inbox_store)
        inbox_store.wecom_webhook_url = ""
    drill = drilldown_url(key, period, store=store, group=group)
    staff_notify(
        store=inbox_store,
        users=people,
        template=f"kpi_alert_{kind}",
        context={
            "kpi": kpi.label,
            "scope": store.name if store is not None else group.name,
            "period": str(period),
            "value": _number(figure.value),
            "target": _number(figure.target),
            "values": " → ".join(_number(v) for v in history[-STREAK - 1 :]),
            "drilldown": drill,
            "capa": capa_open_url(alert, str(kpi.label)),
        },
        dedupe_key=f"kpi_alert:{alert.pk}",
        url=drill,
    )
    return alert


Figures = Mapping[Period, Mapping[str, KpiResult]]  # period → KPI key → figure of one scope


def judged_period(key: str, values: Mapping[str, Any], now: dt.datetime, period: Period | None = None) -> Period | None:
    """The month the sweep judges for this KPI: the latest one whose figure has settled (`kpi_settled_at`: the
    month's end + the KPI's own clock — first-time fix 30 days, win-back 90, follow-up 24 h …), or, when the
    caller names a month, that one once it has settled for this KPI (None before)."""
    if period is None:
        return latest_settled_month(key, values, now)
    return period if kpi_settled_at(key, period, values) <= now else None


def _wanted(judged: Iterable[tuple[str, Period | None]]) -> dict[Period, set[str]]:
    """The months to compute and, for each, the KPIs needed there: STREAK + 2 months ending with each judged one."""
    wanted: dict[Period, set[str]] = {}
    for key, period in judged:
        if period is not None:
            for month in period.trailing(STREAK + 2):
                wanted.setdefault(month, set()).add(key)
    return wanted


def _sweep_scope(
    *,
    judged: Mapping[str, Period | None],
    figures: Figures,
    group: DealerGroup,
    store: Store | None,
    now: dt.datetime,
) -> list[KpiAlert]:
    """The rules over one scope: for each KPI the STREAK + 2 months ending with the month judged for it."""
    raised: list[KpiAlert] = []
    for kpi in catalogue.all_kpis():
        period = judged.get(kpi.key)
        if period is None:
            continue
        series = [figures.get(month, {}).get(kpi.key) for month in period.trailing(STREAK + 2)]
        current, previous = series[-1], series[-2]
        if current is None:
            continue
        history = [f.value if f is not None else None for f in series]
        checks = [
            (KpiAlertKind.RED, entered_red(current, previous)),
            (KpiAlertKind.FALLING, falling(history, kpi.direction)),
        ]
        for kind, hit in checks:
            if hit:
                alert = _raise(
                    group=group,
                    store=store,
                    key=kpi.key,
                    period=period,
                    kind=kind,
                    figure=current,
                    history=history,
                    now=now,
                )
                if alert is not None:
                    raised.append(alert)
    return raised


def warnings_sweep(*, now: dt.datetime | None = None, period: Period | None = None) -> list[KpiAlert]:
    """Check every active store and every group, each KPI on the latest month whose figure has settled for it
    (or on `period` for the KPIs it has settled for); returns the alerts raised now.  The stores of a group are
    read together (`kpi_figures_by_store`, one grouped query per KPI and month), so the sweep's queries grow with
    the groups, not with the stores; each KPI is computed for STREAK + 2 months, as many as before."""
    now = now or clock.now()
    catalogue.ensure_loaded()
    keys = [kpi.key for kpi in catalogue.all_kpis()]
    raised: list[KpiAlert] = []
    for group in DealerGroup.objects.order_by("pk"):
        stores = list(Store.objects.filter(group=group, is_active=True).order_by("code"))
        if not stores:
            continue
        scope = Scope(frozenset(store.pk for store in stores))
        values = values_for_stores(scope.store_ids)
        judged = {
            store.pk: {key: judged_period(key, values[store.pk], now, period) for key in keys} for store in stores
        }
        wanted = _wanted((key, month) for by_key in judged.values() for key, month in by_key.items())
        by_period = {
            month: kpi_figures_by_store(scope, month, keys=sorted(ks), now=now) for month, ks in wanted.items()
        }
        for store in stores:
            figures = {month: found.get(store.pk, {}) for month, found in by_period.items()}
            raised += _sweep_scope(judged=judged[store.pk], figures=figures, group=group, store=store, now=now)
        group_scope = scope_for_group(group)
        group_values = values_for_scope(group_scope)
        group_judged = {key: judged_period(key, group_values, now, period) for key in keys}
        group_figures = {
            month: kpi_figures(group_scope, month, keys=sorted(ks), now=now, values=group_values)
            for month, ks in _wanted(group_judged.items()).items()
        }
        raised += _sweep_scope(judged=group_judged, figures=group_figures, group=group, store=None, now=now)
    link_capas()
    return raised


def link_capas() -> int:
    """Note on each warning the CAPA opened from it (same store and KPI, opened after the warning was raised)."""
    from aftersales.feedback.models import Capa

    linked = 0
    for alert in KpiAlert.objects.filter(capa_id__isnull=True, store__isnull=False).order_by("pk"):
        capa_id = (
            Capa.objects.filter(store=alert.store_id, kpi_key=alert.key, created_at__gte=alert.raised_at)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if capa_id is not None:
            linked += KpiAlert.objects.filter(pk=alert.pk, capa_id__isnull=True).update(capa_id=capa_id)
    return linked


# -------------------------------------------------------------------------------------------------- reads


def alert_list(*, user: Any, store_ids: frozenset[int] | None = None) -> QuerySet[KpiAlert]:
    """The warnings the user may see: those of stores where they read KPIs, and their groups' own warnings when
    they hold a group role there."""
    visible = store_ids_where(user, Capability.VIEW_KPIS)
    if store_ids is not None:
        visible = visible & store_ids
    group_ids = list(
        Membership.objects.filter(user=user, store__isnull=True, role__in=[Role.GROUP_MANAGER, Role.ADMIN]).values_list(
            "group_id", flat=True
        )
    )
    if getattr(user, "is_superuser", False):
        group_ids = list(DealerGroup.objects.values_list("pk", flat=True))
    return (
        KpiAlert.objects.filter(Q(store_id__in=sorted(visible)) | Q(store__isnull=True, group_id__in=group_ids))
        .select_related("store", "group")
        .order_by("-raised_at", "-id")
    )
