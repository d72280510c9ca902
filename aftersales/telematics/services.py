"""Writes of the telematics app: the intake of a platform's batch of events, the rules that turn events into alerts
(inbox, booking suggestion, rescue lead), a manager's changes to the group's rule table, and the retention job.

The intake (`vehicle_events_intake`) checks every event on its own: an unknown VIN, an owner without the vehicle-data
consent (SPEC §10), an impossible value or a bad fault code is that event's error (index, field, message) and the
others are stored.  Events are inserted in one statement per batch, duplicates ignored by the database's unique
(source, event_id); the rows this call inserted carry its `intake` id, so `accepted` is exact even when the same
batch arrives twice at once.  The rules then run on the new rows in the same transaction.

A rule raises one alert per vehicle and episode: an alert stays open while matching events keep coming within
`vehicle_alert_episode_hours`; later matches only count.  The database keeps one open alert per (vehicle, rule).
Events older than the episode window (a platform's backlog) are stored and counted but open nothing: a day-old
level-3 alarm is no rescue lead."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.scoping import store_ids_where
from aftersales.customers.choices import ConsentPurpose
from aftersales.customers.models import Consent, Vehicle
from aftersales.messaging.choices import Language, Purpose
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Party
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.reminders.choices import ReminderKind
from aftersales.reminders.services import booking_link
from aftersales.rescue.choices import RescueSource, RoadType
from aftersales.rescue.services import rescue_request_create
from aftersales.telematics import selectors
from aftersales.telematics.choices import ALARM_FLAGS, RuleAction, RuleKind
from aftersales.telematics.models import AlertRule, OdometerDay, VehicleAlert, VehicleEvent, plain_number

logger = logging.getLogger("aftersales.telematics")

MAX_EVENTS = 500  # per call (the public contract)
MAX_CODES = 50  # fault codes or alarm flags in one event
FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # a car's clock a little ahead is not an error
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DTC = re.compile(r"^[PCBU][0-3][0-9A-F]{3}([0-9A-F]{2})?$")
DTC_PREFIX = re.compile(r"^[PCBU]([0-3][0-9A-F]{0,4})?$")

# (field, lowest, highest, decimals) of the engineering values, the ranges of GB/T 32960.3's data items.
RANGES: tuple[tuple[str, Decimal, Decimal, int], ...] = (
    ("odometer_km", Decimal(0), Decimal(2_000_000), 1),
    ("soc_pct", Decimal(0), Decimal(100), 1),
    ("total_voltage_v", Decimal(0), Decimal(1000), 1),
    ("total_current_a", Decimal(-1000), Decimal(1000), 1),
    ("insulation_resistance_kohm", Decimal(0), Decimal(60_000), 0),
    ("max_cell_voltage_v", Decimal(0), Decimal(15), 3),
    ("min_cell_voltage_v", Decimal(0), Decimal(15), 3),
    ("max_cell_temperature_c", Decimal(-40), Decimal(210), 0),
    ("min_cell_temperature_c", Decimal(-40), Decimal(210), 0),
    ("latitude", Decimal(-90), Decimal(90), 6),
    ("longitude", Decimal(-180), Decimal(180), 6),
)
INTEGER_FIELDS = frozenset({"insulation_resistance_kohm", "max_cell_temperature_c", "min_cell_temperature_c"})


# ----------------------------------------------------------------------------------------------------- intake


@dataclass
class IntakeResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    alerts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "errors": self.errors}


def _sender_groups(by: Any) -> frozenset[int]:
    """The dealer groups whose vehicles `by` may send events for (where they hold SEND_VEHICLE_EVENTS)."""
    stores = store_ids_where(by, Capability.SEND_VEHICLE_EVENTS)
    if not stores:
        raise PermissionDenied(_("Your role may not do this."))
    return frozenset(Store.objects.filter(pk__in=stores).values_list("group_id", flat=True))


def _decimal(value: Any, name: str, low: Decimal, high: Decimal, places: int) -> tuple[Decimal | None, str]:
    """The value as a Decimal within [low, high], or (None, the error's message)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None, _("Enter a number.")
    if isinstance(value, float) and not math.isfinite(value):
        return None, _("Enter a finite number.")
    number = Decimal(str(value))
    if number < low or number > high:
        return None, _("Must be between {low} and {high}.").format(low=low, high=high)
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), ""


