"""The SOP library pages (layer 4)."""

from aftersales.standards.views import urlpatterns as urlpatterns

app_name = "standards"
