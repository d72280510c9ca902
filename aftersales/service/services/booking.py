"""Slots and appointments.  The last place of a slot is taken with a conditional UPDATE
(`booked < capacity`), so two bookings can never take it both — on PostgreSQL and on SQLite."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import refuse_control_characters
from aftersales.customers import crypto
from aftersales.customers import selectors as customer_selectors
from aftersales.customers import services as customer_services
from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Bay, Membership, OpeningHours, Store
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import AppointmentStatus, BookingChannel, PickupStatus, ServiceType
from aftersales.service.models import AdvisorSlotLoad, Appointment, Slot
from aftersales.service.services import pickups
from aftersales.service.transitions import APPOINTMENT

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SLOT_FULL = gettext_noop("This slot is full. Please choose another time.")
NOT_AN_ADVISOR = gettext_noop("This person is not an advisor of the store.")
ADVISOR_FULL = gettext_noop("The chosen advisor has no place left in this slot. Choose another advisor or time.")


def slot_capacity(store: Store, *, per_advisor: int) -> int:
    """Cars a slot can take: limited by active bays and by what the advisors can receive."""
    bays = Bay.objects.filter(store=store, is_active=True).count()
    advisors = Membership.objects.filter(store=store, role=Role.ADVISOR).values("user").distinct().count()
    return max(min(bays, advisors * per_advisor), 0)


def slots_ensure(*, store: Store, day: dt.date) -> list[Slot]:
    """The store's slots of `day`, created from its opening hours the first time anybody asks."""
    tz = timezone.get_current_timezone()
    day_start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    existing = list(Slot.objects.filter(store=store, start__gte=day_start, start__lt=day_start + dt.timedelta(days=1)))
    if existing:
        return sorted(existing, key=lambda s: s.start)
    values = setting_values_for_store(store)
    length = dt.timedelta(minutes=int(values["slot_minutes"]))
    capacity = slot_capacity(store, per_advisor=int(values["bookings_per_advisor_per_slot"]))
    slots = []
    for hours in OpeningHours.objects.filter(store=store, weekday=day.weekday()).order_by("opens"):
        start = dt.datetime.combine(day, hours.opens, tzinfo=tz)
        closes = dt.datetime.combine(day, hours.closes, tzinfo=tz)
        while start + length <= closes:
            slots.append(Slot(store=store, start=start, end=start + length, capacity=capacity))
            start += length
    if not slots or capacity == 0:
        return []
    Slot.objects.bulk_create(slots, ignore_conflicts=True)  # another request may have created them meanwhile
    return list(
        Slot.objects.filter(store=store, start__gte=day_start, start__lt=day_start + dt.timedelta(days=1)).order_by(
            "start"
        )
    )


def slots_ensure_bookable(*, store: Store, day: dt.date) -> None:
    """Make the day's slots when it lies in the booking window (yesterday to the horizon and a day), so a
    page can then read them; a far date creates nothing.  Pages and the API call this before the read."""
    today = clock.today()
    horizon = int(setting_values_for_store(store)["booking_horizon_days"])
    if today - dt.timedelta(days=1) <= day <= today + dt.timedelta(days=horizon + 1):
        slots_ensure(store=store, day=day)


def _bookable_window(values: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    now = clock.now()
    return now + dt.timedelta(minutes=int(values["booking_lead_minutes"])), now + dt.timedelta(
        days=int(values["booking_horizon_days"])
    )


def _slot_at(store: Store, start: dt.datetime, errors: dict[str, list[str]], values: dict[str, Any]) -> Slot | None:
    """The slot starting at `start`: one indexed lookup; the day's slots are made only the first time."""
    if timezone.is_naive(start):
        errors.setdefault("start", []).append(_("Give the time with its offset, e.g. 2026-11-24T09:00:00+08:00."))
        return None
    earliest, latest = _bookable_window(values)
    if start < earliest:
        errors.setdefault("start", []).append(_("This time has passed or is too soon to book."))
        return None
    if start > latest:
        errors.setdefault("start", []).append(
            _("Bookings are open for the coming {days} days only.").format(days=(latest - clock.now()).days)
        )
        return None
    slot = Slot.objects.filter(store=store, start=start).order_by("pk").first()  # unique; no join for the order
    if slot is None:
        local = timezone.localtime(start)
        slot = next((s for s in slots_ensure(store=store, day=local.date()) if s.start == start), None)
    if slot is None:
        errors.setdefault("start", []).append(_("The store has no slot starting at this time."))
    return slot


def _claim(slot: Slot, advisor: Any, per_advisor: int) -> None:
    if not Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1):
        raise ApplicationError(_(SLOT_FULL), {"code": "slot_full"})
    if advisor is not None:
        AdvisorSlotLoad.objects.bulk_create([AdvisorSlotLoad(slot=slot, advisor=advisor)], ignore_conflicts=True)
        if not AdvisorSlotLoad.objects.filter(slot=slot, advisor=advisor, booked__lt=per_advisor).update(
            booked=F("booked") + 1
        ):
            raise ApplicationError(_(ADVISOR_FULL), {"code": "advisor_full"})


