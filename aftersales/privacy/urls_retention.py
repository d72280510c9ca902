"""The retention pages' URLs (included by privacy/urls.py)."""

from django.urls import URLPattern, path

from aftersales.privacy.views_retention import retention_page

urlpatterns: list[URLPattern] = [path("privacy/retention/", retention_page, name="retention")]
