"""Django admin: subscriptions (the secret stays encrypted and is never shown), events and deliveries read only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from aftersales.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnly):
    """Read only here: subscriptions change through the API (audited, and a pause withdraws what waits)."""

    list_display = ("id", "name", "group", "store", "url", "is_active", "created_at", "created_by")
    list_filter = ("is_active", "group")
    search_fields = ("name", "endpoint__url")
    exclude = ("endpoint",)
    readonly_fields = ("url",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnly):
    list_display = ("event_id", "type", "store", "occurred_at", "fanned_out_at")
    list_filter = ("type",)
    search_fields = ("event_id", "source_id")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ("id", "event", "subscription", "message", "created_at")
    list_select_related = ("event", "subscription", "message")
