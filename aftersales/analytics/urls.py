"""The analytics pages: dashboards and drill-downs, scorecards, early warnings, reports (one block per area)."""

from django.urls import URLPattern, path  # noqa: F401

app_name = "analytics"

urlpatterns: list[URLPattern] = [
    # dashboards and drill-downs (views_dashboards.py)
    # scorecards and early warnings (views_scorecards.py)
    # reports (views_reports.py)
]
