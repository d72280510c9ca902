"""Admin for administrators: the concern categories are configurable here (a group's own next to the built-ins)."""

from django.contrib import admin

from aftersales.service.models import ConcernCategory


@admin.register(ConcernCategory)
class ConcernCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh_hans", "name_en", "group", "position", "active")
    list_filter = ("group", "active")
    search_fields = ("code", "name_zh_hans", "name_en")
    ordering = ("group", "position", "code")
