"""Connected-car events (layer 6, SPEC §9): what a vehicle's telematics platform reported, the rules a group keeps
to turn events into action, and the alerts those rules raised.

- `VehicleEvent` is unique on (source, event_id): a platform may send a batch again and nothing is stored twice.
  Values are GB/T 32960.3-style engineering units; the precise position (lat/lon) is personal data (SPEC §10) and
  is coarsened after the group's `location_retention_days` by the retention job.
- `OdometerDay` keeps the highest odometer of each vehicle and day: the reading the reminders' mileage projection
  uses (registered in apps.TelematicsConfig.ready), one row per day however often the car reports.
- `AlertRule` is a line of a group's rule table; `VehicleAlert` is one episode of one rule on one vehicle: opened by
  the first matching event, counting the later ones, closed by an event that no longer matches.  The database
  keeps one open alert per (vehicle, rule), so a batch sent twice, or two intakes at once, raise it once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.models import Vehicle
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import DealerGroup, Store
from aftersales.rescue.choices import RescueStatus
from aftersales.rescue.models import RescueRequest
from aftersales.telematics.choices import ALARM_FLAGS, RuleAction, RuleKind

# Scoped like the vehicle itself: every store the owner deals with sees its events.
VEHICLE_SCOPE = "vehicle__customer__store_links__store_id"


class VehicleEvent(models.Model):
    """One report of one vehicle from one telematics platform (`source`)."""

    source = models.CharField(_("source"), max_length=40)
    event_id = models.CharField(_("event id"), max_length=64)
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    intake = models.UUIDField(_("intake batch"), db_index=True, editable=False)
    odometer_km = models.DecimalField(_("odometer (km)"), max_digits=8, decimal_places=1, null=True, blank=True)
    soc_pct = models.DecimalField(_("state of charge (%)"), max_digits=4, decimal_places=1, null=True, blank=True)
    total_voltage_v = models.DecimalField(_("total voltage (V)"), max_digits=5, decimal_places=1, null=True, blank=True)
    total_current_a = models.DecimalField(_("total current (A)"), max_digits=5, decimal_places=1, null=True, blank=True)
    insulation_resistance_kohm = models.PositiveIntegerField(_("insulation resistance (kΩ)"), null=True, blank=True)
    max_cell_voltage_v = models.DecimalField(
        _("highest cell voltage (V)"), max_digits=5, decimal_places=3, null=True, blank=True
    )
    min_cell_voltage_v = models.DecimalField(
        _("lowest cell voltage (V)"), max_digits=5, decimal_places=3, null=True, blank=True
    )
    max_cell_temperature_c = models.SmallIntegerField(_("highest cell temperature (°C)"), null=True, blank=True)
    min_cell_temperature_c = models.SmallIntegerField(_("lowest cell temperature (°C)"), null=True, blank=True)
    alarm_level = models.PositiveSmallIntegerField(
        _("alarm level"), default=0, validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    alarm_flags = models.JSONField(_("alarm flags"), default=list, blank=True)
    dtcs = models.JSONField(_("fault codes"), default=list, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    location_coarsened = models.BooleanField(_("location coarsened"), default=False)
    evaluated_at = models.DateTimeField(_("rules applied at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = VEHICLE_SCOPE
    store_lookup_many = True

    class Meta:
        verbose_name = _("vehicle event")
        verbose_name_plural = _("vehicle events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="vehicle_event_once_per_source"),
            models.CheckConstraint(
                condition=Q(alarm_level__gte=0) & Q(alarm_level__lte=3), name="vehicle_event_alarm_level_0_3"
            ),
        ]
        indexes = [
            models.Index(fields=["vehicle", "-occurred_at"], name="vehicle_event_timeline_idx"),
            # the retention job: precise locations not yet coarsened, oldest first
            models.Index(
                fields=["received_at"],
                condition=Q(location_coarsened=False, latitude__isnull=False),
                name="vehicle_event_precise_idx",
            ),
            models.Index(fields=["received_at"], condition=Q(evaluated_at__isnull=True), name="vehicle_event_todo_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_id}"


class OdometerDay(models.Model):
    """The highest odometer a vehicle reported on a day (local date)."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    km = models.PositiveIntegerField(_("odometer (km)"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = VEHICLE_SCOPE
    store_lookup_many = True

    class Meta:
        verbose_name = _("daily odometer reading")
        verbose_name_plural = _("daily odometer readings")
        constraints = [models.UniqueConstraint(fields=["vehicle", "day"], name="odometer_day_once")]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.day}: {self.km}"


