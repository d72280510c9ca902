"""Roadside rescue (layer 6)."""

from aftersales.rescue.views import urlpatterns as urlpatterns

app_name = "rescue"
