from aftersales.crm import views, views_profile

app_name = "crm"
urlpatterns = [*views.urlpatterns, *views_profile.urlpatterns]
