from django.urls import path

from aftersales.organisation import views

app_name = "organisation"
urlpatterns = [
    path("stores/", views.store_list, name="store-list"),
    path("settings/", views.settings_edit, name="settings"),
    path("stores/<int:pk>/wecom-robot/", views.store_wecom_robot, name="store-wecom"),
    path("audit/", views.audit_list, name="audit"),
]
