"""The audit pages (issue 16): the list, the quarter's plan, the auditor's checklist on a phone, a submitted
audit with its findings, the findings of the stores and the checklists."""

from aftersales.audits.views import urlpatterns as urlpatterns

app_name = "audits"
