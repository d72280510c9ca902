"""The requests pages' URLs (included by privacy/urls.py)."""

from django.urls import URLPattern, path

from aftersales.privacy import views_requests as views

urlpatterns: list[URLPattern] = [
    path("privacy/requests/", views.request_list, name="request-list"),
    path("privacy/requests/new/", views.request_new, name="request-new"),
    path("privacy/requests/<int:pk>/", views.request_detail, name="request-detail"),
    # The customer's page, behind the link they hold: r = the repair order's link, s = the survey link.
    path("c/privacy/<str:link>/<str:token>/", views.customer_request, name="customer-request"),
]
