from aftersales.care.views import urlpatterns as urlpatterns

app_name = "care"
