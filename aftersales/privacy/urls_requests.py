"""The requests pages' URLs (included by privacy/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