def _clean_event(raw: Mapping[str, Any], now: dt.datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The event's values ready to store, and {field: message} for each one that is impossible."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    occurred = raw.get("occurred_at")
    if not isinstance(occurred, dt.datetime):
        errors["occurred_at"] = _("Enter a date and time.")
    else:
        if timezone.is_naive(occurred):
            occurred = timezone.make_aware(occurred)
        if occurred > now + FUTURE_TOLERANCE:
            errors["occurred_at"] = _("The time is in the future.")
        elif occurred < EARLIEST:
            errors["occurred_at"] = _("The time is before the year 2000.")
        values["occurred_at"] = occurred
    for name, low, high, places in RANGES:
        value = raw.get(name)
        if value is None:
            values[name] = None
            continue
        number, message = _decimal(value, name, low, high, places)
        if message:
            errors[name] = message
        else:
            values[name] = int(number) if name in INTEGER_FIELDS and number is not None else number
    for low_name, high_name in (
        ("min_cell_voltage_v", "max_cell_voltage_v"),
        ("min_cell_temperature_c", "max_cell_temperature_c"),
    ):
        low_value, high_value = values.get(low_name), values.get(high_name)
        if low_value is not None and high_value is not None and low_value > high_value:
            errors[low_name] = _("The lowest value is above the highest.")
    if (values.get("latitude") is None) != (values.get("longitude") is None) and not (
        {"latitude", "longitude"} & set(errors)
    ):
        errors["latitude"] = _("Send both latitude and longitude, or neither.")
    level = raw.get("alarm_level", 0)
    if level is None:
        level = 0
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 3:
        errors["alarm_level"] = _("The alarm level is 0, 1, 2 or 3.")
    values["alarm_level"] = level
    codes = raw.get("dtcs") or []
    cleaned_codes = [str(code).strip().upper() for code in codes]
    bad = [code for code in cleaned_codes if not DTC.match(code)]
    if len(cleaned_codes) > MAX_CODES:
        errors["dtcs"] = _("At most {n} fault codes in one event.").format(n=MAX_CODES)
    elif bad:
        errors["dtcs"] = _("Not a fault code (like P0143 or U012300): {codes}").format(codes=", ".join(bad[:5]))
    values["dtcs"] = sorted(set(cleaned_codes))
    flags = [str(flag).strip() for flag in (raw.get("alarm_flags") or [])]
    unknown = [flag for flag in flags if flag not in ALARM_FLAGS]
    if len(flags) > MAX_CODES or unknown:
        errors["alarm_flags"] = _("Unknown alarm flag: {flags}").format(flags=", ".join(unknown[:5]))
    values["alarm_flags"] = sorted(set(flags))
    return values, errors


def _consenting_customers(customer_ids: Iterable[int]) -> set[int]:
    return set(
        Consent.objects.filter(
            customer_id__in=set(customer_ids), purpose=ConsentPurpose.VEHICLE_DATA, granted=True
        ).values_list("customer_id", flat=True)
    )


def vehicle_events_intake(
    *, source: str, events: Sequence[Mapping[str, Any]], by: Any, now: dt.datetime | None = None
) -> IntakeResult:
    """Store a platform's batch of events (at most MAX_EVENTS); see the module's docstring.  `now` is the time of
    receipt (the clock's; the demo data passes its own day)."""
    groups = _sender_groups(by)
    source = source.strip()
    if not source:
        raise ValidationError({"source": [_("This field is required.")]})
    if len(events) > MAX_EVENTS:
        raise ValidationError({"events": [_("At most {n} events in one call.").format(n=MAX_EVENTS)]})
    now = now or clock.now()
    result = IntakeResult()
    vins = {str(raw.get("vin", "")).strip().upper() for raw in events}
    vehicles: dict[str, Vehicle] = {}
    for found in Vehicle.objects.filter(group_id__in=groups, vin__in=vins).select_related("customer"):
        vehicles.setdefault(found.vin.upper(), found)
    consenting = _consenting_customers(v.customer_id for v in vehicles.values())
    event_ids = {str(raw.get("event_id", "")).strip() for raw in events}
    stored = set(VehicleEvent.objects.filter(source=source, event_id__in=event_ids).values_list("event_id", flat=True))
    intake = uuid.uuid4()
    rows: list[VehicleEvent] = []
    seen: set[str] = set()
    for index, raw in enumerate(events):
        values, errors = _clean_event(raw, now)
        event_id = str(raw.get("event_id", "")).strip()
        vehicle = vehicles.get(str(raw.get("vin", "")).strip().upper())
        if not event_id:
            errors = {"event_id": _("This field is required."), **errors}
        if vehicle is None:
            errors = {"vin": _("No vehicle of yours has this VIN."), **errors}
        elif vehicle.customer_id not in consenting:
            errors = {
                "vin": _("The owner has not consented to connected-car data (SPEC §10): the event is not kept."),
                **errors,
            }
        if errors:
            result.errors.extend({"index": index, "field": name, "msg": str(msg)} for name, msg in errors.items())
            continue
        if event_id in stored or event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event_id)
        assert vehicle is not None
        rows.append(
            VehicleEvent(source=source, event_id=event_id, vehicle=vehicle, received_at=now, intake=intake, **values)
        )
    if rows:
        with transaction.atomic():
            VehicleEvent.objects.bulk_create(rows, batch_size=MAX_EVENTS, ignore_conflicts=True)
            new = list(
                VehicleEvent.objects.filter(intake=intake).select_related(
                    "vehicle", "vehicle__customer", "vehicle__store"
                )
            )
            result.accepted = len(new)
            result.duplicates += len(rows) - len(new)  # sent by a concurrent call meanwhile
            _odometer_days(new)
            result.alerts = _evaluate(new, now=now)
    return result


