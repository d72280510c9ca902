"""Template helpers of the service pages, and the service section other apps' pages include.

Other apps' templates may `{% load service_tags %}` (templates may cross layers; Python imports may not),
so the customer profile shows repair history, deferred work and bookings without `customers` importing
`service`: the tag puts a placeholder there, which htmx fills from `service:customer-history`."""

from __future__ import annotations

from typing import Any

from django import template

from aftersales.customers.selectors import acting_store_id, may_on_customer, plate_for
from aftersales.organisation.permissions import Capability, user_can
from aftersales.service.choices import STATUS_BADGES

register = template.Library()


@register.simple_tag(takes_context=True)
def plate(context: dict[str, Any], vehicle: Any) -> str:
    """The plate as this user may see it (masked for roles that do not work with the car)."""
    request = context.get("request")
    if vehicle is None or request is None:
        return ""
    store_id = vehicle.store_id
    if not user_can(request.user, Capability.SEE_PLATES, store_id):
        # A car registered at a sister store: the user's own store that deals with its owner decides.
        store_id = acting_store_id(request.user, Capability.SEE_PLATES, vehicle.customer) or store_id
    return plate_for(request.user, vehicle.plate, store_id) or vehicle.vin[-6:]


@register.filter
def badge(status: str) -> str:
    """Bootstrap colour of a repair order state."""
    return STATUS_BADGES.get(status, "secondary")


@register.inclusion_tag("service/partials/_customer_service_placeholder.html", takes_context=True)
def customer_service_history(context: dict[str, Any], customer: Any) -> dict[str, Any]:
    """A placeholder that loads the customer's service section (history, deferred work, bookings) with htmx
    once the profile is shown, so the profile itself runs no service query."""
    request = context.get("request")
    visible = request is not None and may_on_customer(request.user, Capability.VIEW_SERVICE, customer)
    return {"visible": visible, "customer": customer}


@register.simple_tag
def pickup_for(subject: Any) -> Any:
    """The booking with pick-up behind a customer's page (the booking itself, or a repair order's booking), with its
    driver's name; None without pick-up.  One query, and none at all for a walk-in order."""
    from aftersales.service.models import Appointment

    appointment_id = getattr(subject, "appointment_id", None) if not isinstance(subject, Appointment) else subject.pk
    if appointment_id is None:
        return None
    return (
        Appointment.objects.filter(pk=appointment_id, pickup=True)
        .select_related("driver__staff_profile")
        .only(
            "pickup",
            "pickup_status",
            "pickup_from",
            "pickup_to",
            "collected_at",
            "delivered_back_at",
            "driver__username",
            "driver__staff_profile__display_name",
        )
        .first()
    )
