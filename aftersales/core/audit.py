"""Writing the audit trail.  Services call `audit_record` inside their transaction; the audit page reads the
action through `ACTION_LABELS` and the changed fields through `field_label` (the model's verbose_name)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import AuditEntry


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    store_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        if store_id is None:
            store_id = getattr(obj, "store_id", None)
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        store_id=store_id,
        changes=changes or {},
    )


# Every action a service records, in words.  A new `audit_record(action=...)` adds its line here
# (aftersales/core/tests/test_audit_labels.py fails on an action of the source missing from this table).
ACTION_LABELS: dict[str, Any] = {
    "api_token.issue": _("API token issued"),
    "audit.answer": _("Audit item answered"),
    "audit.assign": _("Auditor assigned"),
    "audit.export": _("Audit trail exported"),
    "audit.cancel": _("Audit cancelled"),
    "audit.plan": _("Audit planned"),
    "audit.start": _("Audit started"),
    "audit.submit": _("Audit submitted"),
    "audit_checklist.save": _("Audit checklist saved"),
    "audit_finding.close": _("Audit finding closed"),
    "audit_finding.open_capa": _("CAPA opened from audit findings"),
    "audit_plan.create": _("Quarter's audit plan made"),
    "audit_sample.draw": _("Spot-check sample drawn"),
    "appointment.book": _("Appointment booked"),
    "appointment.no_show": _("Booking marked as a no-show"),
    "appointment.cancel": _("Appointment cancelled"),
    "appointment.driver": _("Driver assigned"),
    "appointment.pickup_arrive": _("Picked-up car checked in at the store"),
    "appointment.pickup_collect": _("Car collected by the driver"),
    "appointment.pickup_deliver_back": _("Car delivered back to the customer"),
    "appointment.pickup_list": _("Pick-up list shown with addresses and phones"),
    "appointment.reschedule": _("Appointment rescheduled"),
    "capa.action_add": _("CAPA action added"),
    "capa.action_done": _("CAPA action done"),
    "capa.kpi_verify": _("CAPA verified from the KPI catalogue"),
    "capa.open": _("CAPA opened"),
    "capa.transition": _("CAPA status changed"),
    "capa.update": _("CAPA updated"),
    "care_advisor.assign": _("Dedicated advisor assigned"),
    "care_playbook.save": _("Care playbook saved"),
    "care_suggestion_rule.delete": _("Service suggestion rule deleted"),
    "care_suggestion_rule.save": _("Service suggestion rule saved"),
    "closed_day.add": _("Closed day added"),
    "closed_day.remove": _("Closed day removed"),
    "calendar.import": _("Official calendar year entered"),
    "campaign.create": _("Campaign created"),
    "campaign.transition": _("Campaign status changed"),
    "campaign.update": _("Campaign edited"),
    "complaint.escalate": _("Complaint escalated"),
    "complaint.log": _("Complaint logged"),
    "complaint.transfer": _("Complaint transferred"),
    "complaint.transition": _("Complaint status changed"),
    "consent.grant": _("Consent given"),
    "ehr_endpoint.save": _("E-health record endpoint saved"),
    "ehr_submission.resend": _("E-health record queued again"),
    "evaluation.matrix_saved": _("Pairwise comparisons saved (evaluation model)"),
    "evaluation.model_created": _("Evaluation model created"),
    "evaluation.node_added": _("Evaluation criterion or indicator added"),
    "evaluation.node_removed": _("Evaluation criterion or indicator removed"),
    "consent.withdraw": _("Consent withdrawn"),
    "customer.create": _("Customer registered"),
    "customer.reveal": _("Personal data shown in full"),
    "customer.export": _("Customer's data exported (rights request)"),
    "customer.erase": _("Customer's personal data erased"),
    "customer.link_store": _("Customer linked to a store of the group"),
    "customer.merge": _("Duplicate customer files merged"),
    "vehicle.merge": _("Duplicate vehicle files merged"),
    "customer.update": _("Customer changed"),
    "deferred_work.dismissed": _("Deferred work dismissed"),
    "deferred_work.done": _("Deferred work done"),
    "estimate_line.clock_finish": _("Job clock finished"),
    "estimate_line.clock_pause": _("Job clock paused"),
    "estimate_line.clock_start": _("Job clock started"),
    "estimate.line_add": _("Estimate line added"),
    "estimate.line_approved": _("Estimate line approved"),
    "estimate.line_declined": _("Estimate line declined"),
    "estimate.line_remove": _("Estimate line removed"),
    "estimate.part_issue": _("Parts issued to an order line"),
    "estimate.part_return": _("Parts returned from an order line"),
    "estimate.part_trace": _("Part traceability recorded"),
    "estimate.removed_part": _("Removed part's disposition recorded"),
    "estimate.send": _("Estimate sent to the customer"),
    "follow_up.attempt": _("Follow-up call recorded"),
    "follow_up.create": _("Follow-up scheduled"),
    "inbound_message.handle": _("Customer's reply handled"),
    "recovery.escalate": _("Service recovery escalated"),
    "recovery.open": _("Service recovery opened"),
    "recovery.record": _("Service recovery outcome recorded"),
    "report.download": _("KPI report downloaded"),
    "repair_order.assign": _("Technician and bay assigned"),
    "repair_order.comeback_clear": _("Comeback link cleared"),
    "repair_order.comeback_confirm": _("Comeback confirmed"),
    "repair_order.facts": _("Reception facts recorded"),
    "repair_order.receive": _("Reception started"),
    "repair_order.attachment": _("File added to the repair order"),
    "repair_order.inspection": _("Walk-around inspection recorded"),
    "repair_order.open": _("Repair order opened"),
    "repair_order.transition": _("Repair order status changed"),
    "reminder.snooze": _("Reminder snoozed"),
    "rescue.base_save": _("Rescue base saved"),
    "rescue.dispatch": _("Rescue crew dispatched"),
    "rescue.location_coarsen": _("Rescue location coarsened"),
    "rescue.locate": _("Rescue location corrected"),
    "rescue.match": _("Rescue request matched to a store"),
    "rescue.request": _("Rescue requested"),
    "rescue.transition": _("Rescue status changed"),
    "retention.dry_run": _("Retention dry run made"),
    "retention.purge": _("Retention purge carried out"),
    "rights_request.answer": _("Rights request answered"),
    "rights_request.assign": _("Rights request given to an owner"),
    "rights_request.escalate": _("Rights request escalated"),
    "rights_request.log": _("Rights request logged"),
    "rights_request.refuse": _("Rights request refused"),
    "rights_request.verify_identity": _("Customer's identity checked for a rights request"),
    "rights_request.withdraw": _("Rights request withdrawn by the customer"),
    "settings.update": _("Settings changed"),
    "service_interval.delete": _("Service interval rule deleted"),
    "service_interval.save": _("Service interval rule saved"),
    "store.wecom_robot": _("WeCom group robot changed"),
    "suggestion.escalate": _("Suggestion escalated"),
    "suggestion.log": _("Suggestion logged"),
    "suggestion.transition": _("Suggestion status changed"),
    "parts.part_save": _("Catalogue part saved"),
    "parts.receive": _("Goods received"),
    "parts.safety_stock": _("Safety stock changed"),
    "parts.stocktake": _("Stocktake adjustment"),
    "survey.record": _("Survey recorded"),
    "staff.grade_record": _("Technician grade recorded"),
    "staff.certificate_record": _("Technician certificate recorded"),
    "staff.training_record": _("Training recorded"),
    "tiers.recompute": _("Customer tiers recomputed"),
    "webhook_subscription.create": _("Webhook subscription created"),
    "webhook_subscription.update": _("Webhook subscription changed"),
    "webhook_subscription.delete": _("Webhook subscription deleted"),
    "webhook_subscription.test": _("Webhook test event sent"),
    "vehicle.create": _("Vehicle added"),
    "vehicle.update": _("Vehicle changed"),
    "vehicle_alert_rule.delete": _("Connected-car rule deleted"),
    "vehicle_alert_rule.save": _("Connected-car rule saved"),
    "scorecard.compute": _("Advisor scorecards computed"),
    "scorecard.review": _("Advisor scorecard reviewed"),
    "procedure.create": _("SOP opened (group default or store variant)"),
    "procedure.install_defaults": _("Built-in SOPs installed"),
    "procedure_version.acknowledge": _("SOP version acknowledged"),
    "procedure_version.draft": _("SOP version drafted"),
    "procedure_version.edit": _("SOP draft changed"),
    "procedure_version.publish": _("SOP version approved and published"),
}

# Keys that services record which are not a field of the audited model.
EXTRA_FIELD_LABELS: dict[str, Any] = {
    "action": _("action"),
    "attachment": _("file"),
    "attempt": _("attempt"),
    "batch": _("batch"),
    "changed": _("tiers changed"),
    "customers": _("customers"),
    "day": _("day"),
    "clock": _("clock"),
    "due": _("due"),
    "estimate": _("estimate"),
    "filters": _("filters"),
    "format": _("file format"),
    "record": _("record"),
    "field": _("field"),
    "in_time": _("in time"),
    "level": _("escalated to"),
    "line": _("estimate line"),
    "marks": _("damage marks"),
    "note": _("note"),
    "order": _("repair order"),
    "prefix": _("token prefix"),
    "purpose": _("purpose"),
    "reason": _("reason"),
    "shown_in_full": _("shown in full"),
    "type": _("content type"),
    "warnings": _("warnings"),
    "whole_group": _("whole group"),
}


def action_label(action: str) -> str:
    """The action in the reader's language; an action missing from the table shows as recorded."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def audited_model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def field_label(object_type: str, key: str) -> str:
    """A changed field's name in the reader's language: the audited model's verbose_name, then the table of the
    other recorded keys, else the key as recorded."""
    model = audited_model(object_type)
    if model is not None:
        try:
            verbose = getattr(model._meta.get_field(key), "verbose_name", None)
        except FieldDoesNotExist:
            verbose = None
        if verbose:
            return str(verbose)
    label = EXTRA_FIELD_LABELS.get(key)
    return str(label) if label is not None else key
