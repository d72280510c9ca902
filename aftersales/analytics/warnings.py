"""Early warnings (危机预警): a KPI of a store or of a group that enters red, or gets worse three periods in a row,
raises one `KpiAlert` and tells the managers in their inbox, with the drill-down and a link to open a CAPA.

Rules (docs/kpis-scorecards.md):
- the sweep looks at the last closed month only (not the month to date): a month-to-date figure rests on a few
  records at the start of a month and swings in and out of red, and a warning that disappears again teaches
  managers to ignore warnings.  It runs daily, so late facts of the closed month (a pending clock running out)
  still raise the warning within a day;
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
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from aftersales.analytics import catalogue
from aftersales.analytics.catalogue import KpiResult, Scope
from aftersales.analytics.models import KpiAlert, KpiAlertKind
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_figures, kpi_figures_by_store, scope_for_group
from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability

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


def _users(memberships: QuerySet[Membership]) -> list[Any]:
    seen: dict[int, Any] = {}
    for membership in memberships.select_related("user").order_by("user_id"):
        if membership.user.is_active:
            seen.setdefault(membership.user_id, membership.user)
    return list(seen.values())


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


def _sweep_scope(
    *,
    figures: list[dict[str, KpiResult]],
    group: DealerGroup,
    store: Store | None,
    period: Period,
    now: dt.datetime,
) -> list[KpiAlert]:
    """The rules over one scope's figures of the STREAK + 2 months ending with `period` (oldest first)."""
    catalogue.ensure_loaded()
    raised: list[KpiAlert] = []
    for kpi in catalogue.all_kpis():
        series = [f.get(kpi.key) for f in figures]
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
    """Check every active store and every group for the last closed month; returns the alerts raised now.  The
    stores of a group are read together (`kpi_figures_by_store`, one grouped query per KPI and month), so the
    sweep's queries grow with the groups, not with the stores."""
    now = now or clock.now()
    period = period or sweep_period(now)
    if not period.is_closed(now):
        return []
    periods = period.trailing(STREAK + 2)  # oldest first, ending with `period`
    raised: list[KpiAlert] = []
    for group in DealerGroup.objects.order_by("pk"):
        stores = list(Store.objects.filter(group=group, is_active=True).order_by("code"))
        if not stores:
            continue
        scope = Scope(frozenset(store.pk for store in stores))
        by_store = [kpi_figures_by_store(scope, p, now=now) for p in periods]
        for store in stores:
            figures = [figures_of.get(store.pk, {}) for figures_of in by_store]
            raised += _sweep_scope(figures=figures, group=group, store=store, period=period, now=now)
        group_scope = scope_for_group(group)
        group_figures = [kpi_figures(group_scope, p, now=now) for p in periods]
        raised += _sweep_scope(figures=group_figures, group=group, store=None, period=period, now=now)
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
