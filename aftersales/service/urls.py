from django.urls import path

from aftersales.service import views_customer

app_name = "service"
urlpatterns = [
    # Customer pages: signed links, no account (login_not_required on each view).
    path("book/<str:store_code>/", views_customer.booking_page, name="customer-book"),
    path("book/<str:store_code>/slots/", views_customer.booking_slots, name="customer-book-slots"),
    path("a/<str:token>/", views_customer.appointment_page, name="customer-appointment"),
    path("r/<str:token>/", views_customer.order_page, name="customer-order"),
    path("r/<str:token>/decide/<int:line_id>/", views_customer.order_decide, name="customer-order-decide"),
    path("r/<str:token>/rate/", views_customer.order_rate, name="customer-order-rate"),
    path("r/<str:token>/files/<int:attachment_id>/", views_customer.order_file, name="customer-order-file"),
    path("r/<str:token>/bill.pdf", views_customer.order_bill_pdf, name="customer-order-bill"),
]
