"""The data inventory (个人信息清单) required by PIPL: every personal field, why we hold it, on what legal
basis, how sensitive it is and how long we keep it.

`tests/test_inventory.py` walks every model that holds data about a customer and fails when a field is
neither listed here nor declared not personal, so no new personal field can go unlisted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CONTRACT = _("Performance of the service contract (PIPL art. 13(2))")
CONSENT = _("Consent (PIPL art. 13(1))")
LEGAL_DUTY = _("Legal obligation (PIPL art. 13(3)), e.g. invoices and recalls")

GENERAL = _("personal")
SENSITIVE = _("sensitive personal (PIPL art. 28)")

RECORD_RETENTION = _("the store's record retention setting (default 3 years) after the last visit")


@dataclass(frozen=True)
class PersonalField:
    model: str  # app_label.ModelName
    field: str
    purpose: Promise
    legal_basis: Promise
    sensitivity: Promise
    retention: Promise
    encrypted: bool = False


INVENTORY: tuple[PersonalField, ...] = (
    PersonalField(
        "customers.Customer",
        "name",
        _("Address the customer, identify the vehicle's owner"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Customer", "gender", _("Address the customer politely"), CONTRACT, GENERAL, RECORD_RETENTION
    ),
    PersonalField(
        "customers.Customer",
        "birthday",
        _("Birthday greetings (with marketing consent)"),
        CONSENT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Customer",
        "phone_encrypted",
        _("Booking confirmations, progress, follow-up"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
        encrypted=True,
    ),
    PersonalField(
        "customers.Customer",
        "phone_hash",
        _("Find a customer by full mobile number"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Customer",
        "phone_last4_hash",
        _("Find a customer by the mobile's last four digits"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Customer",
        "id_number_encrypted",
        _("Warranty claims, insurance and vehicle registration matters"),
        LEGAL_DUTY,
        SENSITIVE,
        RECORD_RETENTION,
        encrypted=True,
    ),
    PersonalField(
        "customers.Customer",
        "id_number_hash",
        _("Find and de-duplicate customers by ID number"),
        LEGAL_DUTY,
        SENSITIVE,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Customer",
        "address_encrypted",
        _("Pick-up and drop-off, documents by post"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
        encrypted=True,
    ),
    *(
        PersonalField(
            "customers.Customer",
            field,
            _("Care suited to the customer's visits: the RFM tier and the values behind it (SPEC §5)"),
            CONTRACT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("tier", "tier_rule", "tier_recency_days", "tier_frequency", "tier_monetary", "tier_as_of")
    ),
    PersonalField(
        "customers.Customer",
        "referred_by_customer",
        _("Thank the customer who recommended us; count referrals"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Vehicle",
        "insurance_expires_on",
        _("Remind the owner before the insurance expires"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Vehicle",
        "inspection_due_on",
        _("Remind the owner of the annual inspection"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Vehicle", "vin", _("Identify the vehicle, parts and recalls"), CONTRACT, GENERAL, RECORD_RETENTION
    ),
    PersonalField(
        "customers.Vehicle", "plate", _("Identify the vehicle at the store"), CONTRACT, GENERAL, RECORD_RETENTION
    ),
    PersonalField(
        "customers.Vehicle",
        "purchase_date",
        _("Warranty and first-maintenance dates"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Vehicle",
        "purchase_price",
        _("Warranty and insurance valuation"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Vehicle", "mileage_km", _("Maintenance due by distance"), CONTRACT, GENERAL, RECORD_RETENTION
    ),
    PersonalField(
        "customers.Vehicle",
        "mileage_recorded_on",
        _("Maintenance due by distance"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "customers.Consent",
        "granted",
        _("Proof of the customer's choice"),
        LEGAL_DUTY,
        GENERAL,
        _("as long as the customer record, then 3 years"),
    ),
    PersonalField(
        "customers.ConsentEvent",
        "granted",
        _("Proof of the customer's choice over time"),
        LEGAL_DUTY,
        GENERAL,
        _("as long as the customer record, then 3 years"),
    ),
    PersonalField(
        "messaging.OutboxMessage",
        "recipient_encrypted",
        _("Deliver booking, repair and (with consent) care messages to the customer's mobile"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
        encrypted=True,
    ),
    PersonalField(
        "messaging.OutboxMessage",
        "body",
        _("Proof of what was sent to the customer (the text may contain the name and plate)"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "messaging.InboundMessage",
        "sender_encrypted",
        _("Answer the customer's reply to one of our messages (stop, book, later) on the same number"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
        encrypted=True,
    ),
    PersonalField(
        "messaging.InboundMessage",
        "sender_hash",
        _("Match a reply to the customer by mobile number"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "messaging.InboundMessage",
        "text",
        _("What the customer wrote back (an opt-out is proof of the withdrawal)"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "campaigns.CampaignMember",
        "opened_at",
        _("Measure a care campaign: when the customer opened the booking link of its message"),
        CONSENT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "campaigns.CampaignMember",
        "skipped_reason",
        _("Proof that a customer without marketing consent, or over the frequency cap, was not written to"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.Appointment",
        "customer_words",
        _("Prepare the visit: what the customer says is wrong"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.Appointment",
        "pickup_address_encrypted",
        _("Pick up and drop off the car at the customer's address"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
        encrypted=True,
    ),
    PersonalField(
        "service.Appointment",
        "pickup_from",
        _("Pick-up window agreed with the customer"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.Appointment",
        "pickup_to",
        _("Pick-up window agreed with the customer"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.Appointment",
        "cancel_reason",
        _("Why the customer cancelled (may quote the customer)"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.RepairOrder",
        "customer_words",
        _("The complaint in the customer's own words, to diagnose and to show back"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.RepairOrder",
        "mileage_in",
        _("Odometer at arrival: maintenance due, warranty, proof of the car's state"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.RepairOrder",
        "damage_marks",
        _("Exterior damage at arrival, agreed with the customer"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.RepairOrder",
        "rating",
        _("The customer's rating of the visit at delivery"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "service.DeferredWork",
        "reason",
        _("Why the customer declined the work (may quote the customer)"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.SurveyResponse",
        "overall",
        _("Satisfaction follow-up and service recovery"),
        CONSENT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.SurveyResponse",
        "recommend",
        _("Satisfaction follow-up (NPS)"),
        CONSENT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.Complaint",
        "description",
        _("Handle the customer's complaint"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.Complaint",
        "resolution",
        _("Handle the customer's complaint"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.Complaint",
        "satisfaction_with_handling",
        _("Measure complaint handling"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.Suggestion",
        "description",
        _("Answer the customer's suggestion"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    PersonalField(
        "feedback.Suggestion",
        "decision_note",
        _("Answer the customer's suggestion"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    # The sentence of a customer's comment that raises an issue (analytics' frequent issues): free text that may
    # name people; digit runs of 7+ (phones, ID numbers) are masked before it is stored.
    PersonalField(
        "analytics.CommentIssue",
        "quote",
        _("Show managers what customers say about a frequent issue (SPEC §8)"),
        CONTRACT,
        GENERAL,
        RECORD_RETENTION,
    ),
    *(
        PersonalField(
            "crm.TierChange",
            field,
            _("History of the customer's RFM tier: when and why it changed (SPEC §5)"),
            CONTRACT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("from_tier", "to_tier", "rule", "r_days", "f", "m", "as_of", "priority_granted")
    ),
    # Roadside rescue: where the car stands is sensitive; precise only until the retention job rounds it.
    *(
        PersonalField(
            "rescue.RescueRequest",
            field,
            _("Send a rescue crew to where the customer's car has stopped"),
            CONSENT,
            SENSITIVE,
            _(
                "precise for the store's location retention setting (default 30 days) after a closed request, then "
                "rounded to about 1 km (the described place is dropped)"
            ),
        )
        for field in ("latitude", "longitude", "address")
    ),
    *(
        PersonalField(
            "rescue.RescueRequest",
            field,
            _("Proof of the customer's consent to the use of their location for a rescue"),
            CONSENT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("location_consent_at", "location_consent_channel")
    ),
    *(
        PersonalField(
            "rescue.RescueRequest",
            field,
            _("Identify the car to rescue and what happened to it"),
            CONTRACT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("plate", "vin", "fault", "reason")
    ),
    # Connected-car data (SPEC §10: separate consent for vehicle data; precise locations are sensitive).
    *(
        PersonalField(
            "telematics.VehicleEvent",
            field,
            _("Find where a car with a level-3 alarm stands, to send a rescue crew"),
            CONSENT,
            SENSITIVE,
            _("precise for the location retention setting (default 30 days), then rounded to about 1 km"),
        )
        for field in ("latitude", "longitude")
    ),
    *(
        PersonalField(
            "telematics.VehicleEvent",
            field,
            _("Warn the owner of a fault the car reports (battery, insulation, fault codes) and propose a visit"),
            CONSENT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in (
            "occurred_at",
            "odometer_km",
            "soc_pct",
            "total_voltage_v",
            "total_current_a",
            "insulation_resistance_kohm",
            "max_cell_voltage_v",
            "min_cell_voltage_v",
            "max_cell_temperature_c",
            "min_cell_temperature_c",
            "alarm_level",
            "alarm_flags",
            "dtcs",
        )
    ),
    *(
        PersonalField(
            "telematics.OdometerDay",
            field,
            _("Project the mileage for maintenance reminders from the car's own odometer"),
            CONSENT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("day", "km")
    ),
    *(
        PersonalField(
            "telematics.VehicleAlert",
            field,
            _("What the car reported that raised an alert for the store"),
            CONSENT,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("reported", "message")
    ),
    # The first answer to an API POST sent with an Idempotency-Key (core/idempotency.py), replayed to a retry: it
    # may hold what the answer showed (a new customer's name, the masked mobile).  Kept 24 hours, then purged.
    PersonalField(
        "core.IdempotencyRecord",
        "response_body",
        _("Answer a retried API request with its first result instead of acting twice"),
        CONTRACT,
        GENERAL,
        _("24 hours"),
    ),
    # A customer's rights request (PIPL arts. 44-47): what they asked, how their identity was checked, what they
    # were told.  Kept as the proof that the request was answered, also after an erasure (the customer row is then
    # anonymised and these texts are redacted of their personal values).
    *(
        PersonalField(
            "privacy.RightsRequest",
            field,
            _("Answer the customer's request about their personal data and prove that it was answered"),
            LEGAL_DUTY,
            GENERAL,
            RECORD_RETENTION,
        )
        for field in ("details", "identity_note", "answer", "refusal_reason")
    ),
)

# Fields on customer-related models that say nothing about the person (keys, bookkeeping, vehicle specs).
NOT_PERSONAL: dict[str, frozenset[str]] = {
    # Keys and bookkeeping of the connected-car records (the readings themselves are listed above).
    "telematics.VehicleEvent": frozenset(
        {"id", "source", "event_id", "vehicle", "received_at", "intake", "location_coarsened", "evaluated_at"}
    ),
    "telematics.OdometerDay": frozenset({"id", "vehicle"}),
    "telematics.VehicleAlert": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "vehicle",
            "rule",
            "kind",
            "action",
            "first_event",
            "opened_at",
            "last_event_at",
            "events_count",
            "cleared_at",
            "rescue_request",
        }
    ),
    "rescue.RescueRequest": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "group",
            "store",
            "source",
            "customer",
            "vehicle",
            "location_coarsened_at",
            "road_type",
            "status",
            "distance_km",
            "match_due_at",
            "respond_by",
            "matched_at",
            "dispatched_at",
            "on_site_at",
            "completed_at",
            "cancelled_at",
            "handed_off_at",
            "crew",
            "crew_lead",
            "created_by",
            "link_nonce",
        }
    ),
    # Which issue a comment raised, where and when: the quote (above) is the only text kept.
    "analytics.CommentIssue": frozenset(
        {
            "id",
            "store",
            "customer",
            "advisor",
            "source_kind",
            "source_id",
            "record_id",
            "written_at",
            "month",
            "issue",
            "term",
        }
    ),
    "crm.TierChange": frozenset({"id", "created_at", "updated_at", "customer"}),
    # Campaigns: who was drawn into which arm, the message queued and the link's random token (no personal data).
    "campaigns.CampaignMember": frozenset(
        {"id", "created_at", "updated_at", "campaign", "customer", "arm", "message", "handled_at", "link_token"}
    ),
    # Reminders app: which due item of a vehicle or customer was reminded when (the texts are in the outbox).
    "reminders.Reminder": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "customer",
            "vehicle",
            "kind",
            "due_key",
            "due_on",
            "remind_on",
            "due_km",
            "state",
            "snoozed_until",
            "send_count",
            "sent_at",
            "message",
            "note",
        }
    ),
    # Care app: which care action (message or staff task) went to a customer when, and their dedicated advisor.
    "care.CareAction": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "customer",
            "vehicle",
            "tier",
            "kind",
            "episode",
            "rule",
            "message",
            "inbox_item",
            "assignee",
            "done_at",
        }
    ),
    "care.CareAdvisor": frozenset({"id", "created_at", "updated_at", "customer", "store", "advisor", "assigned_at"}),
    "feedback.SurveyResponse": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "order",
            "customer",
            "instrument",
            "channel",
            "submitted_at",
            "recorded_by",
        }
    ),
    "feedback.Complaint": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "customer",
            "order",
            "channel",
            "category",
            "priority",
            "status",
            "received_at",
            "logged_at",
            "logged_by",
            "owner",
            "acknowledge_due",
            "contact_due",
            "resolve_due",
            "acknowledged_at",
            "contacted_at",
            "resolved_at",
            "customer_confirmed_at",
            "closed_at",
            "reopened_count",
            "breach_count",
            "external_source",
            "external_ref",
        }
    ),
    "feedback.Suggestion": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "customer",
            "channel",
            "status",
            "received_at",
            "logged_at",
            "logged_by",
            "decision_due",
            "decision",
            "decided_at",
            "decided_by",
            "customer_told_at",
            "escalated_at",
            "external_source",
            "external_ref",
        }
    ),
    # external_source / external_ref: the record's id in an integrator's system (a ticket number), not the person's.
    "customers.Customer": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "group",
            "store",
            "is_priority",
            "referred_by_staff",
            "external_source",
            "external_ref",
        }
    ),
    "customers.CustomerStoreLink": frozenset(
        {"id", "created_at", "updated_at", "customer", "store", "reason", "linked_by"}
    ),
    "customers.Vehicle": frozenset(
        {"id", "created_at", "updated_at", "group", "store", "customer", "brand", "model_name", "powertrain"}
    ),
    "customers.Consent": frozenset(
        {"id", "created_at", "updated_at", "customer", "purpose", "notice_version", "channel", "decided_at"}
    ),
    "customers.ConsentEvent": frozenset(
        {"id", "customer", "purpose", "notice_version", "channel", "at", "recorded_by"}
    ),
    "messaging.OutboxMessage": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "customer",
            "recipient_user",
            "channel",
            "purpose",
            "template",
            "language",
            "subject",
            "status",
            "suppressed_reason",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
            "dedupe_key",
            "related_type",
            "related_id",
            "endpoint",  # an integrator's webhook URL (no customer's data)
        }
    ),
    "messaging.InboundMessage": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "gateway",
            "gateway_message_id",
            "channel",
            "received_at",
            "customer",
            "in_reply_to",
            "intent",
            "handled_at",
            "outcome",
        }
    ),
    "service.Appointment": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "slot",
            "customer",
            "vehicle",
            "service_type",
            "channel",
            "advisor",
            "status",
            "pickup",
            "driver",
            "pickup_status",
            "collected_at",
            "delivered_back_at",
            "created_by",
            "cancelled_at",
        }
    ),
    "service.RepairOrder": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "number",
            "customer",
            "vehicle",
            "appointment",
            "service_type",
            "status",
            "advisor",
            "technician",
            "bay",
            "walk_in",
            "priority",
            "arrived_at",
            "reception_started_at",
            "waits_on_site",
            "concern_category",
            "comeback_of",
            "comeback_confirmed_at",
            "comeback_confirmed_by",
            "fuel_level",
            "valuables_reminded",
            "inspection_done_at",
            "bay_assigned_at",
            "work_started_at",
            "ready_at",
            "delivered_at",
            "waiting_parts_reason",
            "qc_failures",
            "efficiency_warned_at",
            "delivery_explanation",
            "delivered_with_pending_batches",
            "next_service_date",
            "next_service_km",
            "billed_total",
            "link_nonce",
            # The staff's ticks of the reception and delivery SOP items and the SOP versions (standards app).
            "reception_checklist",
            "reception_procedure_version",
            "delivery_checklist",
            "delivery_procedure_version",
        }
    ),
    "privacy.RightsRequest": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "customer",
            "number",
            "kind",
            "scope",
            "channel",
            "status",
            "received_at",
            "due_at",
            "logged_by",
            "owner",
            "identity_method",
            "identity_checked_by",
            "identity_checked_at",
            "answered_by",
            "answered_at",
            "escalated_store_at",
            "escalated_group_at",
            "escalation_level",
        }
    ),
    "service.DeferredWork": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "store",
            "vehicle",
            "source_line",
            "description",
            "amount",
            "suggested_date",
            "status",
            "resolved_order",
        }
    ),
}


def inventory_by_model() -> dict[str, dict[str, PersonalField]]:
    result: dict[str, dict[str, PersonalField]] = {}
    for item in INVENTORY:
        result.setdefault(item.model, {})[item.field] = item
    return result


# How pages and the API show the fields that identify a person or a car: in full only to a role holding the
# capability named (by its code); None means never in full on a page or in the API (the masked form is shown and
# a role allowed to reveal unmasks one value at a time through the audited reveal).  The masking parity test
# walks this map × every role over every page and API read, so a new identifying field must be declared here.
SHOWN_IN_FULL_WITH: dict[tuple[str, str], str | None] = {
    # The pick-up driver calls the customer and drives to the address: both in full on their own jobs (`drive`).
    ("customers.Customer", "phone_encrypted"): "drive",
    ("customers.Customer", "id_number_encrypted"): None,
    ("customers.Customer", "address_encrypted"): None,
    ("customers.Vehicle", "plate"): "see_plates",
    ("service.Appointment", "pickup_address_encrypted"): "drive",
}
