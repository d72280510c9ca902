"""Admin for administrators: the tier history, read-only (only `crm.services.tiers_compute` writes it)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from aftersales.crm.models import TierChange


@admin.register(TierChange)
class TierChangeAdmin(admin.ModelAdmin):
    list_display = ("customer", "from_tier", "to_tier", "rule", "r_days", "f", "m", "as_of", "priority_granted")
    list_filter = ("to_tier", "as_of")
    raw_id_fields = ("customer",)
    date_hierarchy = "as_of"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
