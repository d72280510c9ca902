"""Demo campaigns for `aftersales seed`: in the first store, a finished spring care campaign sent about 100 days
before `today` (so its 90-day window is complete) whose results show an uplift over the random control group,
and a draft for next month.

In two steps around the service history, so every visit the campaign brings is a complete one:

1. `seed_campaigns_plan`, after the customers and before the service history: the campaign goes through the
   real services — create, the sweep's start (members drawn from the store's customers of the time and split by
   the seeded hash) and the batches (consent, cap, dedupe key) — on a backdated send time.  It returns the
   visits the campaign brought: part of the reached treatment members are invited in (vehicle id → day), plain
   data the seed hands to `seed_service(extra_visits=...)`, which builds them with its own visit machinery (the
   feedback demo then gives them follow-ups and surveys like any delivered order).  The service layer brings a
   vehicle's next visit forward to that day unless it came anyway, so the control group, which gets none,
   returns at the base rate and the treatment arm above it.
2. `seed_campaigns_finish`, after the service and feedback demos: the links opened (most by those who came),
   the draft for next month, and the counts for the summary."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
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
from aftersales.service.choices import ServiceType
from aftersales.service.models import RepairOrder

SENT_DAYS_AGO = 100
# Of the treatment members the message reached, the share it invites in (the demo's effect; those whose next
# visit comes first anyway or who were in just before are not brought in by it); the control group of this store
# is 20 % (a store override of the setting), so the interval of the uplift is narrow enough to lie above zero.
RESPONSE_SHARE = 0.85
RESPONSE_FIRST_DAY = 10
RESPONSE_LAST_DAY = 40
DEMO_CONTROL_PERCENT = 30
# The store measures its campaigns over 45 days (a store override of the 90-day default): a spring offer is
# answered within weeks, and over three months most regulars come in anyway (their visits are 100–220 days
# apart), which would bury the effect in the base rate.
DEMO_RESULT_DAYS = 45
OPENED_SHARE = 0.2
OPENED_BY_INVITED = 0.85

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


@dataclass(frozen=True)
class CampaignPlan:
    """What the first step leaves for the service history and for the second step."""

    campaign_id: int | None = None
    sent_at: dt.datetime | None = None
    visits: dict[int, dt.date] = field(default_factory=dict)  # vehicle id → the day the invitation brings it in
    invited: frozenset[int] = frozenset()  # their customers


def seed_campaigns_plan(
    *, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date
) -> CampaignPlan:
    """The finished campaign of the first store, sent and delivered, and the visits it brings (before the service
    history is built: its audience and arms depend only on the customers)."""
    if not stores:
        return CampaignPlan()
    store = stores[0]
    manager = users["manager"]
    sent_at = _local(today - dt.timedelta(days=SENT_DAYS_AGO), 10)

    settings_update(
        group=store.group,
        store=store,
        changes={"campaign_control_share_percent": DEMO_CONTROL_PERCENT, "campaign_result_days": DEMO_RESULT_DAYS},
        by=manager,
    )
    # Every customer of the store (the offer suits any car); consent and the cap are checked at sending.
    campaign = services.campaign_create(store=store, data=SPRING, by=manager)
    # Backdated: it was scheduled for (and started at) a time that has passed.
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED, scheduled_at=sent_at)
    campaign.refresh_from_db()
    services.campaign_start(campaign=campaign, now=sent_at)
    # The audience as it was on the day: customers who registered after the sending were not customers yet.
    CampaignMember.objects.filter(campaign=campaign, customer__created_at__gt=sent_at).delete()
    while services.campaign_send_batch(campaign=campaign, limit=500):
        pass
    services.campaign_finish_if_done(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(finished_at=sent_at + dt.timedelta(minutes=3))

    # What the outbox did that morning.
    messages = OutboxMessage.objects.filter(dedupe_key__startswith=f"campaign:{campaign.pk}:")
    messages.update(created_at=sent_at, next_attempt_at=None)
    messages.filter(status=MessageStatus.PENDING).update(status=MessageStatus.SENT, sent_at=sent_at, attempts=1)

    # The campaign's effect: part of those it reached book a maintenance visit for one of their cars, mostly in
    # the first weeks (from day 10, so the booking made before the visit falls after the message).
    reached = list(
        CampaignMember.objects.filter(campaign=campaign, message__status=MessageStatus.SENT)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )
    responding = [customer_id for customer_id in reached if rng.random() < RESPONSE_SHARE]
    vehicles = dict(
        Vehicle.objects.filter(customer_id__in=responding)
        .values("customer_id")
        .annotate(first=Min("pk"))
        .order_by("customer_id")
        .values_list("customer_id", "first")
    )
    visits: dict[int, dt.date] = {}
    for customer_id in responding:
        after = min(RESPONSE_FIRST_DAY + int(rng.expovariate(1 / 14)), RESPONSE_LAST_DAY)
        if customer_id in vehicles:
            visits[vehicles[customer_id]] = sent_at.date() + dt.timedelta(days=after)
    return CampaignPlan(campaign_id=campaign.pk, sent_at=sent_at, visits=visits, invited=frozenset(vehicles))


def seed_campaigns_finish(
    *, plan: CampaignPlan, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date
) -> dict[str, int]:
    """After the service and feedback demos: the links opened, the draft for next month; returns counts."""
    if not stores or plan.campaign_id is None or plan.sent_at is None:
        return {"campaigns": 0, "members": 0, "control": 0, "visits": 0}
    store, sent_at = stores[0], plan.sent_at
    campaign = Campaign.objects.get(pk=plan.campaign_id)
    # Those who came mostly opened their link to book; some others opened it and did nothing.
    delivered = list(
        CampaignMember.objects.filter(campaign=campaign, message__status=MessageStatus.SENT)
        .order_by("customer_id")
        .values_list("pk", "customer_id")
    )
    for pk, customer_id in delivered:
        if rng.random() < (OPENED_BY_INVITED if customer_id in plan.invited else OPENED_SHARE):
            opened = sent_at + dt.timedelta(hours=rng.randint(1, 72))
            CampaignMember.objects.filter(pk=pk).update(opened_at=opened)
    # The visits it brought: an invited vehicle in on its day (one that came anyway, or had just been, was not).
    arrivals = RepairOrder.objects.filter(
        store=store, vehicle_id__in=list(plan.visits), service_type=ServiceType.MAINTENANCE, arrived_at__gte=sent_at
    ).values_list("vehicle_id", "arrived_at")
    visits = sum(1 for vehicle_id, arrived in arrivals if timezone.localtime(arrived).date() == plan.visits[vehicle_id])

    # A draft for next month (its time left open when a fixed --today lies in the past: it must be ahead).
    next_time: dt.datetime | None = _local(today + dt.timedelta(days=30), 10)
    if next_time is not None and next_time <= clock.now():
        next_time = None
    services.campaign_create(
        store=store, data=services.CampaignInput(**{**NEXT.__dict__, "scheduled_at": next_time}), by=users["manager"]
    )
    members = CampaignMember.objects.filter(campaign=campaign)
    return {
        "campaigns": 2,
        "members": members.count(),
        "control": members.filter(arm=Arm.CONTROL).count(),
        "visits": visits,
    }
