from aftersales.ehr.views import urlpatterns as urlpatterns

app_name = "ehr"
