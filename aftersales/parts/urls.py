from aftersales.parts.views import urlpatterns as urlpatterns

app_name = "parts"
