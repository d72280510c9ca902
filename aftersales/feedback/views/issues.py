"""The monthly frequent issues: complaint categories and survey items answered low, ranked for the month with
the change against the month before, and a chart of both months side by side."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.feedback import selectors
from aftersales.feedback.forms_capa import parse_month
from aftersales.feedback.models import Capa
from aftersales.feedback.transitions import CAPA
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability

C = Capability


def _shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _default_month() -> dt.date:
    """The previous full month: the monthly review looks at a month that is over, not one still filling up."""
    return _shift(clock.today().replace(day=1), -1)


def _rows(issues: list[selectors.IssueRow]) -> list[dict[str, Any]]:
    """Each ranked row with its share of the month's total (percent, one decimal)."""
    total = sum(row.count for row in issues)
    return [
        {"row": row, "share": round(100 * row.count / total, 1) if total else 0.0, "change_abs": abs(row.change)}
        for row in issues
    ]


def _chart(rows: list[selectors.IssueRow], month: dt.date, previous: dt.date) -> dict[str, Any]:
    """ECharts options: a horizontal bar per issue, this month against the one before; the top rank on top."""
    ordered = list(reversed(rows))  # a category axis draws its first value at the bottom
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [row.label for row in ordered]},
        "series": [
            {
                "name": previous.strftime("%Y-%m"),
                "type": "bar",
                "data": [row.previous for row in ordered],
                "itemStyle": {"color": "#adb5bd"},
            },
            {
                "name": month.strftime("%Y-%m"),
                "type": "bar",
                "data": [row.count for row in ordered],
                "itemStyle": {"color": "#0b5394"},
            },
        ],
    }


def frequent_issues(request: HttpRequest) -> HttpResponse:
    """?month=YYYY-MM (default: the previous full month) over the chosen store, or all the user's stores."""
    require(request.user, C.VIEW_FEEDBACK)
    user = request.user
    store_ids = current_store_ids(request) & store_ids_where(user, C.VIEW_FEEDBACK)
    this_month = clock.today().replace(day=1)
    month = _default_month()
    raw = request.GET.get("month", "").strip()
    if raw:
        try:
            month = parse_month(raw)
        except ValueError:
            messages.warning(
                request,
                _("“{value}” is not a month (YYYY-MM); showing {month}.").format(
                    value=raw[:20], month=month.strftime("%Y-%m")
                ),
            )
        else:
            if month > this_month or month.year < 2000:
                fallback = _default_month()
                messages.warning(
                    request,
                    _("No figures for {value}; showing {month}.").format(
                        value=month.strftime("%Y-%m"), month=fallback.strftime("%Y-%m")
                    ),
                )
                month = fallback
    previous = _shift(month, -1)
    issues = selectors.frequent_issues(store_ids=store_ids, month=month)
    opening = CAPA.get("open")
    manage_store_ids = [s for s in store_ids if CAPA.may(opening, actor=user, store_id=s)]
    # CAPAs already opened on this month's clusters, so a row links to its CAPA rather than opening a second.
    opened: dict[str, list[Capa]] = {}
    for capa in Capa.objects.for_user(user, store_ids=store_ids).filter(cluster_month=month).order_by("id"):
        opened.setdefault(capa.cluster_category, []).append(capa)
    charted = [row for row in issues.survey_items if row.count or row.previous]  # items never answered low: no bar
    categories = _rows(issues.complaint_categories)
    for item in categories:
        item["capas"] = opened.get(item["row"].key, [])
    return render(
        request,
        "feedback/issues/month.html",
        {
            "month": month,
            "previous": previous,
            "next_month": _shift(month, 1) if month < this_month else None,
            "max_month": this_month,
            "categories": categories,
            "items": _rows(issues.survey_items),
            "category_total": sum(row.count for row in issues.complaint_categories),
            "category_previous_total": sum(row.previous for row in issues.complaint_categories),
            "category_chart": _chart(issues.complaint_categories, month, previous),
            "item_chart": _chart(charted, month, previous) if charted else None,
            "can_open_capa": bool(manage_store_ids),
            "scope_count": len(store_ids),
        },
    )


urlpatterns: list[URLPattern] = [
    path("feedback/issues/", frequent_issues, name="frequent-issues"),
]