def _odometer_days(events: Sequence[VehicleEvent]) -> None:
    """Keep each vehicle's highest odometer of each local day (the reminders' readings)."""
    best: dict[tuple[int, dt.date], int] = {}
    for event in events:
        if event.odometer_km is None:
            continue
        key = (event.vehicle_id, timezone.localtime(event.occurred_at).date())
        best[key] = max(best.get(key, 0), int(event.odometer_km))
    if not best:
        return
    vehicle_ids = {vehicle_id for vehicle_id, _day in best}
    days = {day for _vehicle, day in best}
    existing = {
        (row.vehicle_id, row.day): row for row in OdometerDay.objects.filter(vehicle_id__in=vehicle_ids, day__in=days)
    }
    fresh = []
    for (vehicle_id, day), km in best.items():
        row = existing.get((vehicle_id, day))
        if row is None:
            fresh.append(OdometerDay(vehicle_id=vehicle_id, day=day, km=km))
        elif km > row.km:
            OdometerDay.objects.filter(pk=row.pk, km__lt=km).update(km=km)
    # A day a concurrent intake inserted meanwhile keeps its value until the next reading of that day raises it.
    OdometerDay.objects.bulk_create(fresh, ignore_conflicts=True)


def odometer_readings(vehicle_ids: list[int]) -> Iterable[tuple[int, dt.date, int]]:
    """The reading source registered with the reminders app (apps.TelematicsConfig.ready)."""
    return OdometerDay.objects.filter(vehicle_id__in=vehicle_ids).values_list("vehicle_id", "day", "km")


# ------------------------------------------------------------------------------------------------------ rules


def _reported(rule: AlertRule, event: VehicleEvent) -> dict[str, Any] | None:
    """What in the event matches the rule (see VehicleAlert.reported), or None when it does not match."""
    if rule.kind == RuleKind.BATTERY_LOW and event.soc_pct is not None and rule.threshold is not None:
        if event.soc_pct < rule.threshold:
            return {"soc": str(event.soc_pct), "threshold": plain_number(rule.threshold)}
    elif rule.kind == RuleKind.INSULATION_FAULT and event.insulation_resistance_kohm is not None:
        if rule.threshold is not None and event.insulation_resistance_kohm < rule.threshold:
            return {"kohm": event.insulation_resistance_kohm, "threshold": plain_number(rule.threshold)}
    elif rule.kind == RuleKind.DTC_FAMILY and rule.dtc_prefix:
        codes = [code for code in event.dtcs if code.startswith(rule.dtc_prefix)]
        if codes:
            return {"codes": codes}
    elif rule.kind == RuleKind.ALARM_LEVEL and rule.threshold is not None:
        if event.alarm_level >= rule.threshold:
            return {"level": event.alarm_level, "flags": list(event.alarm_flags)}
    return None


