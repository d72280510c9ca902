"""Reads of pick-up and drop-off (取送车): the driver's list of the day, for the driver's phone and the API.

A driver sees the pick-ups assigned to them, with the address and the phone in full (they drive there and call);
whoever receives cars at the store (RECEIVE) sees every pick-up of their stores, masked like everywhere else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone

from aftersales.core.scoping import store_ids_where
from aftersales.customers import crypto
from aftersales.customers.validators import mask_address, mask_mobile
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Move
from aftersales.service.choices import PICKUP_BADGES, AppointmentStatus, PickupStatus, RepairOrderStatus
from aftersales.service.models import Appointment, PickupEvent
from aftersales.service.transitions import pickup_moves_for

PICKUP = "pickup"
DROP_OFF = "drop_off"
# A car goes back to its customer once its order is ready (or already handed over on paper at the desk).
RETURNABLE = (RepairOrderStatus.READY, RepairOrderStatus.DELIVERED)


@dataclass(frozen=True)
class PickupRow:
    """One job of the list: the booking, what the user may read of it and the moves they may make now."""

    appointment: Appointment
    kind: str  # PICKUP or DROP_OFF
    full: bool  # the user is this job's driver: address and phone in full
    address: str
    phone: str  # what is shown: in full for the driver, masked for others
    dial: str  # the number for the tel: link (the driver only), else ""
    moves: list[Move]
    events: list[PickupEvent]

    @property
    def driver_name(self) -> str:
        driver = self.appointment.driver
        if driver is None:
            return ""
        profile = getattr(driver, "staff_profile", None)
        return profile.display_name if profile else driver.get_username()

    @property
    def badge(self) -> str:
        return PICKUP_BADGES.get(self.appointment.pickup_status, "secondary")

    @property
    def order_status(self) -> str | None:
        order = getattr(self.appointment, "repair_order", None)
        return order.status if order is not None else None


@dataclass(frozen=True)
class PickupList:
    day: dt.date
    pickups: list[PickupRow]
    drop_offs: list[PickupRow]

    @property
    def shown_in_full(self) -> list[int]:
        return [row.appointment.pk for row in (*self.pickups, *self.drop_offs) if row.full]


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def pickup_list(*, user: Any, store_ids: frozenset[int] | None = None, day: dt.date) -> PickupList:
    """The day's pick-ups (booked for that day, not cancelled) and drop-offs (cars at the store whose order is
    ready, and those brought back that day).  Two queries whatever the number of jobs (bookings with everything
    the list shows, then their pick-up events), after the user's roles."""
    driving = store_ids_where(user, Capability.DRIVE)
    receiving = store_ids_where(user, Capability.RECEIVE)
    if store_ids is not None:
        driving, receiving = driving & store_ids, receiving & store_ids
    start, end = _day_bounds(day)
    due_today = Q(slot__start__gte=start, slot__start__lt=end) & ~Q(
        status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]
    )
    back = Q(pickup_status=PickupStatus.AT_STORE, repair_order__status__in=RETURNABLE) | Q(
        delivered_back_at__gte=start, delivered_back_at__lt=end
    )
    rows = (
        Appointment.objects.filter(Q(store_id__in=receiving) | Q(store_id__in=driving, driver=user), pickup=True)
        .filter(due_today | back)
        .select_related("store", "slot", "customer", "vehicle", "driver__staff_profile", "repair_order")
        .prefetch_related(Prefetch("pickup_events", queryset=PickupEvent.objects.order_by("at", "id")))
        .order_by("pickup_from", "id")
    )
    pickups: list[PickupRow] = []
    drop_offs: list[PickupRow] = []
    for appointment in rows:
        full = appointment.driver_id == user.pk and appointment.store_id in driving
        address = crypto.decrypt(appointment.pickup_address_encrypted) if appointment.pickup_address_encrypted else ""
        phone = appointment.customer.phone
        order = getattr(appointment, "repair_order", None)
        is_drop_off = appointment.pickup_status == PickupStatus.DELIVERED_BACK or (
            appointment.pickup_status == PickupStatus.AT_STORE and order is not None and order.status in RETURNABLE
        )
        row = PickupRow(
            appointment=appointment,
            kind=DROP_OFF if is_drop_off else PICKUP,
            full=full,
            address=address if full else mask_address(address),
            phone=phone if full else mask_mobile(phone),
            dial=phone if full else "",
            moves=pickup_moves_for(appointment=appointment, user=user),
            events=list(appointment.pickup_events.all()),
        )
        (drop_offs if is_drop_off else pickups).append(row)
    return PickupList(day=day, pickups=pickups, drop_offs=drop_offs)
