"""Admin for administrators: read-mostly views; statuses change only through the services."""

from django.contrib import admin

from aftersales.feedback.models import (
    Capa,
    CapaAction,
    Complaint,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyInstrument,
    SurveyItem,
    SurveyResponse,
)


class SurveyItemInline(admin.TabularInline):
    model = SurveyItem
    extra = 0


@admin.register(SurveyInstrument)
class SurveyInstrumentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_default")
    inlines = [SurveyItemInline]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "order", "channel", "overall", "recommend", "submitted_at")
    list_filter = ("channel", "store")
    readonly_fields = [f.name for f in SurveyResponse._meta.fields]


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "order", "due_at", "status", "attempts")
    list_filter = ("status", "store")
    readonly_fields = [f.name for f in FollowUp._meta.fields]


@admin.register(RecoveryTask)
class RecoveryTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "order", "advisor", "due_at", "status", "outcome")
    list_filter = ("status", "store")
    readonly_fields = [f.name for f in RecoveryTask._meta.fields]


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "category", "priority", "status", "received_at", "owner")
    list_filter = ("status", "category", "priority", "channel", "store")
    readonly_fields = [f.name for f in Complaint._meta.fields]


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "status", "received_at", "decision_due", "decision")
    list_filter = ("status", "store")
    readonly_fields = [f.name for f in Suggestion._meta.fields]


class CapaActionInline(admin.TabularInline):
    model = CapaAction
    extra = 0
    readonly_fields = ("done_at",)


@admin.register(Capa)
class CapaAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "title", "status", "complaint", "cluster_category", "cluster_month")
    list_filter = ("status", "store")
    readonly_fields = ("status", "closed_at")
    inlines = [CapaActionInline]
