"""Page-shaped reads for the dashboards (issue 12 part 3), built only on the KPI catalogue's selectors
(`kpi_figures`, `kpi_series`, `kpi_drilldown`): the store's period, the group's stores side by side, one advisor's
or technician's own figures, the records behind one figure, and the home page's tiles.

Every figure comes from the catalogue, so the dashboard, the API, the CLI and the reports can never disagree.  The
query count of each page depends on the number of KPIs (and of stores on the group page), never on the number
of records: the trend charts (13 periods each) are loaded on demand, one KPI at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import F, Model, QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.analytics import selectors as kpi_selectors
from aftersales.analytics.catalogue import Cut, Kpi, KpiResult, Scope, all_kpis, registered
from aftersales.analytics.periods import Period, PeriodKind
from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store

# Dashboard sections in the order a service manager reads them (the catalogue's `area`).
AREAS: dict[str, Promise] = {
    "voice": gettext_lazy("Voice of the customer"),
    "service": gettext_lazy("Workshop and service"),
    "booking": gettext_lazy("Bookings and reception"),
    "retention": gettext_lazy("Customer retention"),
    "operations": gettext_lazy("Parts, staff and profit"),
    "audits": gettext_lazy("Audits and standards"),
}
CYCLES: dict[str, Promise] = {
    "month": gettext_lazy("monthly"),
    "quarter": gettext_lazy("quarterly"),
    "year": gettext_lazy("yearly"),
}
REVIEWS: dict[str, Promise] = {
    "month": gettext_lazy("At the monthly review"),
    "quarter": gettext_lazy("At the quarterly review"),
    "year": gettext_lazy("At the yearly review"),
}
# What each role is measured on, first on the home page (SPEC §6 headline figures); the rest is on the dashboard.
HOME_KEYS: tuple[str, ...] = (
    "csat_percent",
    "nps",
    "first_time_fix_percent",
    "waiting_time_minutes",
    "follow_up_within_24h_percent",
    "complaint_resolved_in_time_percent",
    "on_time_start_percent",
    "online_booking_rate_percent",
)
# What a person's home page shows of their own figures (the full set is on /numbers/me/): an advisor what the
# scorecard weighs (SPEC §7), a technician the quality and speed of their work.  Few, so the home stays light.
PERSON_HOME_KEYS: dict[str, tuple[str, ...]] = {
    "advisor": (
        "csat_percent",
        "repurchase_rate_percent",
        "waiting_time_minutes",
        "complaint_resolved_in_time_percent",
    ),
    "technician": ("first_time_fix_percent", "qc_first_pass_percent", "efficiency", "comeback_rate_percent"),
}
# The roles whose own figures a personal page shows, and the catalogue cut that narrows to them.
CUT_OF_ROLE: dict[str, Cut] = {Role.ADVISOR: "advisor", Role.TECHNICIAN: "technician", Role.FOREMAN: "technician"}
TREND_PERIODS = 13
STATUS_RANK = {"green": 3, "amber": 2, "red": 1}
STATUS_COLOUR = {"green": "#198754", "amber": "#ffc107", "red": "#dc3545", None: "#adb5bd"}
MET_FIELD = "meets"  # the annotations kpi_drilldown puts on each record: meets the rule, still pending
PENDING_FIELD = "pending"


# --------------------------------------------------------------------------------------------- one figure


@dataclass(frozen=True)
class Figure:
    """One KPI's figure on a page: this period's result, the previous period's, and what that means."""

    kpi: Kpi
    result: KpiResult
    previous: KpiResult | None = None
    period_kind: PeriodKind = "month"
    compare: KpiResult | None = None  # e.g. the store's figure beside an advisor's own

    @property
    def key(self) -> str:
        return self.kpi.key

    @property
    def status(self) -> str:
        return self.result.status or ""

    @property
    def reviewed_now(self) -> bool:
        """SPEC §6: the KPI is reviewed at this period's cycle (monthly / quarterly / yearly)."""
        return self.kpi.review_cycle == self.period_kind

    @property
    def cycle_label(self) -> Promise:
        return CYCLES[self.kpi.review_cycle]

    @property
    def change(self) -> Decimal | None:
        if self.previous is None or self.previous.value is None or self.result.value is None:
            return None
        return self.result.value - self.previous.value

    @property
    def value_text(self) -> str:
        return value_text(self.kpi, self.result.value)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, ""))

    @property
    def colour(self) -> str:
        """Bootstrap's colour name of the status (the tile's edge and badge)."""
        return {"green": "success", "amber": "warning", "red": "danger"}.get(self.status, "secondary")

    @property
    def target_text(self) -> str:
        return target_text(self.kpi, self.result.target)

    @property
    def change_text(self) -> str:
        change = self.change
        if change is None:
            return ""
        arrow = "▲" if change > 0 else "▼" if change < 0 else "="
        return f"{arrow} {value_text(self.kpi, abs(change))}"

    @property
    def compare_text(self) -> str:
        return "" if self.compare is None else value_text(self.kpi, self.compare.value)

    @property
    def base_text(self) -> str:
        """What the figure rests on: "27 of 30" for a share, "based on 30" for a mean, a score or a ratio."""
        result = self.result
        if self.kpi.value_kind == "share" and self.kpi.unit == "percent":
            return _("%(n)s of %(d)s") % {"n": self.numerator_text, "d": result.denominator}
        if self.kpi.key == "effective_labour_rate":  # its denominator is billed hours in hundredths, not records
            return _("%(hours)s billed hours") % {"hours": f"{Decimal(result.denominator) / 100:.2f}"}
        return _("based on %(d)s") % {"d": result.denominator}

    @property
    def numerator_text(self) -> str:
        numerator = self.result.numerator
        return (
            f"{numerator:.2f}" if isinstance(numerator, Decimal) and numerator != int(numerator) else f"{numerator:.0f}"
        )

    @property
    def improved(self) -> bool | None:
        """Whether the change vs the previous period is for the better (None: no change to judge)."""
        change = self.change
        if change is None or change == 0:
            return None
        return change > 0 if self.kpi.direction == "higher" else change < 0


