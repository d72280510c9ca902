from django.urls import path

from aftersales.organisation import calendar_views, views

app_name = "organisation"
urlpatterns = [
    path("stores/", views.store_list, name="store-list"),
    path("settings/", views.settings_edit, name="settings"),
    path("stores/<int:pk>/wecom-robot/", views.store_wecom_robot, name="store-wecom"),
    path("audit/", views.audit_list, name="audit"),
    path("settings/calendar/", calendar_views.calendar_list, name="calendar"),
    path("settings/calendar/<int:year>/", calendar_views.calendar_year, name="calendar-year"),
    path("audit/export.csv", views.audit_export, {"file_format": "csv"}, name="audit-export-csv"),
    path("audit/export.xlsx", views.audit_export, {"file_format": "xlsx"}, name="audit-export-xlsx"),
    path("audit/record/<str:object_type>/<str:object_id>/", views.audit_record_history, name="audit-record"),
    path(
        "audit/record/<str:object_type>/<str:object_id>/export.<str:file_format>",
        views.audit_record_export,
        name="audit-record-export",
    ),
]
