"""Messages of the service process, through the messaging outbox.  Service notices rest on the service
contract, so they need no marketing consent."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from aftersales.messaging.services import message_enqueue
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.models import Appointment, RepairOrder
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


def appointment_message(*, appointment: Appointment, template: str) -> None:
    store = appointment.store
    values = setting_values_for_store(store)
    start = timezone.localtime(appointment.slot.start)
    link = _absolute(reverse("service:customer-appointment", args=[appointment_link_token(appointment)]))
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
            "service": appointment.get_service_type_display(),
            "wait_minutes": int(values.get(f"duration_{appointment.service_type}_minutes", 60)),
            "documents": DOCUMENTS.get(appointment.service_type, "行驶证"),
            "link": link,
            "plate": appointment.vehicle.plate or appointment.vehicle.vin,
        },
    )


def order_message(*, order: RepairOrder, template: str, dedupe_key: str = "") -> None:
    link = _absolute(reverse("service:customer-order", args=[order_link_token(order)]))
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


def staff_alert(*, store: Store, roles: list[str], text: str, related: Any = None, dedupe_key: str = "") -> None:
    """An internal alert to every member of the store with one of `roles`."""
    users = Membership.objects.filter(store=store, role__in=roles).select_related("user").order_by("user_id")
    seen = set()
    for membership in users:
        if membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        message_enqueue(
            store=store,
            template="staff_alert",
            recipient_user=membership.user,
            purpose="staff",
            related=related,
            dedupe_key=f"{dedupe_key}:{membership.user_id}" if dedupe_key else "",
            context={"text": text},
        )