def _figures(
    kpis: Sequence[Kpi],
    current: dict[str, KpiResult],
    previous: dict[str, KpiResult] | None,
    kind: PeriodKind,
    compare: dict[str, KpiResult] | None = None,
) -> list[Figure]:
    return [
        Figure(
            kpi,
            current[kpi.key],
            (previous or {}).get(kpi.key),
            kind,
            (compare or {}).get(kpi.key),
        )
        for kpi in kpis
        if kpi.key in current
    ]


@dataclass(frozen=True)
class Area:
    key: str
    label: Promise | str
    figures: list[Figure]


def _by_area(figures: Iterable[Figure]) -> list[Area]:
    grouped: dict[str, list[Figure]] = {}
    for figure in figures:
        grouped.setdefault(figure.kpi.area, []).append(figure)
    order = [*AREAS, *sorted(set(grouped) - set(AREAS))]
    return [Area(key, AREAS.get(key, key), grouped[key]) for key in order if key in grouped]


def _has_data(figures: Iterable[Figure]) -> bool:
    return any(f.result.denominator or f.result.pending for f in figures)


# --------------------------------------------------------------------------------------------- the store's dashboard


@dataclass(frozen=True)
class StoreDashboard:
    store: Store
    period: Period
    areas: list[Area]
    reviewed: list[Figure]  # the KPIs reviewed at this period's cycle
    has_data: bool
    counts: dict[str, int] = field(default_factory=dict)  # green / amber / red tiles

    @property
    def review_label(self) -> Promise:
        return REVIEWS[self.period.kind]


def store_dashboard(*, store: Store, period: Period, now: dt.datetime | None = None) -> StoreDashboard:
    """Every KPI of the catalogue for the store and period, beside the previous period (`_with_previous`)."""
    now = now or clock.now()
    scope = kpi_selectors.scope_for_store(store)
    kpis = list(all_kpis())
    current, previous = _with_previous(scope, period, now)
    figures = _figures(kpis, current, previous, period.kind)
    counts = {status: sum(1 for f in figures if f.status == status) for status in STATUS_RANK}
    return StoreDashboard(
        store=store,
        period=period,
        areas=_by_area(figures),
        reviewed=[f for f in figures if f.reviewed_now],
        has_data=_has_data(figures),
        counts=counts,
    )


