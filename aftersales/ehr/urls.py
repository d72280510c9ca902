from django.urls import URLPattern

app_name = "ehr"
urlpatterns: list[URLPattern] = []
