from django.contrib import admin

from aftersales.core.audit import audit_record
from aftersales.organisation.models import (
    ApiToken,
    Bay,
    ClosedDay,
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


class ClosedDayInline(admin.TabularInline):
    model = ClosedDay
    extra = 0
    fields = ("date", "reason")


def _audit_closed_day(request, closed: ClosedDay, action: str) -> None:  # noqa: ANN001
    """Admin edits of closed days leave the same audit trail as `services.closed_day_add/remove`."""
    audit_record(
        actor=request.user,
        action=action,
        obj=closed,
        changes={"date": closed.date.isoformat(), "reason": closed.reason},
    )


@admin.register(DealerGroup)
class DealerGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group", "city", "rescue_capacity", "is_active")
    list_filter = ("group", "is_active")
    search_fields = ("code", "name", "city")
    inlines = [OpeningHoursInline, BayInline, ClosedDayInline]

    def save_formset(self, request, form, formset, change):  # noqa: ANN001, ANN201
        if formset.model is not ClosedDay:
            super().save_formset(request, form, formset, change)
            return
        # Audited before saving: a deleted row loses its id.  The admin wraps all of it in one transaction.
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                _audit_closed_day(request, deleted.instance, "closed_day.remove")
        super().save_formset(request, form, formset, change)
        for closed in formset.new_objects:
            _audit_closed_day(request, closed, "closed_day.add")
        for closed, _fields in formset.changed_objects:
            _audit_closed_day(request, closed, "closed_day.change")


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    list_display = ("date", "store", "reason")
    list_filter = ("store",)
    date_hierarchy = "date"
    search_fields = ("reason", "store__code", "store__name")

    def save_model(self, request, obj, form, change):  # noqa: ANN001, ANN201
        super().save_model(request, obj, form, change)
        _audit_closed_day(request, obj, "closed_day.change" if change else "closed_day.add")

    def delete_model(self, request, obj):  # noqa: ANN001, ANN201
        _audit_closed_day(request, obj, "closed_day.remove")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):  # noqa: ANN001, ANN201
        for closed in queryset:
            _audit_closed_day(request, closed, "closed_day.remove")
        super().delete_queryset(request, queryset)


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
