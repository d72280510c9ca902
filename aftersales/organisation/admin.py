from django.contrib import admin

from aftersales.organisation.models import (
    ApiToken,
    Bay,
    DealerGroup,
    Membership,
    OpeningHours,
    SettingChange,
    StaffProfile,
    Store,
)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class BayInline(admin.TabularInline):
    model = Bay
    extra = 0


@admin.register(DealerGroup)
class DealerGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group", "city", "rescue_capacity", "is_active")
    list_filter = ("group", "is_active")
    search_fields = ("code", "name", "city")
    inlines = [OpeningHoursInline, BayInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "group", "store")
    list_filter = ("role", "group", "store")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "display_name", "technician_grade")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("digest", "prefix", "last_used_at")


@admin.register(SettingChange)
class SettingChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "key", "group", "store", "old_value", "new_value", "changed_by")
    list_filter = ("group", "store")

    def has_add_permission(self, request):  # noqa: ANN001, ANN201 - the history is written by services only
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False
