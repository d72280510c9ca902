"""Workshop forecast (layer 6)."""

from __future__ import annotations

from django.urls import URLPattern, path

from aftersales.forecast import views

app_name = "forecast"
urlpatterns: list[URLPattern] = [path("forecast/", views.forecast_overview, name="overview")]
