"""Reads of the telematics app: a vehicle's events and alerts, the staff list of recent alerts, a group's rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from aftersales.organisation.permissions import Capability
from aftersales.telematics.choices import RuleAction, RuleKind
from aftersales.telematics.models import AlertRule, VehicleAlert, VehicleEvent

# A new group's rule table: low battery, an insulation fault, the EV powertrain fault codes (P0A…), a level-3
# alarm.  GB/T 18384 asks at least 100 Ω/V of a DC circuit: about 40 kΩ for a 400 V pack, so 100 kΩ warns early.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"kind": RuleKind.BATTERY_LOW, "threshold": Decimal(10), "action": RuleAction.ALERT},
    {"kind": RuleKind.INSULATION_FAULT, "threshold": Decimal(100), "action": RuleAction.SUGGEST_BOOKING},
    {"kind": RuleKind.DTC_FAMILY, "dtc_prefix": "P0A", "action": RuleAction.SUGGEST_BOOKING},
    {"kind": RuleKind.ALARM_LEVEL, "threshold": Decimal(3), "action": RuleAction.RESCUE},
)
TIMELINE_LIMIT = 200


def vehicle_events(*, vehicle_id: int, limit: int = TIMELINE_LIMIT) -> QuerySet[VehicleEvent]:
    """The vehicle's latest events, newest first (the caller found the vehicle through its own scope)."""
    return VehicleEvent.objects.filter(vehicle_id=vehicle_id).order_by("-occurred_at", "-pk")[:limit]


def vehicle_alerts(*, vehicle_id: int) -> QuerySet[VehicleAlert]:
    return VehicleAlert.objects.filter(vehicle_id=vehicle_id).select_related("rule").order_by("-opened_at", "-pk")


def alert_list(
    *, user: Any, store_ids: frozenset[int] | None = None, open_only: bool = False
) -> QuerySet[VehicleAlert]:
    """Recent alerts of the stores where the user sees the workshop, newest first."""
    rows = VehicleAlert.objects.for_user(user, Capability.VIEW_SERVICE, store_ids=store_ids)
    if open_only:
        rows = rows.filter(cleared_at__isnull=True)
    return rows.select_related("rule", "vehicle", "vehicle__customer", "store").order_by("-opened_at", "-pk")


def alert_rules(*, group_id: int) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(group_id=group_id).order_by("kind", "pk")
