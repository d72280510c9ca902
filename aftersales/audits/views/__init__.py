"""The audit pages (issue 16), one module per page family; the URL table is assembled here."""

from __future__ import annotations

from django.urls import URLPattern, path

from aftersales.audits.views import checklists, fill, lists, plan

urlpatterns: list[URLPattern] = [
    path("audits/", lists.audit_list, name="list"),
    path("audits/findings/", lists.finding_list, name="findings"),
    path("audits/findings/capa/", lists.findings_capa, name="findings-capa"),
    path("audits/findings/<int:pk>/", lists.finding_detail, name="finding-detail"),
    path("audits/findings/<int:pk>/close/", lists.finding_close, name="finding-close"),
    path("audits/plan/", plan.plan_current, name="plan-current"),
    path("audits/plan/<int:year>/<int:quarter>/", plan.audit_plan, name="plan"),
    path("audits/checklists/", checklists.checklist_list, name="checklists"),
    path("audits/checklists/new/", checklists.checklist_edit, name="checklist-new"),
    path("audits/checklists/defaults/", checklists.checklists_defaults, name="checklists-defaults"),
    path("audits/checklists/<int:pk>/", checklists.checklist_edit, name="checklist-edit"),
    path("audits/photos/<int:pk>/", lists.audit_photo, name="photo"),
    path("audits/<int:pk>/", lists.audit_detail, name="audit-detail"),
    path("audits/<int:pk>/fill/", fill.audit_fill, name="fill"),
    path("audits/<int:pk>/start/", fill.audit_start, name="start"),
    path("audits/<int:pk>/items/<int:item>/", fill.audit_answer, name="answer"),
    path("audits/<int:pk>/submit/", fill.audit_submit, name="submit"),
    path("audits/<int:pk>/cancel/", fill.audit_cancel, name="cancel"),
]
