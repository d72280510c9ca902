"""Pick-up and drop-off as a job (取送车): the driver collects the customer's car, the check-in puts it at the store,
and the driver brings it back once its order is ready.  Each move is in the rulebook (`transitions.PICKUP`): the
driver makes them on the pick-ups assigned to them, the advisor on any of the store; each is recorded with its
time, who made it and an optional photo of the car as it was handed over."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.models import Membership
from aftersales.organisation.permissions import Capability, roles_with
from aftersales.organisation.rules import Actor, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import AppointmentStatus, PickupStatus, RepairOrderStatus
from aftersales.service.models import Appointment, PickupEvent, RepairOrder
from aftersales.service.services.uploads import IMAGE_TYPES, sniff
from aftersales.service.transitions import PICKUP, PICKUP_MOVE

# The roles that may be named as a booking's driver: those holding DRIVE (today the driver alone).
DRIVER_ROLES = roles_with(Capability.DRIVE)

NOT_A_DRIVER = gettext_noop("Choose one of the store's drivers.")
NO_PICKUP = gettext_noop("This booking has no pick-up.")
UNKNOWN_MOVE = gettext_noop("Choose collected or delivered back.")
NOT_BOOKED = gettext_noop("The car can be collected only for a booking still to come.")
NOT_READY = gettext_noop("The car can be brought back once its repair order is ready.")
LOST_RACE = gettext_noop("Someone else moved this pick-up meanwhile; reload and try again.")
PHOTO_ONLY = gettext_noop("Only photos (JPEG, PNG, WebP, HEIC) can be added here.")
PHOTO_TOO_BIG = gettext_noop("This photo is {size:.1f} MB; the limit is {limit} MB.")

_STAMPS: dict[str, str] = {PickupStatus.COLLECTED: "collected_at", PickupStatus.DELIVERED_BACK: "delivered_back_at"}


def is_driver(user: Any, *, store_id: int) -> bool:
    """Whether `user` is an active driver of the store (the only people a pick-up may be assigned to)."""
    return Membership.objects.filter(user=user, user__is_active=True, store_id=store_id, role__in=DRIVER_ROLES).exists()


def _photo(appointment: Appointment, photo: UploadedFile | None) -> str:
    """The photo's real content type (by its first bytes, never its name), or "" when none was given."""
    if photo is None or not photo.size:
        return ""
    head = photo.read(32)
    photo.seek(0)
    content_type = sniff(head)
    if content_type not in IMAGE_TYPES:
        raise ValidationError({"photo": [_(PHOTO_ONLY)]})
    limit_mb = int(setting_values_for_store(appointment.store)["max_photo_mb"])
    if photo.size > limit_mb * 1024 * 1024:
        raise ValidationError({"photo": [_(PHOTO_TOO_BIG).format(size=photo.size / 1024 / 1024, limit=limit_mb)]})
    photo.name = f"{secrets.token_hex(12)}{IMAGE_TYPES[content_type]}"
    return content_type


def _move(appointment: Appointment, *, source: str, target: str, name: str, by: Actor, photo: Any = None) -> None:
    """Compare-and-set the status (a lost race is refused), stamp the time, write the event and the audit entry."""
    now = clock.now()
    stamp = {_STAMPS[target]: now} if target in _STAMPS else {}
    updated = Appointment.objects.filter(pk=appointment.pk, pickup=True, pickup_status=source).update(
        pickup_status=target, updated_at=now, **stamp
    )
    if not updated:
        raise ApplicationError(_(LOST_RACE))
    content_type = _photo(appointment, photo)
    event = PickupEvent.objects.create(
        appointment=appointment,
        move=name,
        from_status=source,
        to_status=target,
        at=now,
        by=actor_user(by),
        photo=photo if content_type else "",
        content_type=content_type,
    )
    audit_record(
        actor=actor_user(by),
        action=f"appointment.pickup_{name}",
        obj=appointment,
        changes={"pickup_status": [source, target], "photo": bool(content_type), "event": event.pk},
    )


@transaction.atomic
def pickup_record(*, appointment: Appointment, move: str, by: Actor, photo: UploadedFile | None = None) -> Appointment:
    """The driver's (or the advisor's) move of a pick-up: `collect` or `deliver_back`, with an optional photo.
    PermissionDenied for a role the rulebook does not allow (the driver only on their own pick-up); 409 from a
    state the move does not start from; the guards: a booking still to come to collect, an order ready or
    delivered to bring back."""
    names = [m.name for m in PICKUP.moves if m.via == PICKUP_MOVE]
    if move not in names:
        raise ValidationError({"move": [_(UNKNOWN_MOVE)]})
    chosen = PICKUP.get(move)
    PICKUP.authorise(chosen, actor=by, store_id=appointment.store_id, assignee_id=appointment.driver_id)
    appointment = Appointment.objects.select_for_update().select_related("store").get(pk=appointment.pk)
    if not appointment.pickup:
        raise ApplicationError(_(NO_PICKUP))
    PICKUP.require(
        chosen,
        actor=by,
        state=appointment.pickup_status,
        store_id=appointment.store_id,
        assignee_id=appointment.driver_id,
    )
    if move == "collect" and appointment.status != AppointmentStatus.BOOKED:
        raise ApplicationError(_(NOT_BOOKED))
    if move == "deliver_back":
        order_status = RepairOrder.objects.filter(appointment=appointment).values_list("status", flat=True).first()
        if order_status not in (RepairOrderStatus.READY, RepairOrderStatus.DELIVERED):
            raise ApplicationError(_(NOT_READY))
    _move(appointment, source=appointment.pickup_status, target=chosen.target or "", name=move, by=by, photo=photo)
    appointment.refresh_from_db()
    return appointment


def pickup_arrived(*, appointment: Appointment, by: Actor) -> None:
    """At the check-in of a booking with pick-up the car is at the store (whether or not the driver recorded the
    collection).  Called inside `appointment_check_in`'s transaction."""
    state = Appointment.objects.filter(pk=appointment.pk, pickup=True).values_list("pickup_status", flat=True).first()
    if state not in (PickupStatus.PLANNED, PickupStatus.COLLECTED):
        return
    PICKUP.require(PICKUP.get("arrive"), actor=by, state=state, store_id=appointment.store_id)
    _move(appointment, source=state, target=PickupStatus.AT_STORE, name="arrive", by=by)