def _with_previous(
    scope: Scope, period: Period, now: dt.datetime | None, keys: list[str] | None = None
) -> tuple[dict[str, KpiResult], dict[str, KpiResult]]:
    """The scope's figures of the period and of the period before (each read from its stored snapshots where they
    are the records' figure now, computed for the others — `kpi_figures_of_periods`)."""
    before = period.previous()
    figures = kpi_selectors.kpi_figures_of_periods(scope, [period, before], keys=keys, now=now)
    return figures[period], figures[before]


# --------------------------------------------------------------------------------------------- the group's stores


@dataclass(frozen=True)
class GroupRow:
    store: Store
    kpi: Kpi
    result: KpiResult

    @property
    def value_text(self) -> str:
        return value_text(self.kpi, self.result.value)


@dataclass(frozen=True)
class GroupComparison:
    group: DealerGroup
    period: Period
    stores: list[Store]
    kpi: Kpi
    group_figures: list[Figure]  # the group's own figure (computed over its records) per KPI
    ranking: list[GroupRow]  # the chosen KPI, best store first (no figure last)
    ranking_chart: dict[str, Any]
    heatmap_chart: dict[str, Any]
    has_data: bool

    # Chart sizes that grow with what they show (a bar per store, a row per KPI, a column per store).
    @property
    def ranking_height(self) -> int:
        return max(200, 60 + 34 * len(self.ranking))

    @property
    def heatmap_height(self) -> int:
        return 90 + 30 * len(self.group_figures)

    @property
    def heatmap_width(self) -> int:
        return 300 + 80 * (len(self.stores) + 1)


def _rank_key(kpi: Kpi, result: KpiResult) -> tuple[int, Decimal]:
    if result.value is None:
        return (1, Decimal(0))
    return (0, -result.value if kpi.direction == "higher" else result.value)


