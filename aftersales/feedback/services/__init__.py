"""Business actions of the voice of the customer, split by sub-domain and re-exported here."""

from aftersales.feedback.services.capa import (
    capa_action_add,
    capa_action_done,
    capa_action_due_sweep,
    capa_kpi_catalogue_register,
    capa_kpi_labels,
    capa_kpi_verify,
    capa_kpi_verify_url,
    capa_open,
    capa_procedure_draft,
    capa_transition,
    capa_update,
)
from aftersales.feedback.services.complaints import (
    complaint_acknowledge,
    complaint_close,
    complaint_contact,
    complaint_due_times,
    complaint_escalation_sweep,
    complaint_log,
    complaint_reopen,
    complaint_resolve,
    complaint_transfer,
)
from aftersales.feedback.services.followups import follow_up_attempt_record, follow_up_create, follow_up_sweep
from aftersales.feedback.services.links import order_from_survey_token, survey_link_token, survey_link_url
from aftersales.feedback.services.recovery import recovery_escalation_sweep, recovery_open_if_low, recovery_record
from aftersales.feedback.services.suggestions import (
    suggestion_decide,
    suggestion_decision_due,
    suggestion_escalation_sweep,
    suggestion_log,
    suggestion_tell_customer,
)
from aftersales.feedback.services.surveys import (
    survey_answers_clean,
    survey_consent_on_file,
    survey_instrument_default,
    survey_response_record,
)
from aftersales.feedback.services.sweeps import SweepResult, feedback_sweep

__all__ = [
    "SweepResult",
    "capa_action_add",
    "capa_action_done",
    "capa_action_due_sweep",
    "capa_kpi_catalogue_register",
    "capa_kpi_labels",
    "capa_kpi_verify",
    "capa_kpi_verify_url",
    "capa_open",
    "capa_procedure_draft",
    "capa_transition",
    "capa_update",
    "complaint_acknowledge",
    "complaint_close",
    "complaint_contact",
    "complaint_due_times",
    "complaint_escalation_sweep",
    "complaint_log",
    "complaint_reopen",
    "complaint_resolve",
    "complaint_transfer",
    "feedback_sweep",
    "follow_up_attempt_record",
    "follow_up_create",
    "follow_up_sweep",
    "order_from_survey_token",
    "recovery_escalation_sweep",
    "recovery_open_if_low",
    "recovery_record",
    "suggestion_decide",
    "suggestion_decision_due",
    "suggestion_escalation_sweep",
    "suggestion_log",
    "suggestion_tell_customer",
    "survey_answers_clean",
    "survey_consent_on_file",
    "survey_instrument_default",
    "survey_link_token",
    "survey_link_url",
    "survey_response_record",
]
