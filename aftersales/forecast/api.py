"""The forecast endpoint of /api/v1/: `GET /forecast?store=CODE` — the store's weekly history, the next eight
weeks' forecast with its 80 % interval, the backtest's MASE, and the staffing table.  The caller needs `view_kpis`
in the store; an unknown or unseen store is a 422 naming the field, a store seen without the capability a 403."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from aftersales.core import clock
from aftersales.forecast import selectors, services
from aftersales.organisation.access import require, store_by_code
from aftersales.organisation.permissions import Capability

router = Router(tags=["forecast"])


class ForecastIn(Schema):
    store: str = Field(..., max_length=16, description="a store's code")


@router.get("/forecast", response=dict[str, Any], summary="A store's weekly demand, 8-week forecast and staffing")
def forecast_get(request: HttpRequest, filters: Query[ForecastIn]) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    store = store_by_code(user, filters.store)
    require(user, Capability.VIEW_KPIS, store_id=store.pk)
    today = clock.today()
    forecast = services.forecast_current(store=store, today=today)
    page = selectors.forecast_page(forecast=forecast, store=store, today=today)
    return selectors.forecast_json(forecast=forecast, page=page)
