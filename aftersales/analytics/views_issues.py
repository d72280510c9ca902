"""The monthly frequent issues found in the customers' comments (issue 13 part 4): a store's (VIEW_KPIS there) or a
whole group's (a group manager's), read from the stored `CommentIssue` rows; and the button that reads a month's
comments again (the nightly job does it otherwise)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.analytics import selectors_issues as issues
from aftersales.analytics.models import CommentSource
from aftersales.analytics.periods import Period, PeriodError
from aftersales.analytics.views_dashboards import (
    _BadParameter,
    _dashboard_store,
    _group,
    _groups_read_whole,
    answers_bad_parameters,
)
from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.feedback.transitions import CAPA
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability as C

# The page of a quote's record, and the capability that opens it.
SOURCE_PAGES: dict[str, tuple[str, C]] = {
    CommentSource.SURVEY: ("feedback:survey-detail", C.VIEW_FEEDBACK),
    CommentSource.COMPLAINT: ("feedback:complaint-detail", C.VIEW_FEEDBACK),
    CommentSource.SUGGESTION: ("feedback:suggestion-detail", C.VIEW_FEEDBACK),
    CommentSource.CALL_NOTE: ("feedback:follow-up-call", C.FOLLOW_UP),
    CommentSource.RECOVERY_NOTE: ("feedback:recovery-detail", C.VIEW_FEEDBACK),
}
SERIES_SHOWN = 5  # issues drawn at first in the trend; the others are in the legend, switched off


def _month(request: HttpRequest) -> Period:
    """`?period=YYYY-MM`; missing: the month just ended (a monthly review reads a month that is over).  A quarter,
    a year, a month not begun or anything else is a 400 naming the parameter."""
    name = "period"
    raw = request.GET.get(name, "")
    current = Period.containing(clock.today())
    if not raw.strip():
        return current.previous()
    try:
        period = Period.parse(raw)
    except PeriodError as exc:
        raise _BadParameter(name, str(exc)) from None
    if period.kind != "month":
        raise _BadParameter(name, _("the issues are counted per month: write YYYY-MM (e.g. 2026-05)."))
    if period > current:
        raise _BadParameter(name, _("{month} has not begun yet.").format(month=period))
    return period


def _scope(request: HttpRequest) -> tuple[Store | None, DealerGroup | None, list[int]]:
    """`group=CODE` (a group manager: every store of the group) or a store (`store=CODE`, the chosen one, or the
    first where the user holds VIEW_KPIS).  The read button posts to an address with the same parameters."""
    if request.GET.get("group"):
        group, _stores, _groups = _group(request)
        return None, group, sorted(Store.objects.filter(group=group).values_list("pk", flat=True))
    store = _dashboard_store(request)
    return store, None, [store.pk]


def _trend_chart(page: issues.IssuesPage) -> dict[str, Any]:
    """ECharts options: one line per issue over the trend's months; the month's top issues shown, others off."""
    labels = {row.code: row.label for row in page.issues}
    series, selected = [], {}
    for position, (code, values) in enumerate(page.trend.items()):
        label = labels.get(code) or issues.issue_label(code)
        series.append({"name": label, "type": "line", "data": values, "symbolSize": 6})
        selected[label] = position < SERIES_SHOWN
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0, "selected": selected},
        "grid": {"left": 8, "right": 28, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": page.months, "boundaryGap": False},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": series,
    }


def _capa_url(code: str, label: str, count: int, period: Period, store: Store) -> str:
    title = _("Frequent issue in comments: {issue}, {month} ({n} comments)").format(issue=label, month=period, n=count)
    query = {"category": issues.issue_category(code), "month": str(period), "title": title, "store": store.pk}
    return f"{reverse('feedback:capa-create')}?{urlencode(query)}"


@answers_bad_parameters
def frequent_issues(request: HttpRequest) -> HttpResponse:
    period = _month(request)
    store, group, ids = _scope(request)
    page = issues.issues_page(store_ids=ids, period=period, by="advisor" if store else "store")
    user: Any = request.user  # signed in (LoginRequiredMiddleware)
    readable = {capability: store_ids_where(user, capability) for capability in (C.VIEW_FEEDBACK, C.FOLLOW_UP)}
    may_capa = store is not None and CAPA.may(CAPA.get("open"), actor=user, store_id=store.pk)
    rows = []
    for row in page.issues:
        quotes = []
        for quote in row.quotes:
            name, capability = SOURCE_PAGES[quote.kind]
            url = reverse(name, args=[quote.record_id]) if quote.store_id in readable[capability] else ""
            quotes.append({"quote": quote, "url": url})
        rows.append(
            {
                "row": row,
                "share": round(100 * row.count / page.read, 1) if page.read else 0.0,
                "change_abs": abs(row.change),
                "quotes": quotes,
                "capa_url": _capa_url(row.code, row.label, row.count, period, store)
                if store is not None and may_capa and row.count
                else "",
            }
        )
    allowed = store_ids_where(user, C.VIEW_KPIS)
    groups = _groups_read_whole(request)
    scope_query = urlencode({"group": group.code} if group else {"store": store.code if store else ""})
    current = Period.containing(clock.today())
    return render(
        request,
        "analytics/issues.html",
        {
            "page": page,
            "rows": rows,
            "counted": [row for row in page.issues if row.count],
            "store": store,
            "group": group,
            "period": period,
            "previous": str(period.previous()),
            "next": str(period.shift(1)) if period < current else "",
            "max_month": str(current),
            "stores": list(Store.objects.filter(pk__in=sorted(allowed)).order_by("code")) if len(allowed) > 1 else [],
            "groups": list(groups),
            "scope_query": scope_query,
            "trend_chart": _trend_chart(page) if page.trend else None,
            "may_capa": may_capa,
            "by": "advisor" if store else "store",
        },
    )


@require_POST
@answers_bad_parameters
def frequent_issues_read(request: HttpRequest) -> HttpResponse:
    """Read the month's comments of the store (or group) again now, in the background."""
    from aftersales.analytics.tasks import comments_scan_task

    period = _month(request)
    store, group, ids = _scope(request)
    if not set(ids) <= store_ids_where(request.user, C.VIEW_KPIS):
        raise PermissionDenied(_("Your role may not do this."))
    comments_scan_task(ids, str(period))
    messages.success(
        request,
        _("The comments of {month} are being read again; the page shows the result in a minute.").format(month=period),
    )
    query = urlencode(
        {"period": str(period), **({"group": group.code} if group else {"store": store.code if store else ""})}
    )
    return redirect(f"{reverse('analytics:issues')}?{query}")