class AlertRule(BaseModel):
    """One line of a group's rule table: a condition on an event and what to do when it holds."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="vehicle_alert_rules"
    )
    kind = models.CharField(_("condition"), max_length=20, choices=RuleKind.choices)
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100_000)],
    )
    dtc_prefix = models.CharField(
        _("fault code prefix"), max_length=7, blank=True, help_text=_("For a fault code family, e.g. P0A or U01.")
    )
    action = models.CharField(_("action"), max_length=20, choices=RuleAction.choices, default=RuleAction.ALERT)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("vehicle alert rule")
        verbose_name_plural = _("vehicle alert rules")
        ordering = ["group", "kind", "id"]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> Promise:
        """The rule in a few words ("Battery low: SOC below 10 %"), in the reader's language."""
        value = plain_number(self.threshold)
        if self.kind == RuleKind.BATTERY_LOW:
            return format_lazy(_("Battery low: SOC below {value} %"), value=value)
        if self.kind == RuleKind.INSULATION_FAULT:
            return format_lazy(_("Insulation fault: below {value} kΩ"), value=value)
        if self.kind == RuleKind.DTC_FAMILY:
            return format_lazy(_("Fault codes {prefix}…"), prefix=self.dtc_prefix)
        return format_lazy(_("Alarm level {value} or higher"), value=value)


def plain_number(value: Decimal | None) -> str:
    """10.0 → "10", 12.5 → "12.5", None → "—"."""
    if value is None:
        return "—"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class VehicleAlert(BaseModel):
    """One episode of one rule on one vehicle, raised to the vehicle's store."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(AlertRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(_("condition"), max_length=20, choices=RuleKind.choices)
    action = models.CharField(_("action"), max_length=20, choices=RuleAction.choices)
    # What in the first matching event made the rule fire ({"soc": "8.5", "threshold": "10.0"}, {"codes": [...]},
    # {"level": 3, "flags": [...]}); the text (`detail`) is written in the reader's language.
    reported = models.JSONField(_("what was reported"), default=dict)
    first_event = models.ForeignKey(
        VehicleEvent, verbose_name=_("first event"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), db_index=True)
    last_event_at = models.DateTimeField(_("last matching event at"))
    events_count = models.PositiveIntegerField(_("matching events"), default=1)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rescue_request = models.ForeignKey(
        RescueRequest,
        verbose_name=_("rescue request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("vehicle alert")
        verbose_name_plural = _("vehicle alerts")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "rule"], condition=Q(cleared_at__isnull=True), name="vehicle_alert_one_open_episode"
            ),
        ]
        indexes = [models.Index(fields=["store", "-opened_at"], name="vehicle_alert_store_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.vehicle_id} @ {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def detail(self) -> Promise:
        return reported_text(self.kind, self.reported)

    @property
    def rescue_note(self) -> Promise | str:
        """The rescue lead in words: the request and its state now, or why there is none."""
        if self.rescue_request_id is not None and self.rescue_request is not None:
            return format_lazy(
                _("Rescue request #{id}: {status}"),
                id=self.rescue_request_id,
                status=RescueStatus(self.rescue_request.status).label,
            )
        if self.action == RuleAction.RESCUE:
            return _("The rescue request was refused: call the owner.")
        return ""


def reported_text(kind: str, reported: dict[str, Any]) -> Promise:
    """An alert's reported values in words, lazily (each reader, inbox or e-mail gets its own language)."""
    if kind == RuleKind.BATTERY_LOW:
        return format_lazy(
            _("State of charge {soc} % (below {threshold} %)"),
            soc=reported.get("soc"),
            threshold=reported.get("threshold"),
        )
    if kind == RuleKind.INSULATION_FAULT:
        return format_lazy(
            _("Insulation resistance {r} kΩ (below {threshold} kΩ)"),
            r=reported.get("kohm"),
            threshold=reported.get("threshold"),
        )
    if kind == RuleKind.DTC_FAMILY:
        return format_lazy(_("Fault codes {codes}"), codes=", ".join(reported.get("codes", [])))
    text = format_lazy(_("Alarm level {level}"), level=reported.get("level"))
    flags = [ALARM_FLAGS[flag] for flag in reported.get("flags", []) if flag in ALARM_FLAGS]
    if not flags:
        return text
    return format_lazy(
        _("{alarm} ({flags})"), alarm=text, flags=format_lazy(", ".join("{}" for _flag in flags), *flags)
    )
