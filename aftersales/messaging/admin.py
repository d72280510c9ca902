from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from aftersales.messaging.models import DeliveryAttempt, OutboxMessage


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "backend", "ok", "detail")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: messages are written by the outbox services; the recipient stays encrypted here."""

    list_display = ("id", "created_at", "store", "template", "purpose", "channel", "status", "attempts", "sent_at")
    list_filter = ("status", "purpose", "channel", "store")
    search_fields = ("template", "dedupe_key", "related_id")
    exclude = ("recipient_encrypted",)
    inlines = [DeliveryAttemptInline]
    list_select_related = ("store",)
    raw_id_fields = ("customer", "recipient_user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
