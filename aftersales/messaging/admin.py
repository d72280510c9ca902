from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from aftersales.messaging.models import DeliveryAttempt, InboundMessage, OutboxMessage


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


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Read-only: replies are written by `messaging.inbound` and handled by `campaigns.replies`; the sender's
    number stays encrypted here (its hash is no use to a reader either)."""

    list_display = ("id", "received_at", "gateway", "channel", "store", "customer", "intent", "outcome", "handled_at")
    list_filter = ("intent", "outcome", "channel", "gateway", "store")
    search_fields = ("gateway_message_id",)
    exclude = ("sender_encrypted", "sender_hash")
    list_select_related = ("store", "customer")
    raw_id_fields = ("customer", "in_reply_to")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