def _release(slot: Slot, advisor: Any) -> None:
    Slot.objects.filter(pk=slot.pk, booked__gt=0).update(booked=F("booked") - 1)
    if advisor is not None:
        AdvisorSlotLoad.objects.filter(slot=slot, advisor=advisor, booked__gt=0).update(booked=F("booked") - 1)


def _check_advisor(store: Store, advisor: Any, errors: dict[str, list[str]]) -> None:
    if (
        advisor is not None
        and not Membership.objects.filter(user=advisor, store=store, role=Role.ADVISOR, user__is_active=True).exists()
    ):
        errors.setdefault("advisor", []).append(_(NOT_AN_ADVISOR))


@transaction.atomic
def appointment_book(
    *,
    store: Store,
    start: dt.datetime,
    service_type: str,
    channel: str,
    customer: Customer,
    vehicle: Vehicle,
    by: Actor,
    advisor: User | None = None,
    customer_words: str = "",
    pickup_address: str = "",
    pickup_from: dt.datetime | None = None,
    pickup_to: dt.datetime | None = None,
) -> Appointment:
    """Book a place; raises ValidationError naming bad fields, ApplicationError when the slot is full."""
    APPOINTMENT.authorise(APPOINTMENT.get("book"), actor=by, store_id=store.pk)
    refuse_control_characters(customer_words=customer_words, pickup_address=pickup_address)
    errors: dict[str, list[str]] = {}
    if service_type not in ServiceType.values:
        errors["service_type"] = [_("Choose one of: {options}.").format(options=", ".join(ServiceType.values))]
    if channel not in BookingChannel.values:
        errors["channel"] = [_("Choose one of: {options}.").format(options=", ".join(BookingChannel.values))]
    if not customer_selectors.is_linked(customer, store.pk):
        errors["customer"] = [_("No customer with this id in the store.")]
    if vehicle.customer_id != customer.pk:
        errors["vehicle"] = [_("This vehicle does not belong to the customer.")]
    if len(customer_words) > 300:
        errors["customer_words"] = [_("At most 300 characters.")]
    _check_advisor(store, advisor, errors)
    pickup = bool(pickup_address or pickup_from or pickup_to)
    if pickup:
        if not pickup_address.strip():
            errors["pickup_address"] = [_("Enter the address where the car is picked up.")]
        if not (pickup_from and pickup_to) or pickup_to <= pickup_from:
            errors["pickup_from"] = [_("Give a pick-up window whose end is after its start.")]
        elif pickup_to > start:
            errors["pickup_to"] = [_("The pick-up window must end before the booked time.")]
    values = setting_values_for_store(store)
    slot = _slot_at(store, start, errors, values) if "start" not in errors else None
    if errors or slot is None:
        raise ValidationError(errors)
    per_advisor = int(values["bookings_per_advisor_per_slot"])
    _claim(slot, advisor, per_advisor)
    appointment = Appointment.objects.create(
        store=store,
        slot=slot,
        customer=customer,
        vehicle=vehicle,
        service_type=service_type,
        channel=channel,
        advisor=advisor,
        customer_words=customer_words.strip(),
        pickup=pickup,
        pickup_status=PickupStatus.PLANNED if pickup else "",
        pickup_address_encrypted=crypto.encrypt(pickup_address.strip()) if pickup else "",
        pickup_from=pickup_from if pickup else None,
        pickup_to=pickup_to if pickup else None,
        created_by=actor_user(by),
    )
    audit_record(
        actor=actor_user(by),
        action="appointment.book",
        obj=appointment,
        changes={"start": start.isoformat(), "channel": channel, "service_type": service_type},
    )
    _notify(appointment, "booking_confirmed", values)
    return appointment


@transaction.atomic
def appointment_book_for_visitor(
    *,
    store: Store,
    start: dt.datetime,
    service_type: str,
    channel: str,
    name: str,
    phone: str,
    plate: str,
    vin: str = "",
    brand: str = "",
    model_name: str = "",
    consents: dict[str, bool] | None = None,
    customer_words: str = "",
    pickup_address: str = "",
    pickup_from: dt.datetime | None = None,
    pickup_to: dt.datetime | None = None,
    advisor: User | None = None,
) -> Appointment:
    """A booking made by the customer from the store's page: who and which car by the customers app's one
    matching rule, then the place; all or nothing (a full slot leaves no new customer behind).  The customer
    may choose an advisor of the store; anyone else is refused before anything is written."""
    APPOINTMENT.authorise(APPOINTMENT.get("book"), actor=Party.CUSTOMER, store_id=store.pk)
    errors: dict[str, list[str]] = {}
    _check_advisor(store, advisor, errors)
    if errors:
        raise ValidationError(errors)
    customer, vehicle = customer_services.customer_and_vehicle_find_or_create(
        store=store,
        by=None,
        plate=plate,
        phone=phone,
        name=name,
        vin=vin,
        brand=brand,
        model_name=model_name,
        consents=consents,
        consent_channel=ConsentChannel.CUSTOMER_LINK,
    )
    return appointment_book(
        by=Party.CUSTOMER,
        store=store,
        start=start,
        service_type=service_type,
        channel=channel,
        customer=customer,
        vehicle=vehicle,
        customer_words=customer_words,
        pickup_address=pickup_address,
        pickup_from=pickup_from,
        pickup_to=pickup_to,
        advisor=advisor,
    )


