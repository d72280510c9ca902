"""Every number of SPEC.md as a named setting with its default, unit and allowed range.

Values are stored per dealer group, with per-store overrides (`SettingValue`); this module is the
single list of what exists.  Adding a number to the product means adding a line here, never a constant
in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Setting:
    key: str
    section: str
    label: Promise
    default: int | Decimal
    unit: Promise
    minimum: int | Decimal = 0
    maximum: int | Decimal | None = None
    decimal: bool = False
    help: Promise | str = ""


@dataclass(frozen=True)
class SumRule:
    """A set of settings that must add up to `total` (e.g. weights summing to 100 %)."""

    keys: tuple[str, ...]
    total: int
    message: Promise


@dataclass(frozen=True)
class Section:
    key: str
    label: Promise
    settings: list[Setting] = field(default_factory=list)


MIN = _("minutes")
HOURS = _("hours")
DAYS = _("days")
MONTHS = _("months")
PCT = _("%")
POINTS = _("points")
CNY = _("CNY")
COUNT = _("times")
KM = _("km")
SCORE = _("score 0–10")
YEARS = _("years")

SECTIONS: dict[str, Promise] = {
    "process": _("Service process"),
    "feedback": _("Follow-up and surveys"),
    "complaints": _("Complaints and suggestions"),
    "tiers": _("Customer tiers (RFM)"),
    "care": _("Care actions and reminders"),
    "targets": _("KPI targets"),
    "scorecard": _("Advisor scorecard weights"),
    "evaluation": _("Evaluation models"),
    "operations": _("Operations"),
    "privacy": _("Privacy and records"),
}

SETTINGS: list[Setting] = [
    # §3 service process
    Setting("walk_in_to_bay_minutes", "process", _("Walk-in: arrival to bay assignment"), 10, MIN, 1, 240),
    Setting(
        "inspection_shown_minutes", "process", _("Initial inspection shown to the customer within"), 30, MIN, 1, 240
    ),
    Setting(
        "efficiency_warning_percent",
        "process",
        _("Efficiency warning when work exceeds standard time by"),
        10,
        PCT,
        0,
        500,
    ),
    Setting("on_time_start_minutes", "process", _("Booked work counts as started on time within"), 15, MIN, 0, 240),
    Setting(
        "comeback_window_days",
        "process",
        _("A return for the same complaint counts as a comeback within"),
        30,
        DAYS,
        1,
        365,
    ),
    Setting("slot_minutes", "process", _("Length of a booking slot"), 60, MIN, 15, 240),
    Setting("bookings_per_advisor_per_slot", "process", _("Cars one advisor can receive in a slot"), 2, COUNT, 1, 20),
    Setting("booking_horizon_days", "process", _("Bookings possible up to"), 30, DAYS, 1, 365),
    Setting("booking_lead_minutes", "process", _("Bookings close before the slot starts"), 30, MIN, 0, 1440),
    Setting(
        "no_show_grace_minutes",
        "process",
        _("A booking not checked in counts as a no-show after its start plus"),
        30,
        MIN,
        0,
        1440,
    ),
    Setting("customer_link_days", "process", _("A customer's link stays valid for"), 30, DAYS, 1, 365),
    Setting("deferred_work_days", "process", _("Declined work is suggested again after"), 30, DAYS, 1, 365),
    Setting("default_hourly_rate", "process", _("Default labour rate"), 300, CNY, 0, 10000),
    Setting(
        "qc_not_by_worker",
        "process",
        _("Quality check: whoever did the work may not pass it (1 on, 0 off)"),
        1,
        _("on/off"),
        0,
        1,
    ),
    Setting("max_photo_mb", "process", _("Largest photo upload"), 10, _("MB"), 1, 50),
    Setting("max_video_mb", "process", _("Largest video upload"), 50, _("MB"), 1, 500),
    Setting("duration_maintenance_minutes", "process", _("Usual duration: maintenance"), 90, MIN, 10, 10080),
    Setting("duration_repair_minutes", "process", _("Usual duration: repair"), 240, MIN, 10, 10080),
    Setting("duration_inspection_minutes", "process", _("Usual duration: inspection"), 60, MIN, 10, 10080),
    Setting("duration_warranty_minutes", "process", _("Usual duration: warranty"), 180, MIN, 10, 10080),
    Setting("duration_bodywork_minutes", "process", _("Usual duration: bodywork and paint"), 1440, MIN, 10, 20160),
    Setting("duration_nev_check_minutes", "process", _("Usual duration: NEV check"), 90, MIN, 10, 10080),
    Setting(
        "ready_estimate_finishing_minutes",
        "process",
        _("Ready-time estimate: quality check and wash"),
        30,
        MIN,
        0,
        480,
        help=_("Added after the work when the customer's page estimates when the car is ready."),
    ),
    # §3.7 and §4 follow-up
    Setting("follow_up_due_hours", "feedback", _("Follow-up due after delivery"), 24, HOURS, 1, 720),
    Setting("follow_up_max_attempts", "feedback", _("Follow-up call attempts"), 3, COUNT, 1, 10),
    Setting(
        "low_score_threshold", "feedback", _("An overall score below this opens service recovery"), 8, SCORE, 1, 10
    ),
    Setting("recovery_due_minutes", "feedback", _("Service recovery due within"), 60, MIN, 1, 10080),
    Setting("csat_satisfied_from", "feedback", _("Overall score counted as satisfied from"), 8, SCORE, 0, 10),
    Setting("nps_promoter_from", "feedback", _("Recommend score counted as promoter from"), 9, SCORE, 0, 10),
    Setting("nps_detractor_to", "feedback", _("Recommend score counted as detractor up to"), 6, SCORE, 0, 10),
    # §4 complaints
    Setting("complaint_acknowledge_hours", "complaints", _("Complaint: acknowledge within"), 2, HOURS, 1, 720),
    Setting("complaint_contact_hours", "complaints", _("Complaint: contact the customer within"), 24, HOURS, 1, 720),
    Setting("complaint_resolve_hours", "complaints", _("Complaint: resolve within"), 72, HOURS, 1, 2160),
    Setting(
        "online_review_resolve_hours", "complaints", _("Negative online review: resolve within"), 48, HOURS, 1, 2160
    ),
    # A survey link is public: it may open only so many complaints (the customer can always call).
    Setting("customer_link_complaints_per_day", "complaints", _("Survey link: complaints per day"), 3, COUNT, 1, 50),
    Setting("customer_link_complaints_total", "complaints", _("Survey link: complaints in all"), 10, COUNT, 1, 200),
    Setting(
        "suggestion_decision_working_days",
        "complaints",
        _("Suggestion: decide and tell the customer within"),
        3,
        _("working days"),
        1,
        60,
    ),
    # §5 tiers
    Setting("tier_window_months", "tiers", _("RFM window"), 12, MONTHS, 1, 60),
    Setting(
        "tier_d_recency_days", "tiers", _("Tier D (churn risk): days since last visit more than"), 180, DAYS, 1, 3650
    ),
    Setting("tier_c_recency_days", "tiers", _("Tier C (new): first visit within"), 30, DAYS, 1, 365),
    Setting("tier_a_recency_days", "tiers", _("Tier A (loyal): last visit within"), 90, DAYS, 1, 3650),
    Setting("tier_a_min_visits", "tiers", _("Tier A (loyal): closed orders at least"), 4, COUNT, 1, 100),
    Setting(
        "tier_a_min_amount",
        "tiers",
        _("Tier A (loyal): amount paid at least"),
        Decimal("15000"),
        CNY,
        0,
        10_000_000,
        decimal=True,
    ),
    # §5 care actions
    Setting(
        "first_maintenance_reminder_days", "care", _("First-maintenance reminder before it is due"), 3, DAYS, 0, 60
    ),
    Setting("recall_after_months", "care", _("Recall notice after months without a visit"), 6, MONTHS, 1, 60),
    Setting("insurance_reminder_days", "care", _("Insurance expiry reminder before"), 30, DAYS, 0, 180),
    Setting(
        "extended_warranty_discount_percent", "care", _("Upgrade offer: extended-warranty discount"), 20, PCT, 0, 100
    ),
    Setting("win_back_labour_discount_percent", "care", _("Win-back offer: labour discount"), 30, PCT, 0, 100),
    Setting("win_back_return_days", "care", _("Win-back counts a return within"), 90, DAYS, 1, 365),
    Setting(
        "care_win_back_offer_after_days",
        "care",
        _("Win-back offer after the recall notice (when the customer has not returned)"),
        14,
        DAYS,
        0,
        180,
    ),
    Setting("maintenance_interval_km", "care", _("Maintenance interval (distance)"), 10000, KM, 1000, 100000),
    Setting("maintenance_interval_months", "care", _("Maintenance interval (time)"), 12, MONTHS, 1, 36),
    # Reminders (reminders app): lead times, and the distance a car is assumed to cover when its readings
    # cannot tell (≈ 15 000 km a year).
    Setting("maintenance_reminder_days", "care", _("Maintenance reminder before it is due"), 7, DAYS, 0, 60),
    Setting("inspection_reminder_days", "care", _("Annual inspection reminder before"), 30, DAYS, 0, 180),
    Setting(
        "deferred_work_reminder_days", "care", _("Deferred work reminder before its suggested date"), 3, DAYS, 0, 60
    ),
    Setting("birthday_reminder_days", "care", _("Birthday greeting before the birthday"), 0, DAYS, 0, 30),
    Setting(
        "reminder_overdue_days",
        "care",
        _("No reminder for an item overdue by more than"),
        60,
        DAYS,
        0,
        3650,
        help=_("Older items are left to the recall of churn-risk customers."),
    ),
    Setting("reminder_horizon_days", "care", _("Reminders list upcoming items within"), 30, DAYS, 1, 365),
    Setting("default_km_per_day", "care", _("Assumed distance per day (too few readings)"), 40, KM, 0, 1000),
    Setting("quiet_hours_start", "care", _("Quiet hours start (no marketing messages)"), 21, _("o'clock"), 0, 23),
    Setting("quiet_hours_end", "care", _("Quiet hours end"), 8, _("o'clock"), 0, 23),
    Setting(
        "campaign_control_share_percent",
        "care",
        _("Campaigns: random control group held out (no message)"),
        10,
        PCT,
        0,
        50,
    ),
    Setting(
        "campaign_frequency_cap_messages",
        "care",
        _("Campaigns: at most this many marketing messages per customer in the cap window"),
        4,
        COUNT,
        1,
        60,
    ),
    Setting("campaign_frequency_cap_days", "care", _("Campaigns: frequency cap window"), 30, DAYS, 1, 365),
    Setting("campaign_result_days", "care", _("Campaigns: a booking or return counts within"), 90, DAYS, 7, 365),
    # §6 KPI targets
    Setting("target_csat_percent", "targets", _("CSAT"), 90, PCT, 0, 100),
    Setting("target_nps", "targets", _("NPS"), 50, POINTS, -100, 100),
    Setting("target_csi", "targets", _("CSI"), 85, POINTS, 0, 100),
    Setting("target_first_time_fix_percent", "targets", _("First-time fix rate"), 95, PCT, 0, 100),
    Setting("target_waiting_minutes", "targets", _("Waiting time, arrival to work start"), 30, MIN, 1, 1440),
    Setting("target_inspection_in_time_percent", "targets", _("Initial inspection within 30 min"), 100, PCT, 0, 100),
    Setting("target_repurchase_percent", "targets", _("Repurchase rate"), 85, PCT, 0, 100),
    Setting("target_churn_percent", "targets", _("Churn rate (at most)"), 5, PCT, 0, 100),
    Setting("churn_after_days", "targets", _("Churned: last visit more than"), 180, DAYS, 1, 3650),
    Setting("churn_horizon_days", "targets", _("Churn base: visit within"), 730, DAYS, 2, 7300),
    Setting("target_win_back_percent", "targets", _("Win-back rate"), 20, PCT, 0, 100),
    Setting("target_first_maintenance_percent", "targets", _("First-maintenance conversion"), 100, PCT, 0, 100),
    Setting(
        "first_maintenance_grace_days",
        "targets",
        _("First maintenance counts as converted when done within this many days after it fell due"),
        30,
        DAYS,
        0,
        365,
    ),
    Setting("target_reception_wait_minutes", "targets", _("Reception wait, arrival to an advisor"), 10, MIN, 1, 240),
    Setting("walk_in_received_minutes", "targets", _("Walk-in counts as received on time within"), 10, MIN, 1, 240),
    Setting("target_walk_in_received_percent", "targets", _("Walk-ins received within 10 min"), 95, PCT, 0, 100),
    Setting("target_follow_up_in_time_percent", "targets", _("Follow-up within 24 h"), 95, PCT, 0, 100),
    Setting("target_recovery_in_time_percent", "targets", _("Low-score recovery within 1 h"), 100, PCT, 0, 100),
    Setting("target_complaint_acknowledged_percent", "targets", _("Complaints acknowledged in time"), 100, PCT, 0, 100),
    Setting("target_complaint_resolved_percent", "targets", _("Complaints resolved in time"), 95, PCT, 0, 100),
    Setting("target_complaint_satisfied_percent", "targets", _("Complaints closed satisfied"), 90, PCT, 0, 100),
    Setting("target_online_booking_percent", "targets", _("Online booking rate"), 80, PCT, 0, 100),
    Setting("target_on_time_start_percent", "targets", _("On-time start"), 95, PCT, 0, 100),
    Setting("target_price_transparency_percent", "targets", _("Price transparency"), 100, PCT, 0, 100),
    Setting("target_parts_traceability_percent", "targets", _("Parts traceability"), 100, PCT, 0, 100),
    Setting("target_core_parts_availability_percent", "targets", _("Core parts availability"), 95, PCT, 0, 100),
    Setting("target_senior_technician_percent", "targets", _("Senior technician share"), 50, PCT, 0, 100),
    Setting("target_profit_share_percent", "targets", _("After-sales profit share"), 55, PCT, 0, 100),
    Setting("target_audit_score", "targets", _("Audit score"), 85, POINTS, 0, 100),
    Setting("target_findings_overdue_percent", "targets", _("Audit findings overdue (at most)"), 0, PCT, 0, 100),
    Setting("target_sop_acknowledged_percent", "targets", _("SOP acknowledgement"), 95, PCT, 0, 100),
    Setting(
        "kpi_amber_margin_percent",
        "targets",
        _("Amber band below a target"),
        5,
        PCT,
        0,
        100,
        help=_("A KPI this close to its target shows amber instead of red."),
    ),
    Setting(
        "kpi_report_monthly_send",
        "targets",
        _("Send last month's KPI reports to the managers (1 on, 0 off)"),
        0,
        _("on/off"),
        0,
        1,
        help=_(
            "In the first days of each month, last month's PDF and XLSX reports are produced and each store "
            "manager (the group's managers for a group value) gets a link in the inbox and by e-mail."
        ),
    ),
    # §7 scorecard
    Setting("scorecard_weight_csat", "scorecard", _("Weight: CSAT"), 30, PCT, 0, 100),
    Setting("scorecard_weight_repurchase", "scorecard", _("Weight: repurchase"), 20, PCT, 0, 100),
    Setting("scorecard_weight_referrals", "scorecard", _("Weight: referrals"), 15, PCT, 0, 100),
    Setting("scorecard_weight_efficiency", "scorecard", _("Weight: repair efficiency"), 15, PCT, 0, 100),
    Setting("scorecard_weight_complaints", "scorecard", _("Weight: complaint handling"), 20, PCT, 0, 100),
    Setting(
        "scorecard_target_referrals",
        "scorecard",
        _("Target: new customers referred by an advisor per month"),
        2,
        _("customers"),
        0,
        100,
        help=_("A quarter's target is three times this; referrals attain 100 % at the target."),
    ),
    # §8 evaluation
    Setting(
        "ahp_max_consistency_ratio",
        "evaluation",
        _("AHP: largest accepted consistency ratio"),
        Decimal("0.10"),
        _("ratio"),
        0,
        1,
        decimal=True,
    ),
    Setting("fuzzy_grade_value_1", "evaluation", _("Fuzzy grade value: very satisfied"), 100, POINTS, 0, 100),
    Setting("fuzzy_grade_value_2", "evaluation", _("Fuzzy grade value: satisfied"), 80, POINTS, 0, 100),
    Setting("fuzzy_grade_value_3", "evaluation", _("Fuzzy grade value: neutral"), 60, POINTS, 0, 100),
    Setting("fuzzy_grade_value_4", "evaluation", _("Fuzzy grade value: dissatisfied"), 40, POINTS, 0, 100),
    Setting("fuzzy_grade_value_5", "evaluation", _("Fuzzy grade value: very dissatisfied"), 20, POINTS, 0, 100),
    # §9 operations
    Setting("rescue_match_minutes", "operations", _("Rescue request matched to a store within"), 5, MIN, 1, 120),
    Setting("rescue_on_site_minutes", "operations", _("Rescue on site within"), 30, MIN, 1, 600),
    Setting("rescue_response_city_minutes", "operations", _("Rescue on site within (city road)"), 45, MIN, 1, 600),
    Setting("rescue_response_county_minutes", "operations", _("Rescue on site within (county road)"), 60, MIN, 1, 600),
    Setting(
        "rescue_detour_factor",
        "operations",
        _("Rescue road distance over straight-line distance"),
        Decimal("1.4"),
        _("ratio"),
        1,
        3,
        decimal=True,
        help=_("The matcher multiplies the great-circle distance by this factor to estimate the distance by road."),
    ),
    Setting("low_stock_alert_enabled", "operations", _("Low-stock alerts (1 on, 0 off)"), 1, _("on/off"), 0, 1),
    Setting("staffing_plan_days", "operations", _("Staffing table: days ahead"), 14, DAYS, 1, 56),
    Setting("technician_productive_hours", "operations", _("Productive hours of a technician a day"), 7, HOURS, 1, 16),
    Setting(
        "technician_productivity_percent",
        "operations",
        _("Standard hours produced per hour worked"),
        85,
        PCT,
        10,
        200,
        help=_("The staffing table divides the standard hours of the expected work by this share."),
    ),
    Setting(
        "vehicle_alert_episode_hours",
        "operations",
        _("Connected-car alert: one episode while matching events keep coming within"),
        24,
        HOURS,
        1,
        720,
        help=_(
            "A rule raises one alert per vehicle and episode; after this long without a matching event, the next one "
            "opens a new alert."
        ),
    ),
    Setting(
        "ehr_backfill_days",
        "operations",
        _("E-health record: upload orders settled in the last"),
        7,
        DAYS,
        1,
        365,
        help=_("Orders settled earlier are not queued (the platform wants records in time, not the whole history)."),
    ),
    Setting(
        "ehr_request_timeout_seconds",
        "operations",
        _("E-health record: wait for the platform"),
        15,
        _("seconds"),
        1,
        120,
    ),
    Setting(
        "ehr_batch_size", "operations", _("E-health record: records per batch call"), 50, _("records a call"), 1, 500
    ),
    Setting(
        "certificate_expiry_alert_days",
        "operations",
        _("Certificate expiry alert before it expires"),
        30,
        DAYS,
        1,
        180,
        help=_("The technician and the store's managers are told once, this many days ahead, and again on expiry."),
    ),
    Setting(
        "audit_finding_days",
        "operations",
        _("An audit finding is due to be put right within"),
        14,
        DAYS,
        1,
        90,
        help=_("From the audit's submission; the owner and the store's managers are told once when it is overdue."),
    ),
    # §10 privacy
    Setting("record_retention_years", "privacy", _("Keep records for"), 3, YEARS, 1, 30),
    Setting("data_request_days", "privacy", _("Answer a personal-data request within"), 30, DAYS, 1, 30),
    Setting(
        "vehicle_data_erasure_working_days",
        "privacy",
        _("Erase vehicle data on request within"),
        10,
        _("working days"),
        1,
        30,
    ),
    Setting("location_retention_days", "privacy", _("Keep precise locations for"), 30, DAYS, 1, 365),
]

SUM_RULES: list[SumRule] = [
    SumRule(
        (
            "scorecard_weight_csat",
            "scorecard_weight_repurchase",
            "scorecard_weight_referrals",
            "scorecard_weight_efficiency",
            "scorecard_weight_complaints",
        ),
        100,
        _("The scorecard weights must add up to 100 %; they add up to {total} %."),
    ),
]

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def sections() -> list[Section]:
    grouped = [Section(key, label) for key, label in SECTIONS.items()]
    index = {s.key: s for s in grouped}
    for setting in SETTINGS:
        index[setting.section].settings.append(setting)
    return grouped
