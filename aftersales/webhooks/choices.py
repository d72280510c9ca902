"""The closed set of event types an integrator may subscribe to, and the scope of a subscription."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    ORDER_STATUS_CHANGED = "order.status_changed", _("Repair order status changed")
    ESTIMATE_ANSWERED = "estimate.answered", _("Estimate answered")
    SURVEY_ANSWERED = "survey.answered", _("Survey answered")
    COMPLAINT_OPENED = "complaint.opened", _("Complaint opened")
    COMPLAINT_ESCALATED = "complaint.escalated", _("Complaint escalated")
    COMPLAINT_CLOSED = "complaint.closed", _("Complaint closed")
    COMPLAINT_REOPENED = "complaint.reopened", _("Complaint reopened")
    APPOINTMENT_BOOKED = "appointment.booked", _("Appointment booked")
    APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")


# Sent by "test" to one subscription whatever it subscribes to; never subscribed to.
PING = "ping"
ALL_TYPES: tuple[str, ...] = tuple(EventType.values)


class Scope(models.TextChoices):
    GROUP = "group", _("Every store of the dealer group")
    STORE = "store", _("One store")
