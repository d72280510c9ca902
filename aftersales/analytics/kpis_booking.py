"""Booking and follow-up KPIs (KPIS.md): follow-up within 24 h, online booking rate, on-time start."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.kpis_common import Context, ShareRule, entry, in_period
from aftersales.feedback.choices import FollowUpStatus
from aftersales.service.choices import BookingChannel, RepairOrderStatus
from aftersales.service.models import Appointment, RepairOrder

REACHED = [FollowUpStatus.DONE, FollowUpStatus.REFUSED]


def delivered_orders(ctx: Context) -> QuerySet[RepairOrder]:
    """Closed visits of the period: orders delivered in it (a cancelled order is never delivered)."""
    return RepairOrder.objects.filter(in_period("delivered_at", ctx.period), status=RepairOrderStatus.DELIVERED)


def _follow_up_pending(ctx: Context) -> Q:
    # Not reached yet and the clock still runs: the follow-up's stored due time, or (before the sweep has opened
    # it) delivery + the due hours.
    not_before = ctx.now - dt.timedelta(hours=ctx.setting("follow_up_due_hours"))
    return Q(follow_up__isnull=False, follow_up__due_at__gt=ctx.now) & ~Q(follow_up__status__in=REACHED) | Q(
        follow_up__isnull=True, delivered_at__gt=not_before
    )


entry(
    ShareRule(
        base=delivered_orders,
        meets=lambda ctx: Q(follow_up__status__in=REACHED, follow_up__closed_at__lte=F("follow_up__due_at")),
        pending=_follow_up_pending,
        advisor="advisor_id",
        technician="technician_id",
    ),
    key="follow_up_within_24h_percent",
    label=_("Follow-up within 24 h"),
    definition=_(
        "Orders delivered in the period whose customer was reached by the follow-up (surveyed or declined) by its "
        "due time; unreachable and late count as failures."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_follow_up_in_time_percent",
    cuts=("advisor", "technician"),
    area="booking",
)


def _appointments(ctx: Context) -> QuerySet[Appointment]:
    return Appointment.objects.filter(in_period("slot__start", ctx.period))


entry(
    ShareRule(
        base=_appointments,
        meets=lambda ctx: Q(channel=BookingChannel.ONLINE),
        advisor="advisor_id",
    ),
    key="online_booking_rate_percent",
    label=_("Online booking rate"),
    definition=_("Appointments whose slot starts in the period (any status) booked through the online channel."),
    unit="percent",
    direction="higher",
    target_setting="target_online_booking_percent",
    cuts=("advisor",),
    area="booking",
)


def _booked_arrivals(ctx: Context) -> QuerySet[RepairOrder]:
    return RepairOrder.objects.filter(in_period("arrived_at", ctx.period), appointment__isnull=False).exclude(
        status=RepairOrderStatus.CANCELLED
    )


def _on_time(ctx: Context) -> Q:
    window = dt.timedelta(minutes=ctx.setting("on_time_start_minutes"))
    return Q(
        arrived_at__gte=F("appointment__slot__start") - window,
        arrived_at__lte=F("appointment__slot__start") + window,
    )


entry(
    ShareRule(base=_booked_arrivals, meets=_on_time, advisor="advisor_id"),
    key="on_time_start_percent",
    label=_("On-time start"),
    definition=_(
        "Booked orders arrived in the period whose customer arrived and was received within ±15 min of the slot start."
    ),
    unit="percent",
    direction="higher",
    target_setting="target_on_time_start_percent",
    cuts=("advisor",),
    area="booking",
)
