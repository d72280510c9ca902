from aftersales.reminders.views import urlpatterns as urlpatterns

app_name = "reminders"
