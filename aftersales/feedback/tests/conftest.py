"""Fixtures for the feedback tests: the service tests' shop (store A of the cast, a customer with a car),
an agent, and helpers that walk a repair order to delivery through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from aftersales.config.testing import make_user
from aftersales.customers import services as customer_services
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.service import services as service_services
from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    SHANGHAI,
    console_outbox,
    frozen,
    media_root,
    order_ready,
    shanghai,
    shop,
)


@pytest.fixture
def agent(shop) -> Any:  # noqa: F811 - the imported fixture
    return make_user("ann", Role.AGENT, store=shop.store)


def deliver(shop: Any) -> Any:  # noqa: F811 - a plain helper taking the shop
    order = order_ready(shop)
    return service_services.repair_order_deliver(
        order=order, by=shop.advisor, explanation="更换了刹车片", next_service_date=None, next_service_km=None
    )


def grant_survey_consent(customer: Any, by: Any) -> None:
    customer_services.consent_set(customer=customer, purpose="surveys", granted=True, channel="desk", by=by)


def alerts(template: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(template=template).order_by("id"))


def inbox(template: str) -> list[InboxItem]:
    """Staff alerts of one kind, as they reach people's inboxes (every alert does; the outbox only has the
    external messages of people with a channel)."""
    return list(InboxItem.objects.filter(kind=template).order_by("id"))


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


GOOD = {"overall": 9, "recommend": 10, "attitude": 5, "quality": 5, "waiting": 4}
LOW = {"overall": 6, "recommend": 5, "attitude": 3, "quality": 2, "waiting": 1, "suggestions": "等太久了"}
