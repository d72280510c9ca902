"""Pages of the feedback domain: issues."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
