from aftersales.telematics.views import urlpatterns as urlpatterns

app_name = "telematics"
