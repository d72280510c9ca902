from django.urls import path

from aftersales.service import views, views_customer

app_name = "service"
urlpatterns = [
    # Customer pages: signed links, no account (login_not_required on each view).
    path("book/<str:store_code>/", views_customer.booking_page, name="customer-book"),
    path("book/<str:store_code>/slots/", views_customer.booking_slots, name="customer-book-slots"),
    path("book/<str:store_code>/advisors/", views_customer.booking_advisors, name="customer-book-advisors"),
    path("a/<str:token>/", views_customer.appointment_page, name="customer-appointment"),
    path("r/<str:token>/", views_customer.order_page, name="customer-order"),
    path("r/<str:token>/decide/<int:line_id>/", views_customer.order_decide, name="customer-order-decide"),
    path("r/<str:token>/choose/", views_customer.order_choose, name="customer-order-choose"),
    path("r/<str:token>/rate/", views_customer.order_rate, name="customer-order-rate"),
    path("r/<str:token>/files/<int:attachment_id>/", views_customer.order_file, name="customer-order-file"),
    path("r/<str:token>/bill.pdf", views_customer.order_bill_pdf, name="customer-order-bill"),
]

# Staff pages (login required; each checks the role in the object's store).
urlpatterns += [
    path("service/", views.workbench, name="workbench"),
    # The parts clerk's side of an order (the parts ledger is the parts app's; issuing onto a line is this app's).
    path("parts/issue/", views.parts_issue, name="parts-issue"),
    path("parts/issue/lines/<int:pk>/", views.line_issue, name="parts-line-issue"),
    path("parts/issue/lines/<int:pk>/return/", views.line_return, name="parts-line-return"),
    path("parts/issue/lines/<int:pk>/removed/", views.line_removed_part, name="parts-line-removed"),
    path("vehicles/<int:pk>/parts/", views.vehicle_parts, name="vehicle-parts"),
    path("service/walk-in/", views.walk_in, name="walk-in"),
    path("service/appointments/", views.appointment_list, name="appointment-list"),
    path("service/appointments/new/", views.appointment_create, name="appointment-create"),
    path("service/appointments/slots/", views.appointment_slots, name="appointment-slots"),
    path("service/appointments/<int:pk>/reschedule/", views.appointment_reschedule, name="appointment-reschedule"),
    path("service/appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path("service/appointments/<int:pk>/driver/", views.appointment_driver, name="appointment-driver"),
    path("service/appointments/<int:pk>/check-in/", views.appointment_check_in, name="appointment-check-in"),
    path("service/orders/", views.repair_order_list, name="order-list"),
    path("service/orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("service/orders/<int:pk>/inspection/", views.order_inspection, name="order-inspection"),
    path("service/orders/<int:pk>/files/", views.order_attachment_add, name="order-attachment-add"),
    path("service/orders/<int:pk>/lines/", views.estimate_line_add, name="estimate-line-add"),
    path("service/orders/<int:pk>/assign/", views.order_assign, name="order-assign"),
    path("service/orders/<int:pk>/transition/", views.order_transition, name="order-transition"),
    path("service/orders/<int:pk>/quality-check/", views.order_quality_check, name="order-quality-check"),
    path("service/orders/<int:pk>/deliver/", views.order_deliver, name="order-deliver"),
    path("service/orders/<int:pk>/bill.pdf", views.order_bill, name="order-bill"),
    path("service/orders/<int:pk>/facts/", views.order_facts, name="order-facts"),
    path("service/orders/<int:pk>/receive/", views.order_receive, name="order-receive"),
    path(
        "service/orders/<int:pk>/comeback/<str:action>/",
        views.order_comeback,
        name="order-comeback",
    ),
    path("service/lines/<int:pk>/clock/<str:action>/", views.line_clock, name="line-clock"),
    path(
        "service/orders/<int:pk>/deferred/<int:item_pk>/add/",
        views.deferred_add_to_order,
        name="deferred-add-to-order",
    ),
    path("service/lines/<int:pk>/remove/", views.estimate_line_remove, name="estimate-line-remove"),
    path("service/lines/<int:pk>/decide/", views.estimate_line_decide, name="estimate-line-decide"),
    path("service/orders/<int:pk>/choose/", views.estimate_choice_decide, name="estimate-choice-decide"),
    path("service/lines/<int:pk>/trace/", views.part_trace, name="part-trace"),
    path("service/estimates/<int:pk>/send/", views.estimate_send, name="estimate-send"),
    path("service/files/<int:pk>/", views.attachment_file, name="file"),
    path("service/customers/<int:pk>/", views.customer_history, name="customer-history"),
    path("service/board/", views.board, name="board"),
    path("service/my-jobs/", views.my_jobs, name="my-jobs"),
    path("service/pickups/", views.pickup_list, name="pickup-list"),
    path(
        "service/pickups/<int:pk>/<str:move>/",
        views.pickup_move,
        name="pickup-move",
    ),
    path("service/pickups/photos/<int:pk>/", views.pickup_photo, name="pickup-photo"),
    path("service/deferred/", views.deferred_list, name="deferred-list"),
    path("service/deferred/<int:pk>/dismiss/", views.deferred_dismiss, name="deferred-dismiss"),
]
