"""The forecast page: a store's weekly orders and bookings with the next eight weeks' forecast, the backtest error
(MASE) in words, the forecast by service type, and the staffing table.  For managers (VIEW_KPIS)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.forecast import charts, selectors, services
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C


def _store(request: HttpRequest) -> tuple[Store, list[Store]]:
    """`?store=CODE` among the stores whose figures the user sees, else the chosen store, else the first."""
    allowed = store_ids_where(request.user, C.VIEW_KPIS)
    if not allowed:
        raise PermissionDenied(_("Your role may not do this."))
    stores = list(Store.objects.filter(pk__in=sorted(allowed)).order_by("code"))
    code = request.GET.get("store", "")[:16]
    if code:
        for store in stores:
            if store.code == code:
                return store, stores
        raise Http404(_("No store with this code whose figures you may see."))
    chosen = current_store(request)
    if chosen is not None and chosen.pk in allowed:
        return chosen, stores
    if not stores:
        raise Http404
    return stores[0], stores


def forecast_overview(request: HttpRequest) -> HttpResponse:
    require(request.user, C.VIEW_KPIS)
    store, stores = _store(request)
    today = clock.today()
    forecast = services.forecast_current(store=store, today=today)
    page = selectors.forecast_page(forecast=forecast, store=store, today=today)
    return render(
        request,
        "forecast/overview.html",
        {
            "store": store,
            "stores": stores,
            "page": page,
            "forecast": forecast,
            "chart": charts.forecast_chart(forecast) if page.enough_history else None,
        },
    )
