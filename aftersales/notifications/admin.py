from django.contrib import admin

from aftersales.notifications.models import InboxItem


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "store", "kind", "title_zh_hans", "read_at")
    list_filter = ("kind", "store")
    search_fields = ("title_zh_hans", "title_en", "related_id")
    readonly_fields = [f.name for f in InboxItem._meta.fields]

    def has_add_permission(self, request, obj=None):  # noqa: ANN001, ANN201 - admin signature
        return False
