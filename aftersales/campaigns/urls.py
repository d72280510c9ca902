from django.urls import path

from aftersales.campaigns import views

app_name = "campaigns"
urlpatterns = [
    # The customer's personal link in the message (no account): counts the opening, then the booking page.
    path("c/<str:token>", views.campaign_link, name="link"),
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("campaigns/preview/", views.campaign_preview, name="campaign-preview"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("campaigns/<int:pk>/move/<str:move>/", views.campaign_move, name="campaign-move"),
]