def query_string(**params: Any) -> str:
    """Address parameters (the empty ones left out), e.g. `store=SH01&advisor=7`."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def drilldown_url(key: str, period: Period, **scope: Any) -> str:
    """The records behind one figure: `/numbers/kpi/<key>/?period=…&store=CODE` (or group=, advisor=, …)."""
    return f"{reverse('analytics:drilldown', args=[key])}?{query_string(period=str(period), **scope)}"


def value_text(kpi: Kpi, value: Decimal | None) -> str:
    """A figure as the tiles print it (two decimals, the unit)."""
    if value is None:
        return "—"
    if kpi.unit == "percent":
        return f"{value:.2f}%"
    if kpi.unit == "minutes":
        return _("%(value)s min") % {"value": f"{value:.2f}"}
    if kpi.unit == "hours":
        return _("%(value)s h") % {"value": f"{value:.2f}"}
    if kpi.unit == "currency":
        return f"¥{value:,.2f}"
    if kpi.value_kind == "count":
        return f"{value:.0f}"
    return f"{value:.2f}"


def target_text(kpi: Kpi, target: Decimal | None) -> str:
    """ "≥ 90.00%", "≤ 30.00 min", or the direction alone when the KPI has no target (mean repair duration)."""
    if kpi.direction == "trend_down" or target is None:
        return _("falling trend") if kpi.direction == "trend_down" else ""
    return f"{'≥' if kpi.direction == 'higher' else '≤'} {value_text(kpi, target)}"


STATUS_LABELS: dict[str, Promise] = {
    "green": gettext_lazy("on target"),
    "amber": gettext_lazy("close to target"),
    "red": gettext_lazy("off target"),
}


def group_comparison(
    *, group: DealerGroup, stores: list[Store], period: Period, key: str | None, now: dt.datetime | None = None
) -> GroupComparison:
    """The group's figure per KPI and each store's, side by side: two catalogue reads for the group (this period
    and the one before, `_with_previous`) and one grouped read for all the stores
    (`kpi_figures_by_store`), so the query count grows neither with the stores shown nor with the records."""
    now = now or clock.now()
    kpis = list(all_kpis())
    kpi = registered(key) if key and any(k.key == key for k in kpis) else kpis[0]
    group_scope = kpi_selectors.scope_for_group(group)
    group_now, group_before = _with_previous(group_scope, period, now)
    by_store = kpi_selectors.kpi_figures_by_store(Scope(frozenset(store.pk for store in stores)), period, now=now)
    per_store = {store.pk: by_store.get(store.pk, {}) for store in stores}
    ranking = sorted(
        (GroupRow(store, kpi, per_store[store.pk][kpi.key]) for store in stores if kpi.key in per_store[store.pk]),
        key=lambda row: (_rank_key(kpi, row.result), row.store.code),
    )
    group_figures = _figures(kpis, group_now, group_before, period.kind)
    return GroupComparison(
        group=group,
        period=period,
        stores=stores,
        kpi=kpi,
        group_figures=group_figures,
        ranking=ranking,
        ranking_chart=_ranking_chart(kpi, ranking, group_now.get(kpi.key), period),
        heatmap_chart=_heatmap_chart(kpis, stores, per_store, period, group, group_now),
        has_data=_has_data(group_figures),
    )


def _ranking_chart(kpi: Kpi, ranking: list[GroupRow], group_result: KpiResult | None, period: Period) -> dict:
    """ECharts: one horizontal bar per store (best on top), coloured by RAG, the target as a line."""
    rows = list(reversed(ranking))  # ECharts draws the first category at the bottom
    mark_lines: list[dict[str, Any]] = []
    if rows and rows[0].result.target is not None:
        mark_lines.append(
            {"name": _("target"), "xAxis": float(rows[0].result.target), "lineStyle": {"color": "#0b5394"}}
        )
    if group_result is not None and group_result.value is not None:
        mark_lines.append(
            {
                "name": _("group"),
                "xAxis": float(group_result.value),
                "lineStyle": {"color": "#6c757d", "type": "dotted"},
            }
        )
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 48, "top": 16, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [row.store.name for row in rows]},
        "series": [
            {
                "name": str(kpi.label),
                "type": "bar",
                "label": {"show": True, "position": "right"},
                "data": [
                    {
                        "value": None if row.result.value is None else float(row.result.value),
                        "itemStyle": {"color": STATUS_COLOUR.get(row.result.status, STATUS_COLOUR[None])},
                        "url": drilldown_url(kpi.key, period, store=row.store.code),
                    }
                    for row in rows
                ],
                "markLine": {
                    "symbol": "none",
                    "label": {"formatter": "{b}", "position": "end"},
                    "data": mark_lines,
                },
            }
        ],
    }


def _heatmap_cell(kpi: Kpi, result: KpiResult, x: int, y: int, url: str, place: str) -> dict[str, Any]:
    rank = STATUS_RANK.get(result.status or "", 0)
    lines = [f"{place} · {kpi.label}", value_text(kpi, result.value)]
    target = target_text(kpi, result.target)
    if target:
        lines.append(f"{_('target')} {target}")
    if result.status:
        lines.append(str(STATUS_LABELS[result.status]))
    return {
        "value": [x, y, rank],
        "label": {"show": True, "formatter": value_text(kpi, result.value)},
        "tooltip": {"formatter": "<br>".join(escape(line) for line in lines)},  # HTML: names escaped
        "url": url,
    }


def _heatmap_chart(
    kpis: list[Kpi],
    stores: list[Store],
    per_store: dict[int, dict[str, KpiResult]],
    period: Period,
    group: DealerGroup,
    group_results: dict[str, KpiResult],
) -> dict:
    """ECharts heat map: KPIs down, the group then each store across, each cell coloured by its RAG status and
    labelled with its value (grey: no target or no figure); a cell opens the records behind it."""
    data: list[dict[str, Any]] = []
    for y, kpi in enumerate(kpis):
        if kpi.key in group_results:
            url = drilldown_url(kpi.key, period, group=group.code)
            data.append(_heatmap_cell(kpi, group_results[kpi.key], 0, y, url, str(_("Group"))))
        for x, store in enumerate(stores, start=1):
            result = per_store[store.pk].get(kpi.key)
            if result is not None:
                url = drilldown_url(kpi.key, period, store=store.code)
                data.append(_heatmap_cell(kpi, result, x, y, url, store.name))
    pieces = [
        {"value": 3, "label": str(STATUS_LABELS["green"]), "color": STATUS_COLOUR["green"]},
        {"value": 2, "label": str(STATUS_LABELS["amber"]), "color": STATUS_COLOUR["amber"]},
        {"value": 1, "label": str(STATUS_LABELS["red"]), "color": STATUS_COLOUR["red"]},
        {"value": 0, "label": _("no target or no figure"), "color": "#e9ecef"},
    ]
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 8, "top": 48, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "position": "top",
            "data": [_("Group"), *[s.code for s in stores]],
            "splitArea": {"show": True},
            "axisLabel": {"fontWeight": "bold"},
        },
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [str(k.label) for k in kpis],
            "axisLabel": {"width": 190, "overflow": "truncate"},
            "splitArea": {"show": True},
        },
        "visualMap": {
            "type": "piecewise",
            "pieces": list(reversed(pieces)),
            "dimension": 2,
            "orient": "horizontal",
            "left": "center",
            "top": 0,
            "itemGap": 6,
            "textStyle": {"fontSize": 11},
            "selectedMode": False,
        },
        "series": [
            {
                "type": "heatmap",
                "data": data,
                "label": {"show": True, "fontSize": 11},
                "itemStyle": {"borderColor": "#fff", "borderWidth": 2},
            }
        ],
    }


# --------------------------------------------------------------------------------------------- one person's own


@dataclass(frozen=True)
class StaffPage:
    store: Store
    person: Any
    cut: Cut | None
    period: Period
    figures: list[Figure]
    has_data: bool


def staff_cut(*, person: Any, store: Store) -> Cut | None:
    """The catalogue cut that measures this person in this store: advisor before technician (None: neither)."""
    roles = set(Membership.objects.filter(user=person, store=store).values_list("role", flat=True))
    for role in (Role.ADVISOR, Role.TECHNICIAN, Role.FOREMAN):
        if role in roles:
            return CUT_OF_ROLE[role]
    return None


def kpis_with_cut(cut: Cut) -> list[Kpi]:
    return [kpi for kpi in all_kpis() if cut in kpi.cuts]


def staff_scope(store: Store, cut: Cut, person_id: int) -> Scope:
    scope = kpi_selectors.scope_for_store(store)
    return scope.narrowed(advisor_id=person_id) if cut == "advisor" else scope.narrowed(technician_id=person_id)


def staff_page(
    *, store: Store, person: Any, cut: Cut | None, period: Period, now: dt.datetime | None = None
) -> StaffPage:
    """The KPIs with the person's cut, narrowed to their records, beside the previous period and the store's."""
    if cut is None:
        return StaffPage(store, person, None, period, [], False)
    now = now or clock.now()
    kpis = kpis_with_cut(cut)
    keys = [kpi.key for kpi in kpis]
    scope = staff_scope(store, cut, person.pk)
    current, previous = _with_previous(scope, period, now, keys)
    store_figures = kpi_selectors.kpi_figures(kpi_selectors.scope_for_store(store), period, keys=keys, now=now)
    figures = _figures(kpis, current, previous, period.kind, store_figures)
    return StaffPage(store, person, cut, period, figures, _has_data(figures))


def staff_of_store(*, store: Store) -> list[tuple[int, str, Cut]]:
    """The store's advisors and technicians a manager may open: [(user id, name, cut)], by name (one query)."""
    rows = (
        Membership.objects.filter(store=store, user__is_active=True, role__in=list(CUT_OF_ROLE))
        .order_by("user__staff_profile__display_name", "user_id")
        .values_list("user_id", "user__staff_profile__display_name", "user__username", "role")
    )
    seen: dict[int, tuple[int, str, Cut]] = {}
    for user_id, name, username, role in rows:
        cut = CUT_OF_ROLE[role]
        if user_id not in seen or cut == "advisor":
            seen[user_id] = (user_id, name or username, cut)
    return list(seen.values())


