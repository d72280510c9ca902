"""Pages of the feedback domain: suggestions."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
