"""Signed, expiring, single-purpose links for customers (no account needed).

A link names one object and one purpose (the salt): an appointment link cannot open a repair order and a
repair-order link of one order cannot open another.  Repair-order links also carry the order's `link_nonce`,
so rotating the nonce revokes every link sent before.
"""

from __future__ import annotations

import time

from django.core import signing
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.models import Appointment, RepairOrder

ORDER_SALT = "aftersales.service.repair-order-link"
APPOINTMENT_SALT = "aftersales.service.appointment-link"
LINK_INVALID = gettext_noop("This link is not valid. Please use the latest link we sent you, or call the store.")
LINK_EXPIRED = gettext_noop("This link has expired. Please call the store for a new one.")


def order_link_token(order: RepairOrder, *, days: int | None = None) -> str:
    """The link carries its own expiry (the store's `customer_link_days` at signing), so opening it needs no
    settings lookup; signing time still bounds it to a year."""
    if days is None:
        days = int(setting_values_for_store(order.store)["customer_link_days"])
    expires = int(time.time()) + days * 86400
    return signing.dumps({"o": order.pk, "n": order.link_nonce, "e": expires}, salt=ORDER_SALT, compress=True)


def appointment_link_token(appointment: Appointment) -> str:
    return signing.dumps({"a": appointment.pk}, salt=APPOINTMENT_SALT, compress=True)


def _load(token: str, salt: str, max_days: int) -> dict:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_days * 86400)
    except signing.SignatureExpired as exc:
        raise ApplicationError(_(LINK_EXPIRED), {"code": "link_expired"}) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"}) from exc
    if not isinstance(payload, dict):
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    return payload


def order_token_payload(token: str, *, max_days: int = 366) -> tuple[int, str]:
    """(order id, link key) of a valid, unexpired order link, without touching the database."""
    payload = _load(token, ORDER_SALT, max_days)
    expires = payload.get("e")
    if not isinstance(expires, int) or expires < time.time():
        raise ApplicationError(_(LINK_EXPIRED), {"code": "link_expired"})
    order_id, nonce = payload.get("o"), payload.get("n")
    if not isinstance(order_id, int) or not isinstance(nonce, str):
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    return order_id, nonce


def order_from_token(token: str, *, max_days: int = 366) -> RepairOrder:
    """The order a link names, in one query; an expired or revoked link is refused."""
    order_id, nonce = order_token_payload(token, max_days=max_days)
    order = (
        RepairOrder.objects.select_related("store", "vehicle", "customer", "advisor__staff_profile", "technician")
        .filter(pk=order_id, link_nonce=nonce)
        .first()
    )
    if order is None:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    return order


def appointment_from_token(token: str) -> Appointment:
    payload = _load(token, APPOINTMENT_SALT, 366)
    appointment_id = payload.get("a")
    if not isinstance(appointment_id, int):
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    appointment = (
        Appointment.objects.select_related(
            "store", "slot", "vehicle", "customer", "advisor__staff_profile", "driver__staff_profile"
        )
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    days = int(setting_values_for_store(appointment.store)["customer_link_days"])
    _load(token, APPOINTMENT_SALT, days)
    return appointment
