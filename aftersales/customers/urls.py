from django.urls import path

from aftersales.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("new/", views.customer_create, name="customer-create"),
    path("<int:pk>/", views.customer_detail, name="customer-detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:pk>/serve-here/", views.customer_serve_here, name="customer-serve-here"),
    path("<int:pk>/reveal/<str:field>/", views.customer_reveal, name="customer-reveal"),
    path("<int:pk>/consent/", views.consent_update, name="consent-update"),
    path("<int:pk>/vehicles/new/", views.vehicle_create, name="vehicle-create"),
    path("vehicles/<int:pk>/edit/", views.vehicle_edit, name="vehicle-edit"),
]
