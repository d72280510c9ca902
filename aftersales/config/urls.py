from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import set_language

from aftersales.config import views
from aftersales.config.api import api


def _public(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """The API authenticates by bearer token itself, so the login-page redirect must not apply to it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _public(pattern.url_patterns)
        else:
            pattern.callback.login_required = False
    return patterns


api_patterns, api_app, api_namespace = api.urls
urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("store/switch/", views.store_switch, name="store-switch"),
    path("customers/", include("aftersales.customers.urls")),
    path("organisation/", include("aftersales.organisation.urls")),
    path("", include("aftersales.notifications.urls")),
    path("", include("aftersales.service.urls")),
    path("", include("aftersales.feedback.urls")),
    path("", include("aftersales.crm.urls")),
    path("", include("aftersales.reminders.urls")),
    path("", include("aftersales.campaigns.urls")),
    path("", include("aftersales.care.urls")),
    path("", include("aftersales.staff.urls")),
    path("", include("aftersales.audits.urls")),
    path("", include("aftersales.standards.urls")),
    path("", include("aftersales.parts.urls")),
    path("", include("aftersales.rescue.urls")),
    path("", include("aftersales.telematics.urls")),
    path("", include("aftersales.ehr.urls")),
    path("", include("aftersales.forecast.urls")),
    path("", include("aftersales.webhooks.urls")),
    path("", include("aftersales.privacy.urls")),
    path("numbers/", include("aftersales.analytics.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((_public(api_patterns), api_app), namespace=api_namespace)),
]

# Our 404 and 403 pages (aftersales/config/errors.py): inside the staff shell, or in the customer pages' look.
handler404 = "aftersales.config.errors.page_not_found"
handler403 = "aftersales.config.errors.permission_denied"
