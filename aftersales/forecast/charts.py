"""ECharts options of the forecast page (drawn by frontend/src/charts.js from json_script)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from aftersales.forecast.models import StoreForecast

BLUE, ORANGE, GREY = "#0b5394", "#fd7e14", "#6c757d"
HISTORY_WEEKS_SHOWN = 52  # the chart shows the last year and the forecast; the API gives the whole history


def forecast_chart(forecast: StoreForecast) -> dict[str, Any]:
    """Weekly orders (bars) and bookings (line), then the forecast (dashed line) between the bounds of its 80 %
    interval (the band: the area under the upper bound, with the area under the lower bound painted over in the
    background colour, so the tooltip shows both bounds as they are)."""
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
    high = blanks + [row["high"] for row in future]
    orders_name, bookings_name, forecast_name = _("Orders"), _("Bookings"), _("Forecast")
    high_name, low_name = _("Interval: upper bound"), _("Interval: lower bound")
    bound = {"type": "line", "symbol": "none", "lineStyle": {"color": ORANGE, "width": 1, "type": "dotted"}}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [orders_name, bookings_name, forecast_name, high_name], "top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": weeks, "axisLabel": {"hideOverlap": True}},
        "yAxis": {"type": "value", "name": _("per week"), "minInterval": 1, "splitLine": {"show": False}},
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
                **bound,
                "name": high_name,
                "data": high,
                "itemStyle": {"color": ORANGE},
                "areaStyle": {"color": ORANGE, "opacity": 0.18},
            },  # fmt: skip
            {
                **bound,
                "name": low_name,
                "data": low,
                "itemStyle": {"color": ORANGE},
                "areaStyle": {"color": "#ffffff", "opacity": 1},
            },  # fmt: skip
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