# --------------------------------------------------------------------------------------------- the trend of one KPI


def trend_chart(*, key: str, scope: Scope, period: Period, now: dt.datetime | None = None) -> dict[str, Any]:
    """ECharts: the KPI over the 13 periods ending with `period` (a line; the target as a dashed line); each point
    opens the records of its period."""
    kpi = registered(key)
    series = kpi_selectors.kpi_series(key, scope, period.trailing(TREND_PERIODS), now=now or clock.now())
    scope_params = scope_query(scope)
    points = [
        {
            "value": None if result.value is None else float(result.value),
            "url": drilldown_url(key, p, **scope_params),
            "itemStyle": {"color": STATUS_COLOUR.get(result.status, "#0b5394")},
        }
        for p, result in series
    ]
    targets = [None if result.target is None else float(result.target) for _p, result in series]
    chart: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [str(p) for p, _r in series]},
        "yAxis": {"type": "value", "scale": True},
        "series": [
            {
                "name": str(kpi.label),
                "type": "line",
                "data": points,
                "connectNulls": False,
                "symbolSize": 8,
                "lineStyle": {"color": "#0b5394"},
            }
        ],
    }
    if any(t is not None for t in targets):
        chart["series"].append(
            {
                "name": _("target"),
                "type": "line",
                "data": targets,
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#6c757d"},
                "itemStyle": {"color": "#6c757d"},
            }
        )
    return chart


