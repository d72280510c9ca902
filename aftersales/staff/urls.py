"""Staff qualifications (layer 3)."""

from aftersales.staff.views import urlpatterns as urlpatterns

app_name = "staff"
