"""Messages of the service process, through the messaging outbox.  Service notices rest on the service
contract, so they need no marketing consent."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from aftersales.messaging.choices import Language
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.services import staff_notify
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import LineDecision, ServiceType
from aftersales.service.models import Appointment, Estimate, RepairOrder
from aftersales.service.services.links import appointment_link_token, order_link_token

DOCUMENTS = {
    "maintenance": "行驶证、保养手册",
    "repair": "行驶证",
    "inspection": "行驶证",
    "warranty": "行驶证、保修手册、购车发票",
    "bodywork": "行驶证、保险单",
    "nev_check": "行驶证、充电卡（如有）",
}


def _absolute(path: str) -> str:
    from django.conf import settings

    return f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}"


def _customer_link(path: str) -> str:
    """A customer's link opens in the language of the message that carries it (core/language.py); service
    messages are written in the outbox's default language."""
    return f"{_absolute(path)}?lang={Language.ZH_HANS}"


def appointment_message(*, appointment: Appointment, template: str, values: dict[str, Any] | None = None) -> None:
    """`values`: the store's settings, when the caller (a booking) has just read them."""
    store = appointment.store
    values = setting_values_for_store(store) if values is None else values
    start = timezone.localtime(appointment.slot.start)
    link = _customer_link(reverse("service:customer-appointment", args=[appointment_link_token(appointment)]))
    message_enqueue(
        store=store,
        template=template,
        customer=appointment.customer,
        purpose="service",
        related=appointment,
        dedupe_key=f"{template}:{appointment.pk}:{appointment.slot_id}:{appointment.status}",
        context={
            "name": appointment.customer.name,
            "store": store.name,
            "address": store.address,
            "directions": store.directions or store.address,
            "phone": store.phone,
            "time": f"{start:%Y-%m-%d %H:%M}",
            "service": ServiceType(appointment.service_type).label,  # lazy: rendered in the message's language
            "wait_minutes": int(values.get(f"duration_{appointment.service_type}_minutes", 60)),
            "documents": DOCUMENTS.get(appointment.service_type, "行驶证"),
            "link": link,
            "plate": appointment.vehicle.plate or appointment.vehicle.vin,
        },
    )


def driver_assigned_message(*, appointment: Appointment) -> None:
    """The customer is told who will collect the car and when (again whenever another driver is named)."""
    store = appointment.store
    driver = appointment.driver
    profile = getattr(driver, "staff_profile", None)
    window_from, window_to = timezone.localtime(appointment.pickup_from), timezone.localtime(appointment.pickup_to)
    link = _absolute(reverse("service:customer-appointment", args=[appointment_link_token(appointment)]))
    message_enqueue(
        store=store,
        template="pickup_driver_assigned",
        customer=appointment.customer,
        purpose="service",
        related=appointment,
        dedupe_key=f"pickup_driver_assigned:{appointment.pk}:{appointment.driver_id}",
        context={
            "name": appointment.customer.name,
            "store": store.name,
            "driver": profile.display_name if profile else driver.get_username(),  # type: ignore[union-attr]
            "window": f"{window_from:%Y-%m-%d %H:%M}–{window_to:%H:%M}",
            "plate": appointment.vehicle.plate or appointment.vehicle.vin,
            "link": link,
            "phone": store.phone,
        },
    )


def order_message(*, order: RepairOrder, template: str, dedupe_key: str = "") -> None:
    link = _customer_link(reverse("service:customer-order", args=[order_link_token(order)]))
    message_enqueue(
        store=order.store,
        template=template,
        customer=order.customer,
        purpose="service",
        related=order,
        dedupe_key=dedupe_key or f"{template}:{order.pk}",
        context={
            "name": order.customer.name,
            "store": order.store.name,
            "number": order.number,
            "link": link,
            "plate": order.vehicle.plate or order.vehicle.vin,
            "phone": order.store.phone,
        },
    )


def staff_alert(
    *,
    store: Store,
    roles: list[str],
    text: str = "",
    related: Any = None,
    dedupe_key: str = "",
    template: str = "staff_alert",
    context: dict[str, Any] | None = None,
    url: str = "",
) -> int:
    """An internal alert to every active member of the store with one of `roles`: an inbox item each, and the
    external channels they have (see `notifications.services.staff_notify`).  Either a ready `text` (template
    `staff_alert`) or a `template` with its `context` (rendered in each language).  A repair order links to its
    page.  Returns how many people it reached."""
    users = [
        membership.user
        for membership in Membership.objects.filter(store=store, role__in=roles)
        .select_related("user")
        .order_by("user_id")
    ]
    if not url and isinstance(related, RepairOrder):
        url = reverse("service:order-detail", args=[related.pk])
    return staff_notify(
        store=store,
        users=users,
        template=template,
        context={"text": text} if context is None else context,
        related=related,
        dedupe_key=dedupe_key,
        url=url,
    )


def estimate_answered_alert(*, estimate: Estimate) -> int:
    """The customer has answered every line of an estimate on their link: the order's advisor hears of it
    (once per estimate) and goes on with the work or the desk conversation."""
    order = estimate.order
    if order.advisor is None:
        return 0
    counts = estimate.lines.aggregate(
        approved=Count("id", filter=Q(decision=LineDecision.APPROVED)),
        declined=Count("id", filter=Q(decision=LineDecision.DECLINED)),
    )
    return staff_notify(
        store=order.store,
        users=[order.advisor],
        template="estimate_answered",
        context={
            "store": order.store.name,
            "number": order.number,
            "plate": order.vehicle.plate or order.vehicle.vin,
            "estimate": f"#{estimate.number}",
            "approved": counts["approved"],
            "declined": counts["declined"],
        },
        related=order,
        dedupe_key=f"estimate_answered:{estimate.pk}",
        url=reverse("service:order-detail", args=[order.pk]),
    )