def scope_query(scope: Scope) -> dict[str, Any]:
    """The drill-down address parameters that name a scope (store or group code, advisor or technician)."""
    params: dict[str, Any] = {}
    if scope.group_id is not None:
        params["group"] = scope.label
    else:
        params["store"] = scope.label
    if scope.advisor_id:
        params["advisor"] = scope.advisor_id
    if scope.technician_id:
        params["technician"] = scope.technician_id
    return params


# --------------------------------------------------------------------------------------------- the records behind


@dataclass(frozen=True)
class RecordRow:
    """One record of a drill-down: what it is, where it opens, when, and whether it meets the KPI's rule."""

    pk: int
    kind: str
    label: str
    url: str
    when: dt.datetime | dt.date | None
    met: bool | None
    pending: bool


# model → (the page it opens: URL name and the row's attribute holding that page's id, its label field).
# Only the row's own columns are read, so a page of records costs no query per row.
_RECORD_PAGES: dict[str, tuple[str, str, str]] = {
    "service.RepairOrder": ("service:order-detail", "pk", "number"),
    "service.Appointment": ("", "", ""),
    "service.EstimateLine": ("service:order-detail", "drill_order_id", "description"),
    "feedback.SurveyResponse": ("feedback:survey-detail", "pk", ""),
    "feedback.Complaint": ("feedback:complaint-detail", "pk", "number"),
    "feedback.RecoveryTask": ("feedback:recovery-detail", "pk", ""),
    "feedback.FollowUp": ("service:order-detail", "order_id", ""),
    "customers.Customer": ("customers:customer-detail", "pk", ""),
    "customers.Vehicle": ("customers:customer-detail", "customer_id", ""),
    "organisation.Membership": ("staff:person", "user_id", "person_name"),  # the senior-share roster
    "audits.Audit": ("audits:audit-detail", "pk", "drill_label"),  # audit scores
    "audits.Finding": ("audits:finding-detail", "pk", "drill_label"),  # findings open / overdue
    "standards.Acknowledgement": ("", "", "drill_label"),  # SOP acknowledgement (the procedure and the person)
}
# The moment that puts a record in its period, by the first of these columns the row has.
_WHEN_FIELDS = (
    "submitted_at",
    "received_at",
    "delivered_at",
    "ready_at",
    "arrived_at",
    "slot_start",
    "sent_at",
    "due_at",
    "created_at",
    "asked_at",  # an SOP acknowledgement request
)


def _record_row(obj: Model) -> RecordRow:
    """How a record shows in a drill-down and which page it opens."""
    row = obj.__dict__
    url_name, id_attr, label_attr = _RECORD_PAGES.get(obj._meta.label, ("", "", ""))
    target = row.get(id_attr) if id_attr != "pk" else obj.pk
    url = reverse(url_name, args=[target]) if url_name and target else ""
    label = str(row.get(label_attr) or "") if label_attr else ""
    when = next((row[name] for name in _WHEN_FIELDS if row.get(name) is not None), None)
    met = row.get(MET_FIELD)
    return RecordRow(
        pk=obj.pk,
        kind=str(obj._meta.verbose_name),
        label=label[:60] or f"#{obj.pk}",
        url=url,
        when=when,
        met=None if met is None else bool(met),
        pending=bool(row.get(PENDING_FIELD)),
    )


@dataclass(frozen=True)
class Drilldown:
    figure: Figure
    scope: Scope
    period: Period
    records: QuerySet[Any] | None  # None: the KPI has no record list (e.g. a figure entered monthly)
    extra: list[tuple[str, str]]  # details of the figure (promoters, the median…), labelled

    @property
    def kpi(self) -> Kpi:
        return self.figure.kpi

    @property
    def result(self) -> KpiResult:
        return self.figure.result


