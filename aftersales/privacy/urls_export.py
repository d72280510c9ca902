"""The export pages' URLs (included by privacy/urls.py)."""

from django.urls import URLPattern, path

from aftersales.privacy import views_export as views

urlpatterns: list[URLPattern] = [
    path("privacy/customers/<int:pk>/export.json", views.customer_export_json, name="customer-export-json"),
    path("privacy/customers/<int:pk>/export.pdf", views.customer_export_pdf, name="customer-export-pdf"),
    path("privacy/requests/<int:pk>/export.json", views.request_export_json, name="export-json"),
    path("privacy/requests/<int:pk>/export.pdf", views.request_export_pdf, name="export-pdf"),
    path("privacy/customers/<int:pk>/erase/", views.customer_erase, name="customer-erase"),
]
