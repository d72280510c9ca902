"""The analytics pages: dashboards and drill-downs, scorecards, early warnings, reports (one block per area)."""

from django.urls import URLPattern, path  # noqa: F401

from aftersales.analytics import (
    views_audits,
    views_dashboards,
    views_issues,
    views_quality,
    views_reports,
    views_scorecards,
)

app_name = "analytics"

urlpatterns: list[URLPattern] = [
    # dashboards and drill-downs (views_dashboards.py)
    path("", views_dashboards.dashboard, name="dashboard"),
    path("group/", views_dashboards.group_dashboard, name="group-dashboard"),
    path("me/", views_dashboards.my_numbers, name="my-numbers"),
    path("staff/<int:pk>/", views_dashboards.staff_numbers, name="staff-numbers"),
    path("kpi/<str:key>/", views_dashboards.kpi_drilldown, name="drilldown"),
    path("kpi/<str:key>/trend/", views_dashboards.kpi_trend, name="trend"),
    # the group's audit comparison (views_audits.py, issue 16)
    path("audits/", views_audits.audit_comparison, name="audit-comparison"),
    # scorecards and early warnings (views_scorecards.py)
    path("scorecards/", views_scorecards.scorecard_list, name="scorecards"),
    path("scorecards/compute/", views_scorecards.scorecard_compute, name="scorecard-compute"),
    path("scorecards/mine/", views_scorecards.my_scorecards, name="my-scorecards"),
    path("scorecards/<int:pk>/", views_scorecards.scorecard_detail, name="scorecard-detail"),
    path("scorecards/<int:pk>/review/", views_scorecards.scorecard_review, name="scorecard-review"),
    path("warnings/", views_scorecards.warning_list, name="warnings"),
    path("capa/<int:pk>/verify/", views_scorecards.capa_verify, name="capa-verify"),
    # reports (views_reports.py)
    path("reports/", views_reports.report_list, name="reports"),
    path("reports/runs/", views_reports.report_runs, name="report-runs"),
    path("reports/<int:pk>/download/", views_reports.report_download, name="report-download"),
    # frequent issues in the customers' comments (views_issues.py)
    path("issues/", views_issues.frequent_issues, name="issues"),
    path("issues/read/", views_issues.frequent_issues_read, name="issues-read"),
    # service-quality evaluation (views_quality.py)
    path("quality/", views_quality.evaluation, name="quality"),
    path("quality/group/", views_quality.group_comparison, name="quality-group"),
    path("quality/model/", views_quality.model_page, name="quality-model"),
    path("quality/model/create/", views_quality.model_create, name="quality-model-create"),
    path("quality/model/<int:pk>/nodes/", views_quality.node_add, name="quality-node-add"),
    path("quality/model/<int:pk>/nodes/<int:node>/remove/", views_quality.node_remove, name="quality-node-remove"),
    path("quality/model/<int:pk>/matrix/", views_quality.matrix_editor, name="quality-matrix"),
    path("quality/model/<int:pk>/matrix/check/", views_quality.matrix_check, name="quality-matrix-check"),
]
