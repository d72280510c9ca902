"""Demo care actions for `aftersales seed`: the past year's recall notices and win-back offers read off the seeded
visit history, then the first daily care sweep over today's tiers.

History: wherever a customer with marketing consent went more than `recall_after_months` without a visit, the
playbook would have sent the recall notice the day after that (and the win-back offer 14 days later if the
customer had not arrived by then).  The demo records those actions with their messages delivered at those times,
so whether the customer came back within 90 days is the seeded history's own answer — the care page's win-back
rate rests on real visits.  Gaps still open today are left to the real sweep, which then runs for `today`
through the real service (playbook, consent, cap, outbox)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.utils import timezone

from aftersales.care.choices import CareKind
from aftersales.care.models import CareAction
from aftersales.care.services import care_sweep
from aftersales.core import clock
from aftersales.crm.models import TierChange
from aftersales.customers.choices import ConsentPurpose, Tier
from aftersales.customers.models import Consent, Customer
from aftersales.messaging.choices import MessageStatus, Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.reminders import maths
from aftersales.reminders.choices import ReminderKind
from aftersales.reminders.services import booking_link
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder

HISTORY_DAYS = 365  # how far back recalls are recorded


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(11), tzinfo=timezone.get_default_timezone())


def _record(
    customer: Customer, kind: str, at: dt.datetime, template: str, context: dict[str, object], episode: str
) -> None:
    store = customer.store
    action = CareAction.objects.create(
        store=store,
        customer=customer,
        tier=Tier.D,
        kind=kind,
        episode=episode,
        done_at=at,
        created_at=at,
    )
    link = booking_link(store=store, vehicle=None, kind=ReminderKind.MAINTENANCE, due_on=at.date(), today=at.date())
    message = message_enqueue(
        store=store,
        template=template,
        context={"name": customer.name, "store": store.name, "phone": store.phone, "link": link, **context},
        customer=customer,
        purpose=Purpose.MARKETING,
        dedupe_key=f"care:{customer.pk}:{kind}:{action.episode}",
        related=action,
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=at, created_at=at, next_attempt_at=None
    )
    CareAction.objects.filter(pk=action.pk).update(message=message)


def seed_history(*, today: dt.date) -> dict[str, int]:
    """The past year's recalls and win-back offers of consenting customers, from the gaps in their visits."""
    now = clock.now()
    earliest = _noon(today - dt.timedelta(days=HISTORY_DAYS))
    consenting = set(
        Consent.objects.filter(purpose=ConsentPurpose.MARKETING, granted=True).values_list("customer_id", flat=True)
    )
    visits: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    rows = (
        RepairOrder.objects.filter(customer_id__in=consenting)
        .exclude(status=RepairOrderStatus.CANCELLED)
        .order_by("customer_id", "arrived_at")
        .values_list("customer_id", "arrived_at", "delivered_at", "status")
    )
    for customer_id, arrived, delivered, status in rows:
        visits[customer_id].append((arrived, delivered if status == RepairOrderStatus.DELIVERED else None))
    customers = Customer.objects.select_related("store").in_bulk(list(visits))
    recalls = offers = returned = 0
    for customer_id, seen in visits.items():
        customer = customers[customer_id]
        values = setting_values_for_store(customer.store)
        months, offer_after = int(values["recall_after_months"]), int(values["care_win_back_offer_after_days"])
        following: list[dt.datetime | None] = [arrived for arrived, _d in seen[1:]] + [None]
        for (_arrived, delivered), next_arrival in zip(seen, following, strict=True):
            if delivered is None:
                continue
            recall_at = _noon(maths.add_months(timezone.localtime(delivered).date(), months) + dt.timedelta(days=1))
            if (next_arrival is not None and next_arrival <= recall_at) or not earliest <= recall_at < now:
                continue
            # A gap still open today is the customer's current D episode: the sweep sees it done and goes on.
            episode = f"demo{recall_at:%Y%m%d}"
            if next_arrival is None:
                if customer.tier != Tier.D:
                    continue
                change = TierChange.objects.filter(customer=customer, to_tier=Tier.D).order_by("-as_of", "-id").first()
                episode = f"tc{change.pk}" if change is not None else "t0"
            _record(customer, CareKind.D_RECALL, recall_at, "care_d_recall", {"months": months}, episode)
            recalls += 1
            window = recall_at + dt.timedelta(days=int(values["win_back_return_days"]))
            returned += next_arrival is not None and next_arrival <= window
            offer_at = recall_at + dt.timedelta(days=offer_after)
            if (next_arrival is None or next_arrival > offer_at) and offer_at < now:
                discount = int(values["win_back_labour_discount_percent"])
                _record(customer, CareKind.D_WIN_BACK, offer_at, "care_d_win_back", {"discount": discount}, episode)
                offers += 1
    return {"recalls": recalls, "returned": returned, "offers": offers}


def seed_care(*, rng: random.Random, today: dt.date) -> dict[str, int]:
    """The recall history, then the care sweep for `today`; the counts.  (`rng` is the seed's, for later use.)"""
    history = seed_history(today=today)
    result = care_sweep(on=today).as_dict()
    return {**history, **result}