@transaction.atomic
def appointment_reschedule(*, appointment: Appointment, start: dt.datetime, by: Actor) -> Appointment:
    """Move a booking to another slot: the new place is claimed before the old one is given back.  `by` is the
    member of staff, or Party.CUSTOMER through the customer's own link."""
    appointment = Appointment.objects.select_for_update().select_related("slot", "store").get(pk=appointment.pk)
    _authorise(appointment, "reschedule", by)
    if appointment.status != AppointmentStatus.BOOKED:
        raise ApplicationError(
            _("Only a booked appointment can be moved; this one is {status}.").format(
                status=appointment.get_status_display()
            )
        )
    errors: dict[str, list[str]] = {}
    values = setting_values_for_store(appointment.store)
    slot = _slot_at(appointment.store, start, errors, values)
    if errors:
        raise ValidationError(errors)
    if slot.pk == appointment.slot_id:  # type: ignore[union-attr]
        return appointment
    per_advisor = int(values["bookings_per_advisor_per_slot"])
    _claim(slot, appointment.advisor, per_advisor)  # type: ignore[arg-type]
    old = appointment.slot
    _release(old, appointment.advisor)
    appointment.slot = slot  # type: ignore[assignment]
    appointment.save(update_fields=["slot", "updated_at"])
    audit_record(
        actor=actor_user(by),
        action="appointment.reschedule",
        obj=appointment,
        changes={"start": [old.start.isoformat(), start.isoformat()]},
    )
    _notify(appointment, "booking_rescheduled", values)
    return appointment


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by: Actor, reason: str = "") -> Appointment:
    appointment = Appointment.objects.select_for_update().select_related("slot").get(pk=appointment.pk)
    _authorise(appointment, "cancel", by)
    if appointment.status != AppointmentStatus.BOOKED:
        raise ApplicationError(
            _("Only a booked appointment can be cancelled; this one is {status}.").format(
                status=appointment.get_status_display()
            )
        )
    refuse_control_characters(reason=reason)
    if len(reason) > 200:
        raise ValidationError({"reason": [_("At most 200 characters.")]})
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED, cancelled_at=clock.now(), cancel_reason=reason.strip()
    )
    if not updated:
        raise ApplicationError(_("Someone else changed this appointment meanwhile; reload and try again."))
    _release(appointment.slot, appointment.advisor)
    appointment.refresh_from_db()
    audit_record(actor=actor_user(by), action="appointment.cancel", obj=appointment, changes={"reason": reason})
    _notify(appointment, "booking_cancelled")
    return appointment


@transaction.atomic
def appointment_assign_driver(*, appointment: Appointment, driver: User, by: Actor) -> Appointment:
    """Name the booking's driver: only an active driver of the store (anyone else — another store's person, a
    colleague without the driver role — is refused alike, naming the field).  The customer is told the driver's
    name through the outbox."""
    _authorise(appointment, "assign_driver", by)
    if not appointment.pickup:
        raise ApplicationError(_(pickups.NO_PICKUP))
    if driver is None or not pickups.is_driver(driver, store_id=appointment.store_id):
        raise ValidationError({"driver": [_(pickups.NOT_A_DRIVER)]})
    if appointment.driver_id == driver.pk:
        return appointment
    appointment.driver = driver
    appointment.save(update_fields=["driver", "updated_at"])
    audit_record(actor=actor_user(by), action="appointment.driver", obj=appointment, changes={"driver": driver.pk})
    from aftersales.service.services.notifications import driver_assigned_message

    driver_assigned_message(appointment=appointment)
    return appointment


def _authorise(appointment: Appointment, move: str, by: Actor) -> None:
    APPOINTMENT.authorise(APPOINTMENT.get(move), actor=by, store_id=appointment.store_id)


def _notify(appointment: Appointment, template: str, values: dict[str, Any] | None = None) -> None:
    """The confirmation message through the outbox (service notices need no consent); `values`: the store's
    settings when the caller has read them already."""
    from aftersales.service.services.notifications import appointment_message

    appointment_message(appointment=appointment, template=template, values=values)
