"""The webhook pages for administrators: the subscriptions they manage, and one subscription's delivery log.  Read
only: integrators manage subscriptions through /api/v1/webhooks.  Thin: resolve, ask a selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from aftersales.core.pagination import page_of
from aftersales.messaging.choices import MessageStatus
from aftersales.organisation.access import require
from aftersales.organisation.permissions import Capability as C
from aftersales.webhooks import selectors
from aftersales.webhooks.choices import EventType

BADGES = {
    MessageStatus.PENDING: "warning",
    MessageStatus.SENDING: "info",
    MessageStatus.SENT: "success",
    MessageStatus.FAILED: "danger",
    MessageStatus.SUPPRESSED: "secondary",
}
TYPE_LABELS = dict(EventType.choices)


def subscription_list(request: HttpRequest) -> HttpResponse:
    require(request.user, C.MANAGE_WEBHOOKS)
    page = page_of(request, selectors.subscription_list(user=request.user))
    rows = [{"subscription": s, "types": [TYPE_LABELS.get(t, t) for t in s.event_types]} for s in page.object_list]
    return render(request, "webhooks/subscriptions.html", {"rows": rows, "page": page})


def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Another store's or group's subscription is 404, like a missing one (before any other check)."""
    subscription = selectors.subscription_get_for_user_or_404(user=request.user, pk=pk)
    page = page_of(request, selectors.delivery_list(subscription=subscription))
    rows = [
        {
            "delivery": d,
            "message": d.message,
            "badge": BADGES.get(d.message.status, "secondary"),
            "type": TYPE_LABELS.get(d.event.type, d.event.type),
        }
        for d in page.object_list
    ]
    return render(
        request,
        "webhooks/subscription.html",
        {
            "subscription": subscription,
            "types": [TYPE_LABELS.get(t, t) for t in subscription.event_types],
            "rows": rows,
            "page": page,
        },
    )


urlpatterns: list[URLPattern] = [
    path("webhooks/", subscription_list, name="subscriptions"),
    path("webhooks/<int:pk>/", subscription_detail, name="subscription"),
]