EXTRA_LABELS: dict[str, Promise] = {
    "promoters": gettext_lazy("Promoters (9–10)"),
    "detractors": gettext_lazy("Detractors (0–6)"),
    "median": gettext_lazy("Median"),
    "median_minutes": gettext_lazy("Median (minutes)"),
    "answers": gettext_lazy("Answers"),
    "walk_in_received_within_10_min_percent": gettext_lazy("Walk-ins received within 10 min (%)"),
}


def _extra_rows(extra: dict[str, Any]) -> list[tuple[str, str]]:
    """The scalar details a KPI reports beside its figure that have a label (anything else stays out of sight)."""
    rows = []
    for name, value in extra.items():
        if name in EXTRA_LABELS and isinstance(value, int | float | Decimal | str) and value is not None:
            rows.append((str(EXTRA_LABELS[name]), f"{value:.2f}" if isinstance(value, Decimal | float) else str(value)))
    return rows


def drilldown(
    *, key: str, scope: Scope, period: Period, met: bool | None = None, now: dt.datetime | None = None
) -> Drilldown:
    """The figure (beside the previous period's) and the population behind it (a queryset, paginated by the page),
    optionally only the records that meet (or miss) the rule."""
    now = now or clock.now()
    kpi = registered(key)
    current, before = _with_previous(scope, period, now, [key])
    result, previous = current[key], before.get(key)
    records = None
    if kpi.drilldown is not None:
        records = kpi_selectors.kpi_drilldown(key, scope, period, now=now)
        if records.model._meta.label == "service.EstimateLine":
            records = records.annotate(drill_order_id=F("estimate__order_id"))
        if met is not None and MET_FIELD in records.query.annotations:
            records = records.filter(**{MET_FIELD: met})
        if not records.ordered:
            records = records.order_by("-pk")
    figure = Figure(kpi, result, previous, period.kind)
    return Drilldown(figure, scope, period, records, _extra_rows(result.extra))


def record_rows(objects: Iterable[Model]) -> list[RecordRow]:
    return [_record_row(obj) for obj in objects]


# --------------------------------------------------------------------------------------------- the home page


@dataclass(frozen=True)
class HomeNumbers:
    """What the home page shows of the numbers: a manager's store month, or one person's own month."""

    kind: str  # "store" | "group" | "staff"
    name: str  # the store's or group's name
    period: Period
    figures: list[Figure]
    params: dict[str, Any]  # the drill-down parameters of these figures

    @property
    def query(self) -> str:
        return query_string(**self.params)


def _headline(scope: Scope, now: dt.datetime | None) -> tuple[Period, list[Figure]]:
    """The headline KPIs of the current month for a scope, beside last month (two catalogue reads)."""
    now = now or clock.now()
    period = Period.containing(clock.today())
    known = {kpi.key: kpi for kpi in all_kpis()}
    kpis = [known[key] for key in HOME_KEYS if key in known]
    keys = [kpi.key for kpi in kpis]
    current, previous = _with_previous(scope, period, now, keys)
    return period, _figures(kpis, current, previous, "month")


def home_numbers_for_store(*, store: Store, now: dt.datetime | None = None) -> HomeNumbers:
    period, figures = _headline(kpi_selectors.scope_for_store(store), now)
    return HomeNumbers("store", store.name, period, figures, {"store": store.code})


def home_numbers_for_group(*, group: DealerGroup, now: dt.datetime | None = None) -> HomeNumbers:
    period, figures = _headline(kpi_selectors.scope_for_group(group), now)
    return HomeNumbers("group", group.name, period, figures, {"group": group.code})


def home_numbers_for_person(*, store: Store, person: Any, cut: Cut, now: dt.datetime | None = None) -> HomeNumbers:
    """The person's headline figures of the month beside last month (two catalogue reads of a few KPIs)."""
    scope = staff_scope(store, cut, person.pk)
    now = now or clock.now()
    period = Period.containing(clock.today())
    kpis = [kpi for kpi in kpis_with_cut(cut) if kpi.key in PERSON_HOME_KEYS[cut]]
    keys = [kpi.key for kpi in kpis]
    current, previous = _with_previous(scope, period, now, keys)
    figures = _figures(kpis, current, previous, "month")
    return HomeNumbers("staff", store.name, period, figures, {"store": store.code, cut: person.pk})
