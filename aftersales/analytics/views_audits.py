"""The group's audit comparison (issue 16 part 4): the stores' mean audit scores per kind for a quarter, ranked,
with findings and SOP acknowledgement beside them.  Who may open it is the group comparison's rule (a group
manager: the numbers of every store of the group); the figures come from one page-shaped selector."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from aftersales.analytics import selectors_audits as audits_page
from aftersales.analytics import selectors_dashboards as pages
from aftersales.analytics.periods import Period, PeriodError
from aftersales.analytics.views_dashboards import _BadParameter, _group, _period_nav, answers_bad_parameters


def _quarter(request: HttpRequest) -> Period:
    """`?period=2026-Q2` (a month or a year too); missing: the current quarter, the audit plan's cycle."""
    raw = request.GET.get("period", "")
    if not raw.strip():
        return audits_page.default_period()
    try:
        return Period.parse(raw)
    except PeriodError as exc:
        raise _BadParameter("period", str(exc)) from None


@answers_bad_parameters
def audit_comparison(request: HttpRequest) -> HttpResponse:
    """Stores × kinds of audit: mean scores (heat map), the stores ranked by their overall score, a table."""
    group, stores, groups = _group(request)
    period = _quarter(request)
    comparison = audits_page.audit_comparison(group=group, stores=stores, period=period)
    return render(
        request,
        "analytics/audit_comparison.html",
        {
            "cmp": comparison,
            "group": group,
            "groups": groups if len(groups) > 1 else [],
            "period": period,
            "nav": _period_nav(period),
            "scope_query": pages.query_string(group=group.code),
            "kind_labels": [audits_page.kind_label(kpi) for kpi in comparison.columns],
        },
    )
