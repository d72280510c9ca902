from aftersales.webhooks.views import urlpatterns as urlpatterns

app_name = "webhooks"
