"""Reminders (SPEC §5): service-interval rules per model, and one row per due item that was or will be reminded.

A due item is named by (vehicle or customer, kind, due_key) and the database keeps that unique, so a sweep that runs
twice, or two workers at once, can never remind the same item twice.  The key says which occurrence it is: the
maintenance after repair order #N, the insurance policy expiring on a date, the birthday of a year."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.models import Customer, Vehicle
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import DealerGroup, Store
from aftersales.reminders.choices import IntervalScope, ReminderKind, ReminderState


class ServiceInterval(BaseModel):
    """How often a kind of vehicle needs maintenance.  A group's rules apply in all its stores; a store's own
    rule (store set) wins over the group's.  Among the rules that match a vehicle the most specific wins: a model
    pattern over a brand over a powertrain scope."""

    group = models.ForeignKey(
        DealerGroup, verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="service_intervals"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="service_intervals",
        help_text=_("Empty: the rule applies in every store of the group."),
    )
    scope = models.CharField(_("powertrain"), max_length=8, choices=IntervalScope.choices, default=IntervalScope.ALL)
    brand = models.CharField(_("brand"), max_length=40, blank=True, help_text=_("Empty: every brand."))
    model_pattern = models.CharField(
        _("model contains"), max_length=60, blank=True, help_text=_("Empty: every model of the brand.")
    )
    every_km = models.PositiveIntegerField(
        _("every (km)"), validators=[MinValueValidator(1000), MaxValueValidator(100_000)]
    )
    every_months = models.PositiveSmallIntegerField(
        _("every (months)"), validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    first_km = models.PositiveIntegerField(
        _("first maintenance at (km)"), validators=[MinValueValidator(500), MaxValueValidator(100_000)]
    )
    first_months = models.PositiveSmallIntegerField(
        _("first maintenance after (months)"), validators=[MinValueValidator(1), MaxValueValidator(60)]
    )

    class Meta:
        verbose_name = _("service interval")
        verbose_name_plural = _("service intervals")
        ordering = ["group", "store", "scope", "brand", "model_pattern", "id"]

    def __str__(self) -> str:
        what = " ".join(x for x in (self.brand, self.model_pattern) if x) or str(self.get_scope_display())
        return f"{what}: {self.every_km} km / {self.every_months}"

    @property
    def specificity(self) -> int:
        """Higher is more specific (the store's own rule first, then model, brand, powertrain)."""
        return (
            (8 if self.store_id else 0)
            + (4 if self.model_pattern else 0)
            + (2 if self.brand else 0)
            + (1 if self.scope != IntervalScope.ALL else 0)
        )


class Reminder(BaseModel):
    """One due item of one vehicle (or, for a birthday, one customer), from scheduled to sent."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="reminders")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="reminders"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices)
    due_key = models.CharField(_("due item"), max_length=40)
    due_on = models.DateField(_("due on"), db_index=True)
    remind_on = models.DateField(_("remind on"), db_index=True)
    due_km = models.PositiveIntegerField(_("due at (km)"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ReminderState.choices, default=ReminderState.SCHEDULED, db_index=True
    )
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(_("times sent"), default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message = models.ForeignKey(
        OutboxMessage,
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["remind_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "kind", "due_key"],
                condition=Q(vehicle__isnull=False),
                name="reminder_once_per_vehicle_item",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "due_key"],
                condition=Q(vehicle__isnull=True),
                name="reminder_once_per_customer_item",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "state", "remind_on"]),
            # which stored KPI figures a change makes stale (analytics/snapshots.py)
            models.Index(fields=["updated_at"], name="reminders_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on:%Y-%m-%d}"