class _Rules:
    """Per-call caches: each group's active rules, each store's settings."""

    def __init__(self) -> None:
        self.rules: dict[int, list[AlertRule]] = {}
        self.hours: dict[int, int] = {}

    def of_group(self, group_id: int) -> list[AlertRule]:
        if group_id not in self.rules:
            alert_rules_ensure_defaults(group_id=group_id)
            self.rules[group_id] = list(AlertRule.objects.filter(group_id=group_id, is_active=True).order_by("pk"))
        return self.rules[group_id]

    def window(self, store: Store) -> dt.timedelta:
        if store.pk not in self.hours:
            self.hours[store.pk] = int(setting_values_for_store(store)["vehicle_alert_episode_hours"])
        return dt.timedelta(hours=self.hours[store.pk])


def _evaluate(events: Sequence[VehicleEvent], *, now: dt.datetime) -> int:
    """Apply the rules to the events (oldest first); mark them evaluated.  Returns how many alerts were opened."""
    cache = _Rules()
    opened = 0
    for event in sorted(events, key=lambda e: (e.occurred_at, e.pk)):
        vehicle = event.vehicle
        for rule in cache.of_group(vehicle.group_id):
            reported = _reported(rule, event)
            if reported is not None and _apply(rule, event, reported, window=cache.window(vehicle.store), now=now):
                opened += 1
    VehicleEvent.objects.filter(pk__in=[e.pk for e in events]).update(evaluated_at=now)
    return opened


def _apply(
    rule: AlertRule, event: VehicleEvent, reported: dict[str, Any], *, window: dt.timedelta, now: dt.datetime
) -> bool:
    """Count the event into the open episode of (vehicle, rule), or open a new one; True when one was opened."""
    vehicle = event.vehicle
    current = (
        VehicleAlert.objects.select_for_update().filter(vehicle=vehicle, rule=rule, cleared_at__isnull=True).first()
    )
    if current is not None:
        if event.occurred_at <= current.last_event_at + window:
            VehicleAlert.objects.filter(pk=current.pk).update(
                events_count=F("events_count") + 1,
                last_event_at=max(current.last_event_at, event.occurred_at),
                updated_at=now,
            )
            return False
        VehicleAlert.objects.filter(pk=current.pk).update(cleared_at=current.last_event_at + window, updated_at=now)
    if now - event.occurred_at > window:
        return False  # a backlog event: stored and seen on the timeline, but too old to act on
    try:
        with transaction.atomic():
            alert = VehicleAlert.objects.create(
                store_id=vehicle.store_id,
                vehicle=vehicle,
                rule=rule,
                kind=rule.kind,
                action=rule.action,
                reported=reported,
                first_event=event,
                opened_at=now,
                last_event_at=event.occurred_at,
            )
    except IntegrityError:  # a concurrent intake opened the episode first: count the event there
        VehicleAlert.objects.filter(vehicle=vehicle, rule=rule, cleared_at__isnull=True).update(
            events_count=F("events_count") + 1, updated_at=now
        )
        return False
    _act(alert, event)
    return True


def _recipients(store: Store) -> list[Any]:
    """The store's active advisors and managers."""
    users = get_user_model().objects.filter(
        is_active=True, memberships__store=store, memberships__role__in=[Role.ADVISOR, Role.MANAGER]
    )
    return list(users.distinct().order_by("pk"))


def _plate(vehicle: Vehicle) -> str:
    return vehicle.plate or vehicle.vin


