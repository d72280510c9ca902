"""Demo campaigns for `aftersales seed`: in the first store, a finished spring care campaign sent about 100 days
before `today` (so its 90-day window is complete) whose results show an uplift over the random control group,
and a draft for next month.

The finished campaign goes through the real services — create, the sweep's start (members drawn and split by the
seeded hash) and the batches (consent, cap, dedupe key) — on a backdated send time; then the demo fills in what
the months after it would have brought: the messages delivered, some links opened, and extra visits by part of
the treatment arm (the effect the campaign is meant to show) on top of the seeded history both arms share."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db.models import Min
from django.utils import timezone

from aftersales.campaigns import services
from aftersales.campaigns.choices import Arm, CampaignStatus
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.core import clock
from aftersales.customers.models import Vehicle
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.models import Store
from aftersales.organisation.services import settings_update
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

SENT_DAYS_AGO = 100
# Of the reached treatment members who would not have come anyway, the share the campaign brought back (the
# demo's effect); the control group of this store is 20 % (a store override of the setting), so the interval of
# the uplift is narrow enough to lie above zero.
EXTRA_RETURN_SHARE = 0.75
DEMO_CONTROL_PERCENT = 20
OPENED_SHARE = 0.35

SPRING = services.CampaignInput(
    name="春季保养关爱",
    purpose="marketing",
    audience={},
    text_zh="春季关爱：到店保养工时八折，并免费检测空调与电池。点击预约：{link}",
    text_en="Spring care: 20% off maintenance labour and a free A/C and battery check. Book here: {link}",
)
NEXT = services.CampaignInput(
    name="新能源车夏季电池检测",
    purpose="marketing",
    audience={"nev": "nev"},
    text_zh="夏季用车前，欢迎预约免费电池健康检测：{link}",
    text_en="Before the summer, book a free battery health check: {link}",
)


def _local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def seed_campaigns(*, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date) -> dict[str, int]:
    """The demo campaigns of the first store; returns counts."""
    if not stores:
        return {"campaigns": 0, "members": 0}
    store = stores[0]
    manager = users["manager"]
    sent_at = _local(today - dt.timedelta(days=SENT_DAYS_AGO), 10)

    settings_update(
        group=store.group,
        store=store,
        changes={"campaign_control_share_percent": DEMO_CONTROL_PERCENT},
        by=manager,
    )
    # Win-back: customers who have not been in for two weeks before the send (the seeded regulars come often).
    lapsed = {"last_visit_to": (sent_at.date() - dt.timedelta(days=14)).isoformat()}
    campaign = services.campaign_create(
        store=store, data=services.CampaignInput(**{**SPRING.__dict__, "audience": lapsed}), by=manager
    )
    # Backdated: it was scheduled for (and started at) a time that has passed.
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED, scheduled_at=sent_at)
    campaign.refresh_from_db()
    members = services.campaign_start(campaign=campaign, now=sent_at)
    while services.campaign_send_batch(campaign=campaign, limit=500):
        pass
    services.campaign_finish_if_done(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(finished_at=sent_at + dt.timedelta(minutes=3))

    # What the outbox would have done that morning, and what customers did with their links.
    messages = OutboxMessage.objects.filter(dedupe_key__startswith=f"campaign:{campaign.pk}:")
    messages.update(created_at=sent_at, next_attempt_at=None)
    messages.filter(status=MessageStatus.PENDING).update(status=MessageStatus.SENT, sent_at=sent_at, attempts=1)
    delivered = list(
        CampaignMember.objects.filter(campaign=campaign, message__status=MessageStatus.SENT)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    opened = [pk for pk, _customer in delivered if rng.random() < OPENED_SHARE]
    for pk in opened:
        CampaignMember.objects.filter(pk=pk).update(opened_at=sent_at + dt.timedelta(hours=rng.randint(1, 72)))

    # The campaign's effect: part of the treatment arm came back within the window.
    came_anyway = set(
        RepairOrder.objects.filter(
            store=store, arrived_at__gte=sent_at, arrived_at__lt=sent_at + dt.timedelta(days=90)
        ).values_list("customer_id", flat=True)
    )
    comers = [
        customer_id
        for _pk, customer_id in delivered
        if customer_id not in came_anyway and rng.random() < EXTRA_RETURN_SHARE
    ]
    vehicles = dict(
        Vehicle.objects.filter(customer_id__in=comers)
        .values("customer_id")
        .annotate(first=Min("pk"))
        .values_list("customer_id", "first")
    )
    orders = []
    for n, customer_id in enumerate(comers):
        if customer_id not in vehicles:
            continue
        arrived = sent_at + dt.timedelta(days=rng.randint(3, 80), hours=rng.randint(0, 6))
        orders.append(
            RepairOrder(
                store=store,
                number=f"CP{store.code}{campaign.pk:03d}{n:05d}",
                customer_id=customer_id,
                vehicle_id=vehicles[customer_id],
                service_type=ServiceType.MAINTENANCE,
                status=RepairOrderStatus.DELIVERED,
                arrived_at=arrived,
                delivered_at=arrived + dt.timedelta(hours=3),
                billed_total=Decimal(rng.randrange(380, 1600, 10)),
                created_at=arrived,
            )
        )
    RepairOrder.objects.bulk_create(orders, batch_size=500)

    # A draft for next month (its time left open when a fixed --today lies in the past: it must be ahead).
    next_time: dt.datetime | None = _local(today + dt.timedelta(days=30), 10)
    if next_time is not None and next_time <= clock.now():
        next_time = None
    services.campaign_create(
        store=store, data=services.CampaignInput(**{**NEXT.__dict__, "scheduled_at": next_time}), by=manager
    )
    control = CampaignMember.objects.filter(campaign=campaign, arm=Arm.CONTROL).count()
    return {"campaigns": 2, "members": members, "control": control, "returns_added": len(orders)}
