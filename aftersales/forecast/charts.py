"""ECharts options of the forecast page (drawn by frontend/src/charts.js from json_script)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from aftersales.forecast.models import StoreForecast

BLUE, ORANGE, GREY = "#0b5394", "#fd7e14", "#6c757d"
HISTORY_WEEKS_SHOWN = 52  # the chart shows the last year and the forecast; the API gives the whole history


def forecast_chart(forecast: StoreForecast) -> dict[str, Any]:
    """Weekly orders (bars), bookings (line), then the forecast (dashed line) inside its 80 % band (a stacked area:
    the invisible low, then high − low)."""
    history = forecast.data.get("history", [])[-HISTORY_WEEKS_SHOWN:]
    future = forecast.data.get("forecast", [])
    weeks = [row["week"] for row in history] + [row["week"] for row in future]
    blanks: list[Any] = [None] * len(history)
    orders = [sum(row["orders"].values()) for row in history] + [None] * len(future)
    bookings = [sum(row["bookings"].values()) for row in history] + [None] * len(future)
    # The forecast line starts at the last actual week so that it joins the bars.
    joined = blanks[:-1] + [orders[len(history) - 1]] if history else []
    line = joined + [row["orders"] for row in future]
    low = blanks + [row["low"] for row in future]
    band = blanks + [round(row["high"] - row["low"], 2) for row in future]
    orders_name, bookings_name = _("Orders"), _("Bookings")
    forecast_name, band_name = _("Forecast"), _("80 % interval")
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [orders_name, bookings_name, forecast_name, band_name], "top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": weeks, "axisLabel": {"hideOverlap": True}},
        "yAxis": {"type": "value", "name": _("per week"), "minInterval": 1},
        "series": [
            {"name": orders_name, "type": "bar", "data": orders, "itemStyle": {"color": BLUE}},
            {
                "name": bookings_name,
                "type": "line",
                "data": bookings,
                "symbol": "none",
                "lineStyle": {"color": GREY, "width": 1},
                "itemStyle": {"color": GREY},
            },
            {
                "name": "low",
                "type": "line",
                "data": low,
                "stack": "band",
                "symbol": "none",
                "lineStyle": {"opacity": 0},
            },
            {
                "name": band_name,
                "type": "line",
                "data": band,
                "stack": "band",
                "symbol": "none",
                "lineStyle": {"opacity": 0},
                "areaStyle": {"color": ORANGE, "opacity": 0.2},
                "itemStyle": {"color": ORANGE},
            },
            {
                "name": forecast_name,
                "type": "line",
                "data": line,
                "symbol": "circle",
                "lineStyle": {"color": ORANGE, "type": "dashed", "width": 2},
                "itemStyle": {"color": ORANGE},
            },
        ],
    }