def _act(alert: VehicleAlert, event: VehicleEvent) -> None:
    """The alert's actions: the inbox (always), then the owner's booking suggestion or the rescue lead."""
    vehicle = event.vehicle
    store = Store.objects.get(pk=alert.store_id)
    context = {
        "plate": _plate(vehicle),
        "vehicle": f"{vehicle.brand} {vehicle.model_name}",
        "customer": vehicle.customer.name,
        "rule": RuleKind(alert.kind).label,
        "detail": alert.detail,
        "time": f"{timezone.localtime(event.occurred_at):%Y-%m-%d %H:%M}",
    }
    if alert.action == RuleAction.SUGGEST_BOOKING:
        today = clock.today()
        with translation.override(Language.ZH_HANS):  # the owner's message is written in Chinese
            detail_zh = str(alert.detail)
        alert.message = message_enqueue(
            store=store,
            template="telematics_booking_suggestion",
            context={
                "name": vehicle.customer.name,
                "plate": _plate(vehicle),
                "detail": detail_zh,
                "store": store.name,
                "phone": store.phone,
                "link": booking_link(
                    store=store, vehicle=vehicle, kind=ReminderKind.DEFERRED_WORK, due_on=today, today=today
                ),
            },
            customer=vehicle.customer,
            purpose=Purpose.SERVICE,  # a fault the car reported: a service notice on the contract, not marketing
            dedupe_key=f"telematics:alert:{alert.pk}",
            related=alert,
        )
    elif alert.action == RuleAction.RESCUE:
        _rescue_lead(alert, event)
    alert.save(update_fields=["message", "rescue_request", "updated_at"])
    staff_notify(
        store=store,
        users=_recipients(store),
        template="telematics_alert_rescue" if alert.action == RuleAction.RESCUE else "telematics_alert",
        context={**context, "rescue": alert.rescue_note or "—"},  # lazy texts: each language its own
        dedupe_key=f"telematics:alert:{alert.pk}",
        related=alert,
        url=reverse("telematics:vehicle", args=[vehicle.pk]),
    )


def _rescue_lead(alert: VehicleAlert, event: VehicleEvent) -> None:
    """Open a roadside-rescue request for the alarm (rescue_request_create as the system, source connected car): at
    the car's reported position, matched at once to the nearest store with a free crew; without a position, a
    request that waits for staff to locate the car.  When the rescue app refuses (e.g. consent withdrawn meanwhile),
    the alert says so and the inbox item asks the staff to call the owner."""
    located = event.latitude is not None and event.longitude is not None
    with translation.override(Language.ZH_HANS):  # the rescue request's texts are in the product's language
        fault = str(format_lazy(gettext_lazy("Connected-car alarm: {detail}"), detail=alert.detail))
        address = "" if located else str(gettext_lazy("Position not reported by the car: call the owner"))
    try:
        with transaction.atomic():
            alert.rescue_request = rescue_request_create(
                by=Party.SYSTEM,
                lat=event.latitude if located else None,
                lon=event.longitude if located else None,
                address=address,
                road_type=RoadType.CITY,  # the car does not say; staff correct it when they call
                fault=fault,
                vehicle=event.vehicle,
                source=RescueSource.CONNECTED_CAR,
            )
    except (ValidationError, PermissionDenied, ApplicationError) as exc:
        logger.warning("telematics: rescue lead refused for alert %s: %s", alert.pk, exc)


def vehicle_events_evaluate_pending(*, limit: int = 5000) -> int:
    """The sweep's half of the rules: events stored but not yet evaluated (an intake that failed after storing,
    or rows loaded by hand).  Returns how many alerts were opened."""
    now = clock.now()
    pending = list(
        VehicleEvent.objects.filter(evaluated_at__isnull=True)
        .select_related("vehicle", "vehicle__customer", "vehicle__store")
        .order_by("received_at", "pk")[:limit]
    )
    if not pending:
        return 0
    with transaction.atomic():
        return _evaluate(pending, now=now)


def vehicle_alerts_close_stale() -> int:
    """Close the episodes whose last matching event is older than their store's window (the list then shows them
    as cleared).  Returns how many."""
    now = clock.now()
    cache = _Rules()
    closed = 0
    for alert in VehicleAlert.objects.filter(cleared_at__isnull=True).select_related("store"):
        window = cache.window(alert.store)
        if alert.last_event_at + window < now:
            closed += VehicleAlert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(
                cleared_at=alert.last_event_at + window, updated_at=now
            )
    return closed


# --------------------------------------------------------------------------------------------- retention


def vehicle_event_locations_coarsen(*, batch: int = 5000) -> int:
    """Coarsen the precise positions older than each group's `location_retention_days` to two decimals (about 1 km),
    as the rescue app does for its requests (SPEC §10).  Returns how many events were coarsened."""
    now = clock.now()
    done = 0
    for group in DealerGroup.objects.all():
        store = Store.objects.filter(group=group).order_by("pk").first()
        if store is None:
            continue
        days = int(setting_values_for_store(store)["location_retention_days"])
        before = now - dt.timedelta(days=days)
        while True:
            rows = list(
                VehicleEvent.objects.filter(
                    vehicle__group=group, location_coarsened=False, latitude__isnull=False, received_at__lt=before
                )
                .order_by("received_at")
                .values_list("pk", "latitude", "longitude")[:batch]
            )
            if not rows:
                break
            with transaction.atomic():
                for pk, lat, lon in rows:
                    VehicleEvent.objects.filter(pk=pk).update(
                        latitude=_coarse(lat), longitude=_coarse(lon), location_coarsened=True
                    )
            done += len(rows)
    return done


