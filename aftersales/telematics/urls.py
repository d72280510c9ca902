from django.urls import URLPattern

app_name = "telematics"
urlpatterns: list[URLPattern] = []
