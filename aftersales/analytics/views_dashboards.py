"""The dashboards (issue 12 part 3): the store manager's period, the group's stores side by side, an advisor's or
technician's own figures, and the records behind each figure.  Views resolve who may see which store, group or
person (VIEW_KPIS; one's own figures without it), read one page-shaped selector and render."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from aftersales.analytics import selectors as kpi_selectors
from aftersales.analytics import selectors_dashboards as pages
from aftersales.analytics.catalogue import REGISTRY, Cut, Scope, all_kpis
from aftersales.analytics.periods import Period, PeriodError
from aftersales.core import clock
from aftersales.core.pagination import page_of
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability as C

# --------------------------------------------------------------------------------------------- request parsing


class _BadParameter(Exception):
    """A query parameter the page cannot read: answered 400 naming it (`answers_bad_parameters`)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)
        self.name, self.reason = name, reason


def answers_bad_parameters(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A bad query parameter is a 400 naming it, in the reader's language (plain text, like the other pages'
    refusals of bad input, e.g. customers' "Unknown personal field."), never a silently different page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _BadParameter as exc:
            text = _("The address parameter “{name}” is not valid: {reason}").format(name=exc.name, reason=exc.reason)
            return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")

    return wrapped


def _period(request: HttpRequest) -> Period:
    """`?period=2026-05 | 2026-Q2 | 2026`; missing or empty: the current month; anything else is a 400 naming
    `period` (a typo must not show another month's figures as if they were the asked one)."""
    raw = request.GET.get("period", "")
    if not raw.strip():
        return Period.containing(clock.today())
    try:
        return Period.parse(raw)
    except PeriodError as exc:
        raise _BadParameter("period", str(exc)) from None


# A person's id in an address: at most 12 ASCII digits (far more than any database holds, and below every
# integer column's range: a longer number would overflow SQLite's 64-bit integers and answer 500).
_ID_DIGITS = 12


def _person_id(raw: str) -> int | None:
    """The id of `?advisor=` / `?technician=` / `?person=`, or None when it is not one."""
    if raw.isascii() and raw.isdigit() and len(raw) <= _ID_DIGITS:
        return int(raw)
    return None


def _period_nav(period: Period) -> dict[str, Any]:
    """The period selector: month / quarter / year containing the chosen period, previous and next (not past the
    current period)."""
    today_period = Period.containing(clock.today(), period.kind)
    return {
        "kinds": [
            (kind, _KIND_LABEL(kind), str(Period.containing(period.first_day, kind)), kind == period.kind)
            for kind in ("month", "quarter", "year")
        ],
        "previous": str(period.previous()),
        "next": str(period.shift(1)) if period < today_period else "",
        "current": str(today_period) if period != today_period else "",
    }


def _KIND_LABEL(kind: str) -> str:  # noqa: N802 - read at request time, in the reader's language
    return {"month": _("Month"), "quarter": _("Quarter"), "year": _("Year")}[kind]


def _kpi_store_ids(request: HttpRequest) -> frozenset[int]:
    require(request.user, C.VIEW_KPIS)
    return store_ids_where(request.user, C.VIEW_KPIS)


def _store_by_code(code: str, allowed: frozenset[int]) -> Store:
    """A store the user may read the numbers of; another store answers like a missing one (404)."""
    store = None
    if code and len(code) <= 16 and code.isprintable():
        store = Store.objects.select_related("group").filter(code=code, pk__in=allowed).first()
    if store is None:
        raise Http404(_("No store with this code whose numbers you may see."))
    return store


def _dashboard_store(request: HttpRequest) -> Store:
    """`?store=CODE`, else the store chosen in the switcher, else the first of the user's stores (by code) where
    they hold VIEW_KPIS."""
    allowed = _kpi_store_ids(request)
    code = request.GET.get("store", "")
    if code:
        return _store_by_code(code, allowed)
    chosen = current_store(request)
    if chosen is not None and chosen.pk in allowed:
        return chosen
    ids = sorted(current_store_ids(request) & allowed) or sorted(allowed)
    store = Store.objects.select_related("group").filter(pk__in=ids).order_by("code").first()
    if store is None:
        raise PermissionDenied(_("Your role may not do this."))
    return store


def _groups_read_whole(request: HttpRequest) -> dict[DealerGroup, list[Store]]:
    """The groups whose every store — active or not, as the API's rule: the group's figures count the records of
    all its stores — the user may read the numbers of (a group manager's), with the active stores to compare."""
    allowed = _kpi_store_ids(request)
    stores = (
        Store.objects.select_related("group")
        .filter(group_id__in=Store.objects.filter(pk__in=allowed).values("group_id"))
        .order_by("group__name", "code")
    )
    by_group: dict[DealerGroup, list[Store]] = defaultdict(list)
    for store in stores:
        by_group[store.group].append(store)
    return {
        group: [store for store in group_stores if store.is_active]
        for group, group_stores in by_group.items()
        if all(store.pk in allowed for store in group_stores)
    }


def _group(request: HttpRequest) -> tuple[DealerGroup, list[Store], list[DealerGroup]]:
    groups = _groups_read_whole(request)
    if not groups:
        raise PermissionDenied(_("Only a group manager compares the group's stores."))
    code = request.GET.get("group", "")
    if code:
        found = [g for g in groups if g.code == code]
        if not found:
            raise Http404(_("No dealer group with this code whose numbers you may see."))
        group = found[0]
    else:
        chosen = current_store(request)
        group = next((g for g in groups if chosen is not None and g.pk == chosen.group_id), next(iter(groups)))
    return group, groups[group], list(groups)


def _scope(request: HttpRequest, *, key: str | None = None) -> tuple[Scope, dict[str, Any]]:
    """The scope a drill-down or a trend names: `group=CODE`, or `store=CODE` optionally with `advisor=ID` /
    `technician=ID`.  One's own figures need no VIEW_KPIS; anyone else's, or a store's, do.  Returns the scope and
    the address parameters that name it."""
    if request.GET.get("group"):
        group, _stores, _all = _group(request)
        return kpi_selectors.scope_for_group(group), {"group": group.code}
    person_param = next((cut for cut in ("advisor", "technician") if request.GET.get(cut)), None)
    raw = request.GET.get(person_param or "", "")
    if person_param is not None:
        person_id = _person_id(raw)
        if person_id is None:  # not a number, or one no database holds: like a missing person
            raise Http404(_("No member of staff with this id whose numbers you may see."))
        store = _person_store(request, person_id, request.GET.get("store", ""))
        cut: Cut = "advisor" if person_param == "advisor" else "technician"
        if key is not None and cut not in REGISTRY[key].cuts:
            raise Http404(_("This KPI is not measured per person."))
        scope = pages.staff_scope(store, cut, person_id)
        return scope, {"store": store.code, cut: person_id}
    store = _dashboard_store(request)
    return kpi_selectors.scope_for_store(store), {"store": store.code}


def _person_store(request: HttpRequest, person_id: int, code: str) -> Store:
    """The store of a person's own figures: one where the person is an advisor or technician and the viewer is that
    person, or holds VIEW_KPIS there.  Anything else answers 404 (no existence oracle for another store's staff)."""
    user = request.user
    if person_id == user.pk:
        allowed = frozenset(store_ids_where(user))
    else:
        allowed = store_ids_where(user, C.VIEW_KPIS)
    stores = Store.objects.select_related("group").filter(
        pk__in=sorted(allowed),
        memberships__user_id=person_id,
        memberships__role__in=list(pages.CUT_OF_ROLE),
        memberships__user__is_active=True,
    )
    if code:
        stores = stores.filter(code=code[:16])
    chosen = current_store(request)
    found = list(stores.distinct().order_by("code"))
    if not found:
        raise Http404(_("No member of staff with this id whose numbers you may see."))
    return next((s for s in found if chosen is not None and s.pk == chosen.pk), found[0])


# --------------------------------------------------------------------------------------------- pages


@answers_bad_parameters
def dashboard(request: HttpRequest) -> HttpResponse:
    """The store manager's dashboard: every KPI of the period with target, RAG and change, by area."""
    store = _dashboard_store(request)
    period = _period(request)
    board = pages.store_dashboard(store=store, period=period)
    allowed = store_ids_where(request.user, C.VIEW_KPIS)
    stores = list(Store.objects.filter(pk__in=sorted(allowed)).order_by("code")) if len(allowed) > 1 else []
    return render(
        request,
        "analytics/dashboard.html",
        {
            "board": board,
            "store": store,
            "period": period,
            "nav": _period_nav(period),
            "stores": stores,
            "scope_query": pages.query_string(store=store.code),
            "may_compare": bool(len(allowed) > 1 and _groups_read_whole(request)),
        },
    )


@answers_bad_parameters
def group_dashboard(request: HttpRequest) -> HttpResponse:
    """The group's stores side by side: the group's own figures, a ranking of the stores on one KPI, a heat map."""
    group, stores, groups = _group(request)
    period = _period(request)
    comparison = pages.group_comparison(group=group, stores=stores, period=period, key=request.GET.get("kpi"))
    return render(
        request,
        "analytics/dashboard_group.html",
        {
            "cmp": comparison,
            "group": group,
            "groups": groups if len(groups) > 1 else [],
            "period": period,
            "nav": _period_nav(period),
            "kpis": list(all_kpis()),
            "scope_query": pages.query_string(group=group.code),
        },
    )


@answers_bad_parameters
def my_numbers(request: HttpRequest) -> HttpResponse:
    """One's own figures (advisor or technician); `?person=ID` (the manager's picker) opens a colleague's."""
    own: int = request.user.pk  # type: ignore[assignment]  # signed in (LoginRequiredMiddleware)
    return _staff_numbers(request, _person_id(request.GET.get("person", "")) or own)


@answers_bad_parameters
def staff_numbers(request: HttpRequest, pk: int) -> HttpResponse:
    """An advisor's or technician's figures, opened by a manager of their store (or by themselves)."""
    return _staff_numbers(request, pk)


def _staff_numbers(request: HttpRequest, pk: int) -> HttpResponse:
    if _person_id(str(pk)) is None:  # the path's number is unbounded: one no database holds is a missing person
        raise Http404(_("No member of staff with this id whose numbers you may see."))
    period = _period(request)
    own = pk == request.user.pk
    store: Store | None = None
    try:
        store = _person_store(request, pk, request.GET.get("store", ""))
    except Http404:
        if not own:
            raise
    person = request.user if own else get_user_model().objects.select_related("staff_profile").filter(pk=pk).first()
    if person is None:
        raise Http404
    cut = pages.staff_cut(person=person, store=store) if store is not None else None
    page = pages.staff_page(store=store, person=person, cut=cut, period=period) if store is not None else None
    manager_store = _manager_store(request, store)
    return render(
        request,
        "analytics/dashboard_staff.html",
        {
            "page": page,
            "person": person,
            "own": own,
            "store": store,
            "cut": cut,
            "period": period,
            "nav": _period_nav(period),
            "scope_query": pages.query_string(store=store.code, **{cut: person.pk}) if store and cut else "",
            "store_query": pages.query_string(store=store.code) if store else "",
            "staff": pages.staff_of_store(store=manager_store) if manager_store else [],
            "manager_store": manager_store,
        },
    )


def _manager_store(request: HttpRequest, store: Store | None) -> Store | None:
    """The store whose staff a manager may pick from on a personal page (None for someone without VIEW_KPIS)."""
    allowed = store_ids_where(request.user, C.VIEW_KPIS)
    if not allowed:
        return None
    if store is not None and store.pk in allowed:
        return store
    try:
        return _dashboard_store(request)
    except PermissionDenied:
        return None


@answers_bad_parameters
def kpi_drilldown(request: HttpRequest, key: str) -> HttpResponse:
    """The definition, the figure (numerator / denominator) and the paginated records behind it, each linking to
    its page with a met / not met badge."""
    if key not in {kpi.key for kpi in all_kpis()}:
        raise Http404(_("No KPI with this key."))
    scope, params = _scope(request, key=key)
    period = _period(request)
    met_raw = request.GET.get("met", "")
    met = {"1": True, "0": False}.get(met_raw)
    drill = pages.drilldown(key=key, scope=scope, period=period, met=met)
    page = page_of(request, drill.records) if drill.records is not None else None
    return render(
        request,
        "analytics/drilldown.html",
        {
            "drill": drill,
            "kpi": drill.kpi,
            "result": drill.result,
            "figure": drill.figure,
            "extra": drill.extra,
            "period": period,
            "nav": _period_nav(period),
            "page": page,
            "rows": pages.record_rows(page.object_list) if page is not None else [],
            "met": met_raw if met is not None else "",
            "scope_query": pages.query_string(**params),
            "params": params,
            "scope_name": _scope_name(params),
        },
    )


def _scope_name(params: dict[str, Any]) -> str:
    """The store's or group's name for a heading (one query)."""
    if "group" in params:
        return DealerGroup.objects.filter(code=params["group"]).values_list("name", flat=True).first() or ""
    return Store.objects.filter(code=params.get("store", "")).values_list("name", flat=True).first() or ""


@answers_bad_parameters
def kpi_trend(request: HttpRequest, key: str) -> HttpResponse:
    """The 13-period trend chart of one KPI (an htmx fragment): inline on the drill-down page, or with the
    definition and the way to the records in a tile's dialog (`dialog=1`)."""
    if key not in {kpi.key for kpi in all_kpis()}:
        raise Http404(_("No KPI with this key."))
    scope, params = _scope(request, key=key)
    period = _period(request)
    chart = pages.trend_chart(key=key, scope=scope, period=period)
    dialog = request.GET.get("dialog") == "1"
    return render(
        request,
        "analytics/partials/_trend_dialog_content.html" if dialog else "analytics/partials/_trend.html",
        {
            "chart": chart,
            "chart_id": f"trend-{key}",
            "kpi": REGISTRY[key],
            "period": period,
            "scope_name": _scope_name(params),
            "drill_url": pages.drilldown_url(key, period, **params),
        },
    )