def _coarse(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------------ rule table

RULE_FIELDS = ("kind", "threshold", "dtc_prefix", "action", "is_active")


def alert_rules_ensure_defaults(*, group_id: int) -> int:
    """Give a group without any rule the defaults (selectors.DEFAULT_RULES); returns how many were made."""
    if AlertRule.objects.filter(group_id=group_id).exists():
        return 0
    with transaction.atomic():
        # Two first intakes of a group at once: the group's row lock lets one of them write the table.
        DealerGroup.objects.select_for_update().filter(pk=group_id).first()
        if AlertRule.objects.filter(group_id=group_id).exists():
            return 0
        AlertRule.objects.bulk_create([AlertRule(group_id=group_id, **row) for row in selectors.DEFAULT_RULES])
    return len(selectors.DEFAULT_RULES)


def _require_rule_manager(by: Any, group_id: int) -> None:
    group_stores = frozenset(Store.objects.filter(group_id=group_id).values_list("pk", flat=True))
    if not store_ids_where(by, Capability.MANAGE_VEHICLE_RULES) & group_stores:
        raise PermissionDenied(_("Your role may not do this."))


def alert_rule_save(*, group: DealerGroup, by: Any, rule: AlertRule | None = None, **fields: Any) -> AlertRule:
    """Create or change one line of the group's rule table (a manager of a store of the group)."""
    _require_rule_manager(by, group.pk)
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    if rule is not None and rule.group_id != group.pk:
        raise ValidationError({"kind": [_("The rule belongs to another group.")]})
    target = rule or AlertRule(group=group)
    before = {name: getattr(target, name) for name in RULE_FIELDS} if rule else {}
    for name in RULE_FIELDS:
        if name in fields:
            value = fields[name]
            setattr(target, name, value.strip().upper() if name == "dtc_prefix" and isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    if target.kind == RuleKind.DTC_FAMILY:
        if not DTC_PREFIX.match(target.dtc_prefix or ""):
            errors["dtc_prefix"] = [_("A fault code's beginning, like P0A or U01.")]
        target.threshold = None
    else:
        target.dtc_prefix = ""
        low, high = {
            RuleKind.BATTERY_LOW: (Decimal(1), Decimal(100)),
            RuleKind.INSULATION_FAULT: (Decimal(1), Decimal(60_000)),
            RuleKind.ALARM_LEVEL: (Decimal(1), Decimal(3)),
        }.get(RuleKind(target.kind), (Decimal(0), Decimal(0)))
        if target.threshold is None:
            errors["threshold"] = [_("This field is required.")]
        elif not low <= Decimal(target.threshold) <= high:
            errors["threshold"] = [_("Must be between {low} and {high}.").format(low=low, high=high)]
    if errors:
        raise ValidationError(errors)
    target.full_clean()
    with transaction.atomic():
        target.save()
        audit_record(
            actor=by,
            action="vehicle_alert_rule.save",
            obj=target,
            changes={
                n: [_plain(before.get(n)), _plain(getattr(target, n))]
                for n in RULE_FIELDS
                if before.get(n) != getattr(target, n)
            },
        )
    return target


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def alert_rule_delete(*, rule: AlertRule, by: Any) -> None:
    """Delete a line; one that raised alerts is switched off instead (its alerts name it)."""
    _require_rule_manager(by, rule.group_id)
    with transaction.atomic():
        if VehicleAlert.objects.filter(rule=rule).exists():
            AlertRule.objects.filter(pk=rule.pk).update(is_active=False)
            audit_record(actor=by, action="vehicle_alert_rule.save", obj=rule, changes={"is_active": [True, False]})
            return
        audit_record(actor=by, action="vehicle_alert_rule.delete", obj=rule, changes={"kind": [rule.kind, None]})
        rule.delete()
