"""The tiers page for managers: tier counts and shares per store, a chart, the NEV owners, the thresholds in
force, the RFM R×F heat-map and the customers of one tier (paged, masked); and the recompute button."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core.pagination import choice_param, page_of
from aftersales.core.scoping import store_ids_where
from aftersales.crm import selectors, services
from aftersales.customers.choices import Tier
from aftersales.customers.models import Customer
from aftersales.customers.validators import mask_mobile
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability

C = Capability
# Bootstrap colour names and chart colours per tier (the page's badges and the chart agree).
TIER_COLOURS = {"A": "#198754", "B": "#0d6efd", "C": "#0dcaf0", "D": "#dc3545", "none": "#adb5bd"}
TIER_BADGES = {"A": "success", "B": "primary", "C": "info", "D": "danger", "none": "secondary"}


def _tier_label(key: str) -> str:
    return str(Tier(key).label) if key != "none" else _("No tier")


def _store_chart(rows: list[selectors.StoreTiers]) -> dict[str, Any]:
    """ECharts options: one stacked horizontal bar per store, A to D (customers with a tier)."""
    ordered = list(reversed(rows))  # a category axis draws its first value at the bottom
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "type": "scroll"},  # one line on a phone, never over the bars
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [row.store.code for row in ordered]},
        "series": [
            {
                "name": _tier_label(key),
                "type": "bar",
                "stack": "tiers",
                "data": [row.tiers[key] for row in ordered],
                "itemStyle": {"color": TIER_COLOURS[key]},
                "barMaxWidth": 36,
            }
            for key in Tier.values
        ],
    }


def _heatmap_chart(grid: list[list[int]]) -> dict[str, Any]:
    """ECharts options: the 5×5 R score × F score grid, darker for more customers."""
    scores = [str(n) for n in range(1, 6)]
    data = [[f, r, grid[r][f]] for r in range(5) for f in range(5)]
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 36, "right": 16, "top": 32, "bottom": 64, "containLabel": True},
        "xAxis": {"type": "category", "data": scores, "name": _("F score"), "nameLocation": "middle", "nameGap": 24},
        "yAxis": {"type": "category", "data": scores, "name": _("R score")},
        "visualMap": {
            "min": 0,
            "max": max((n for row in grid for n in row), default=0) or 1,
            "calculable": False,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "itemHeight": 120,
            "inRange": {"color": ["#f8f9fa", "#0b5394"]},
        },
        "series": [{"name": _("Customers"), "type": "heatmap", "data": data, "label": {"show": True}}],
    }


def tiers_page(request: HttpRequest) -> HttpResponse:
    """?tier=A|B|C|D|none lists that tier's customers (paged) under the counts."""
    require(request.user, C.MANAGE_TIERS)
    user = request.user
    store_ids = current_store_ids(request) & store_ids_where(user, C.MANAGE_TIERS)
    rows = selectors.tier_counts(store_ids=store_ids, with_thresholds=True)
    stores = [row.store for row in rows]
    thresholds = selectors.group_thresholds(stores) if stores else None
    totals = selectors.total_tiers(rows)
    tiered = sum(totals.values()) - totals["none"]
    summary = [
        {
            "key": key,
            "label": _tier_label(key),
            "count": totals[key],
            "share": round(100 * totals[key] / tiered, 1) if tiered and key != "none" else None,
            "badge": TIER_BADGES[key],
        }
        for key in selectors.TIER_KEYS
    ]
    tier = choice_param(request, "tier", selectors.TIER_KEYS)
    page = None
    customers: list[dict[str, Any]] = []
    if tier:
        page = page_of(request, selectors.tier_customer_list(store_ids=store_ids, tier="" if tier == "none" else tier))
        # A customer counts in the store of their last visit; the profile link is offered only for customers the
        # user may open (one query for the page, through the customers' own scoping).
        rows_on_page = list(page.object_list)
        viewable = set(
            Customer.objects.for_user(user, C.VIEW_CUSTOMERS)
            .filter(pk__in=[c.pk for c in rows_on_page])
            .values_list("pk", flat=True)
        )
        customers = [
            {
                "customer": c,
                "phone": mask_mobile(c.phone),
                "url": reverse("crm:customer-profile", args=[c.pk]) if c.pk in viewable else "",
            }
            for c in rows_on_page
        ]
    heatmap = selectors.rfm_heatmap(store_ids=store_ids) if tiered else None
    context = {
        "rows": [
            {
                "row": row,
                "cells": [{"key": k, "count": row.tiers[k], "share": row.share(k)} for k in selectors.TIER_KEYS],
                "own_thresholds": row.thresholds != thresholds,
            }
            for row in rows
        ],
        "summary": summary,
        "total": sum(totals.values()),
        "nev": sum(row.nev for row in rows),
        "thresholds": thresholds,
        "rules": thresholds.rules() if thresholds else {},
        "as_of": selectors.tiers_as_of(store_ids=store_ids),
        "store_chart": _store_chart(rows) if tiered else None,
        "heatmap_chart": _heatmap_chart(heatmap) if heatmap else None,
        "tier": tier,
        "tier_label": _tier_label(tier) if tier else "",
        "tier_badge": TIER_BADGES.get(tier, ""),
        "page": page,
        "customers": customers,
        "several_stores": len(rows) > 1,
        "can_recompute": bool(store_ids),
    }
    return render(request, "crm/tiers.html", context)


@require_POST
def tiers_recompute(request: HttpRequest) -> HttpResponse:
    """Recompute now the tiers of the customers of the stores shown where the user holds MANAGE_TIERS."""
    require(request.user, C.MANAGE_TIERS)
    store_ids = current_store_ids(request) & store_ids_where(request.user, C.MANAGE_TIERS)
    summary = services.tiers_recompute(by=request.user, store_ids=store_ids)
    messages.success(
        request,
        _("Tiers recomputed as of {day}: {customers} customers, {changed} changed tier.").format(
            day=summary.as_of.isoformat(), customers=summary.customers, changed=summary.changed
        ),
    )
    return HttpResponseRedirect(reverse("crm:tiers"))


urlpatterns: list[URLPattern] = [
    path("crm/tiers/", tiers_page, name="tiers"),
    path("crm/tiers/recompute/", tiers_recompute, name="tiers-recompute"),
]
