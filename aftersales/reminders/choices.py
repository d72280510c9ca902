"""The reminders' kinds and states (SPEC §5 "Reminders" and the tier-C first-maintenance reminder)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReminderKind(models.TextChoices):
    FIRST_MAINTENANCE = "first_maintenance", _("First maintenance")
    MAINTENANCE = "maintenance", _("Maintenance")
    INSURANCE = "insurance", _("Insurance expiry")
    INSPECTION = "inspection", _("Annual inspection")
    BIRTHDAY = "birthday", _("Birthday")
    DEFERRED_WORK = "deferred_work", _("Deferred work")


class ReminderState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    SUPPRESSED = "suppressed", _("Not sent (no consent or no address)")
    SNOOZED = "snoozed", _("Snoozed")
    CANCELLED = "cancelled", _("No longer due")


# States in which a reminder may still go out (the sweep looks at these only).
OPEN_STATES = frozenset({ReminderState.SCHEDULED, ReminderState.SNOOZED})


class IntervalScope(models.TextChoices):
    """Which powertrains a service-interval rule covers."""

    ALL = "all", _("Every vehicle")
    FUEL = "fuel", _("Petrol, diesel and hybrid (not NEV)")
    NEV = "nev", _("New-energy vehicles (NEV)")
