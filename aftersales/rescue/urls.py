from django.urls import URLPattern

app_name = "rescue"
urlpatterns: list[URLPattern] = []
