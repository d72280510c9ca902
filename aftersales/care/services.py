"""Writes of the care app: the daily sweep that applies each group's playbook to its customers (SPEC §5), the
dedicated advisors of tier A, and a manager's changes to the playbook and to the service-suggestion rules.

What the sweep does, per tier (each action at most once, see models.CareAction's episode):

- A: assign a dedicated advisor and put a task in that advisor's inbox when the customer enters A (episode: the
  tier change into A); the yearly benefits package message (episode: the year).  The priority lane is the crm
  app's (tiers_compute grants it on entering A).
- B: a service suggestion per rule of the group's table and vehicle, once, when the vehicle's projected mileage
  reached the rule's distance (or the vehicle its age) and no visit since then has seen it (the mileage noted at a
  later visit, or a visit after the age was reached: the advisor dealt with it); at most one suggestion per
  vehicle a day.  The upgrade offer once per B episode.
- C: the welcome gift once the customer's first maintenance was delivered (the first-maintenance reminder itself
  is the reminders app's).
- D: when the last closed visit is `recall_after_months` old (and no visit is open): the recall notice and the
  advisor's call task, then the win-back offer `care_win_back_offer_after_days` after the recall if the customer
  has not arrived meanwhile — each once per D episode.

Customer messages are marketing: without the customer's marketing consent nothing is queued (no outbox row at
all, and nothing is recorded, so the action is looked at again the next day); the frequency cap of the campaigns
(`campaign_frequency_cap_messages` per `campaign_frequency_cap_days`) counts every marketing message, ours included,
and a capped action waits for a later day; quiet hours are the outbox's.  The action row is inserted first, in the
same transaction as the message or the task, under a unique (customer, kind, episode): nothing goes twice."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.campaigns.selectors import CAPPED_STATUSES
from aftersales.care import selectors
from aftersales.care.choices import CareKind
from aftersales.care.models import CareAction, CareAdvisor, CarePlaybook, SuggestionRule
from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import keyset_chunks
from aftersales.core.scoping import store_ids_where
from aftersales.core.text import refuse_control_characters
from aftersales.crm.models import TierChange
from aftersales.crm.services import months_back
from aftersales.customers.choices import ConsentPurpose, Tier
from aftersales.customers.models import Consent, Customer, Vehicle
from aftersales.messaging.choices import Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.models import InboxItem
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.reminders import maths
from aftersales.reminders.choices import ReminderKind
from aftersales.reminders.selectors import odometer_readings
from aftersales.reminders.services import booking_link
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder

logger = logging.getLogger("aftersales.care")

K = CareKind
CHUNK = 500
DELIVERED = Q(status=RepairOrderStatus.DELIVERED, delivered_at__isnull=False)


@dataclass
class SweepResult:
    messages: int = 0  # marketing messages queued
    tasks: int = 0  # staff tasks raised
    no_consent: int = 0  # messages not queued: no marketing consent
    capped: int = 0  # messages held back by the frequency cap (tried again another day)
    advisors_assigned: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------- context


class _Context:
    """Per-sweep caches: each store's settings and each group's playbook and active rules, read once."""

    def __init__(self, on: dt.date) -> None:
        self.on = on
        self.now = clock.now()
        self.values: dict[int, Mapping[str, int | Decimal]] = {}
        self.playbooks: dict[int, CarePlaybook] = {}
        self.rules: dict[int, list[SuggestionRule]] = {}
        self.result = SweepResult()

    def store_values(self, store: Store) -> Mapping[str, int | Decimal]:
        if store.pk not in self.values:
            self.values[store.pk] = setting_values_for_store(store)
        return self.values[store.pk]

    def playbook(self, group_id: int) -> CarePlaybook:
        if group_id not in self.playbooks:
            self.playbooks[group_id] = selectors.playbook_for_group(group_id)
        return self.playbooks[group_id]

    def group_rules(self, group_id: int) -> list[SuggestionRule]:
        if group_id not in self.rules:
            suggestion_rules_ensure_defaults(group_id=group_id)
            self.rules[group_id] = list(selectors.suggestion_rules(group_id, active_only=True))
        return self.rules[group_id]


def _dedupe_key(customer: Customer, kind: str, episode: str) -> str:
    return f"care:{customer.pk}:{kind}:{episode}"[:128]


def _customer_url(customer: Customer) -> str:
    return reverse("customers:customer-detail", args=[customer.pk])


def _insert_action(**fields: Any) -> CareAction | None:
    """Claim the action: insert its row (in a savepoint); None when it exists already (another run took it)."""
    try:
        with transaction.atomic():
            return CareAction.objects.create(**fields)
    except IntegrityError:
        return None


# --------------------------------------------------------------------------------------------------- messages


def _capped(customer: Customer, values: Mapping[str, int | Decimal], now: dt.datetime) -> bool:
    """Whether the customer had as many marketing messages in the cap window as the cap allows (campaigns' rule)."""
    since = now - dt.timedelta(days=int(values["campaign_frequency_cap_days"]))
    recent = OutboxMessage.objects.filter(
        customer=customer, purpose=Purpose.MARKETING, status__in=CAPPED_STATUSES, created_at__gte=since
    ).count()
    return recent >= int(values["campaign_frequency_cap_messages"])


def _marketing_consent(customer: Customer) -> bool:
    return Consent.objects.filter(customer=customer, purpose=ConsentPurpose.MARKETING, granted=True).exists()


def _send(
    ctx: _Context,
    *,
    customer: Customer,
    kind: str,
    episode: str,
    template: str,
    context: dict[str, Any],
    vehicle: Vehicle | None = None,
    rule: SuggestionRule | None = None,
) -> bool:
    """Queue one care message (marketing) once; False when it was not queued now (no consent, capped, done)."""
    store = customer.store
    if not _marketing_consent(customer):
        ctx.result.no_consent += 1
        return False
    if _capped(customer, ctx.store_values(store), ctx.now):
        ctx.result.capped += 1
        return False
    base = {"name": customer.name, "store": store.name, "phone": store.phone}
    with transaction.atomic():
        action = _insert_action(
            store=store,
            customer=customer,
            vehicle=vehicle,
            rule=rule,
            tier=customer.tier,
            kind=kind,
            episode=episode,
            done_at=ctx.now,
            created_at=ctx.now,
        )
        if action is None:
            return False
        action.message = message_enqueue(
            store=store,
            template=template,
            context={**base, **context},
            customer=customer,
            purpose=Purpose.MARKETING,
            dedupe_key=_dedupe_key(customer, kind, episode),
            related=action,
        )
        action.save(update_fields=["message", "updated_at"])
    ctx.result.messages += 1
    return True


def _task(
    ctx: _Context,
    *,
    customer: Customer,
    kind: str,
    episode: str,
    users: Sequence[Any],
    template: str,
    context: dict[str, Any],
) -> CareAction | None:
    """Raise one staff task once: the action row, then the inbox item of each person (the first is the assignee)."""
    store = customer.store
    key = _dedupe_key(customer, kind, episode)
    with transaction.atomic():
        action = _insert_action(
            store=store,
            customer=customer,
            tier=customer.tier,
            kind=kind,
            episode=episode,
            assignee=users[0] if users else None,
            done_at=ctx.now,
            created_at=ctx.now,
        )
        if action is None:
            return None
        staff_notify(
            store=store,
            users=users,
            template=template,
            context={"customer": customer.name, **context},
            dedupe_key=key,
            related=action,
            url=_customer_url(customer),
        )
        if users:
            action.inbox_item = InboxItem.objects.filter(dedupe_key=f"{key}:{users[0].pk}"[:160]).first()
            action.save(update_fields=["inbox_item", "updated_at"])
    ctx.result.tasks += 1
    return action


# ------------------------------------------------------------------------------------------------ who calls


def _members(store: Store, roles: Sequence[str]) -> list[Any]:
    """Active staff holding one of `roles` in the store itself, by id."""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.filter(is_active=True, memberships__store=store, memberships__role__in=list(roles))
        .distinct()
    )
    return list(users.order_by("pk"))


def _is_advisor_at(user: Any, store: Store) -> bool:
    return bool(
        user is not None
        and user.is_active
        and Membership.objects.filter(user=user, store=store, role__in=[Role.ADVISOR, Role.MANAGER]).exists()
    )


def _last_visit_advisor(customer: Customer) -> Any:
    order = (
        RepairOrder.objects.filter(DELIVERED, customer=customer, store=customer.store, advisor__isnull=False)
        .select_related("advisor")
        .order_by("-delivered_at", "-pk")
        .first()
    )
    return order.advisor if order is not None else None


def dedicated_advisor(customer: Customer) -> Any:
    """The customer's dedicated advisor while still an active advisor (or manager) of the store, else None."""
    row = CareAdvisor.objects.filter(customer=customer).select_related("advisor", "store").first()
    if row is not None and _is_advisor_at(row.advisor, row.store):
        return row.advisor
    return None


def call_assignee(customer: Customer) -> list[Any]:
    """Who calls a churn-risk customer: the dedicated advisor, else the advisor of the last visit at the customer's
    store (while still there), else the store's managers."""
    for user in (dedicated_advisor(customer), _last_visit_advisor(customer)):
        if _is_advisor_at(user, customer.store):
            return [user]
    return _members(customer.store, [Role.MANAGER])


def care_advisor_assign(*, customer: Customer, ctx_now: dt.datetime | None = None) -> Any:
    """Give the customer a dedicated advisor (kept when they have one still at the store): the advisor of their last
    visit at the store, else the store's advisor with the fewest dedicated customers.  None when the store has no
    advisor (then the managers get the task to assign one)."""
    current = dedicated_advisor(customer)
    if current is not None:
        return current
    advisor = _last_visit_advisor(customer)
    if not _is_advisor_at(advisor, customer.store):
        advisors = _members(customer.store, [Role.ADVISOR])
        if not advisors:
            return None
        load = dict(
            CareAdvisor.objects.filter(advisor__in=advisors, store=customer.store)
            .order_by()
            .values_list("advisor")
            .annotate(n=Count("pk"))
            .values_list("advisor", "n")
        )
        advisor = min(advisors, key=lambda u: (load.get(u.pk, 0), u.pk))
    now = ctx_now or clock.now()
    CareAdvisor.objects.update_or_create(
        customer=customer, defaults={"advisor": advisor, "store": customer.store, "assigned_at": now}
    )
    audit_record(
        actor=None,
        action="care_advisor.assign",
        obj=customer,
        store_id=customer.store_id,
        changes={"care_advisor": [None, advisor.pk]},
    )
    return advisor


def _display(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


# ------------------------------------------------------------------------------------------------ per tier


def _episode(customer: Any) -> str:
    """The tier episode: the tier change that put the customer in the tier now held (t0 when there is none)."""
    return f"tc{customer.episode_change}" if customer.episode_change else "t0"


def _tier_a(ctx: _Context, customer: Any, playbook: CarePlaybook, done: set[tuple[str, str]]) -> None:
    episode = _episode(customer)
    if playbook.a_advisor and (K.A_ADVISOR, episode) not in done:
        advisor = care_advisor_assign(customer=customer, ctx_now=ctx.now)
        ctx.result.advisors_assigned += advisor is not None
        users = [advisor] if advisor is not None else _members(customer.store, [Role.MANAGER])
        _task(
            ctx,
            customer=customer,
            kind=K.A_ADVISOR,
            episode=episode,
            users=users,
            template="care_task_a_advisor",
            context={},
        )
    year = str(ctx.on.year)
    if playbook.a_benefits and (K.A_BENEFITS, year) not in done:
        advisor = dedicated_advisor(customer)
        _send(
            ctx,
            customer=customer,
            kind=K.A_BENEFITS,
            episode=year,
            template="care_a_benefits",
            context={
                "year": year,
                "benefits": playbook.a_benefits_text,
                "advisor": _display(advisor) or customer.store.name,
            },
        )


def _suggestion_due(
    rule: SuggestionRule, vehicle: Vehicle, projection: maths.Projection, history: tuple[int | None, Any], on: dt.date
) -> str | None:
    """Which template the rule calls for on the vehicle today (None: not due).  `history` is the vehicle's highest
    mileage noted at a delivered visit and its last delivery time: a visit that saw the threshold passed means the
    advisor dealt with it."""
    top_km, last_delivered = history
    if rule.at_km is not None and projection.projected_km >= rule.at_km and (top_km is None or top_km < rule.at_km):
        return "care_b_suggestion_km"
    if rule.at_months is not None and vehicle.purchase_date is not None:
        reached = maths.add_months(vehicle.purchase_date, rule.at_months)
        last_day = timezone.localtime(last_delivered).date() if last_delivered is not None else None
        if reached <= on and (last_day is None or last_day < reached):
            return "care_b_suggestion_age"
    return None


def _tier_b(
    ctx: _Context,
    customer: Any,
    playbook: CarePlaybook,
    done: set[tuple[str, str]],
    vehicles: list[Vehicle],
    readings: Mapping[int, list[Any]],
    history: Mapping[int, tuple[int | None, Any]],
) -> None:
    values = ctx.store_values(customer.store)
    if playbook.b_suggestions:
        rules = ctx.group_rules(customer.group_id)
        for vehicle in vehicles:
            projection = maths.project(
                readings.get(vehicle.pk, []),
                on=ctx.on,
                purchase_date=vehicle.purchase_date,
                default_km_per_day=float(values["default_km_per_day"]),
            )
            for rule in rules:
                episode = f"r{rule.pk}:v{vehicle.pk}"
                if (K.B_SUGGESTION, episode) in done:
                    continue
                template = _suggestion_due(rule, vehicle, projection, history.get(vehicle.pk, (None, None)), ctx.on)
                if template is None:
                    continue
                link = booking_link(
                    store=customer.store,
                    vehicle=vehicle,
                    kind=ReminderKind.MAINTENANCE,
                    due_on=ctx.on,
                    today=ctx.on,
                )
                context = {
                    "plate": vehicle.plate or vehicle.vin,
                    "item": rule.item,
                    "km": f"{projection.projected_km:,}",
                    "months": rule.at_months or 0,
                    "link": link,
                }
                if _send(
                    ctx,
                    customer=customer,
                    kind=K.B_SUGGESTION,
                    episode=episode,
                    template=template,
                    context=context,
                    vehicle=vehicle,
                    rule=rule,
                ):
                    break  # one suggestion per vehicle a day; the next rule waits for tomorrow
    episode = _episode(customer)
    if playbook.b_upgrade and (K.B_UPGRADE, episode) not in done:
        _send(
            ctx,
            customer=customer,
            kind=K.B_UPGRADE,
            episode=episode,
            template="care_b_upgrade",
            context={"offer": playbook.b_upgrade_text, "discount": int(values["extended_warranty_discount_percent"])},
        )


def _tier_c(ctx: _Context, customer: Any, playbook: CarePlaybook, done: set[tuple[str, str]]) -> None:
    if playbook.c_welcome and customer.had_maintenance and (K.C_WELCOME, "first") not in done:
        _send(
            ctx,
            customer=customer,
            kind=K.C_WELCOME,
            episode="first",
            template="care_c_welcome",
            context={"gift": playbook.c_welcome_text},
        )


def _tier_d(
    ctx: _Context,
    customer: Any,
    playbook: CarePlaybook,
    done: set[tuple[str, str]],
    recalled_at: Mapping[tuple[int, str], dt.datetime],
) -> None:
    values = ctx.store_values(customer.store)
    months = int(values["recall_after_months"])
    limit = selectors.local_midnight(months_back(ctx.on, months) + dt.timedelta(days=1))
    if customer.last_closed is None or customer.last_closed >= limit or customer.visit_open:
        return
    episode = _episode(customer)
    if playbook.d_recall and (K.D_RECALL, episode) not in done:
        link = booking_link(
            store=customer.store, vehicle=None, kind=ReminderKind.MAINTENANCE, due_on=ctx.on, today=ctx.on
        )
        if _send(
            ctx,
            customer=customer,
            kind=K.D_RECALL,
            episode=episode,
            template="care_d_recall",
            context={"months": months, "link": link},
        ):
            recalled_at = {**recalled_at, (customer.pk, episode): ctx.now}
    if playbook.d_call and (K.D_CALL, episode) not in done:
        no_offer = not _marketing_consent(customer)
        _task(
            ctx,
            customer=customer,
            kind=K.D_CALL,
            episode=episode,
            users=call_assignee(customer),
            template="care_task_d_call_no_offer" if no_offer else "care_task_d_call",
            context={"months": months},
        )
    if playbook.d_win_back and (K.D_WIN_BACK, episode) not in done:
        anchor = recalled_at.get((customer.pk, episode))
        if anchor is None:
            if playbook.d_recall:
                return  # the offer follows the recall
            anchor = ctx.now - dt.timedelta(days=int(values["care_win_back_offer_after_days"]))
        if ctx.now < anchor + dt.timedelta(days=int(values["care_win_back_offer_after_days"])):
            return
        came = RepairOrder.objects.filter(customer=customer, arrived_at__gt=anchor).exclude(
            status=RepairOrderStatus.CANCELLED
        )
        if came.exists():
            return
        link = booking_link(
            store=customer.store, vehicle=None, kind=ReminderKind.MAINTENANCE, due_on=ctx.on, today=ctx.on
        )
        _send(
            ctx,
            customer=customer,
            kind=K.D_WIN_BACK,
            episode=episode,
            template="care_d_win_back",
            context={"discount": int(values["win_back_labour_discount_percent"]), "link": link},
        )


# ------------------------------------------------------------------------------------------------ the sweep


def _candidates() -> Any:
    orders = RepairOrder.objects.filter(customer=OuterRef("pk"))
    return (
        Customer.objects.filter(store__is_active=True, tier__in=[Tier.A, Tier.B, Tier.C, Tier.D])
        .select_related("store")
        .annotate(
            episode_change=Subquery(
                TierChange.objects.filter(customer=OuterRef("pk"), to_tier=OuterRef("tier"))
                .order_by("-as_of", "-id")
                .values("pk")[:1]
            ),
            last_closed=Subquery(orders.filter(DELIVERED).order_by("-delivered_at").values("delivered_at")[:1]),
            had_maintenance=Exists(orders.filter(DELIVERED, service_type=ServiceType.MAINTENANCE)),
            visit_open=Exists(orders.exclude(status__in=[RepairOrderStatus.DELIVERED, RepairOrderStatus.CANCELLED])),
        )
    )


def _chunk(ctx: _Context, customers: list[Any]) -> None:
    ids = [c.pk for c in customers]
    done: dict[int, set[tuple[str, str]]] = {pk: set() for pk in ids}
    recalled_at: dict[tuple[int, str], dt.datetime] = {}
    for customer_id, kind, episode, done_at in CareAction.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "kind", "episode", "done_at"
    ):
        done[customer_id].add((kind, episode))
        if kind == K.D_RECALL:
            recalled_at[(customer_id, episode)] = done_at
    b_ids = [c.pk for c in customers if c.tier == Tier.B]
    vehicles: dict[int, list[Vehicle]] = {}
    readings: Mapping[int, list[Any]] = {}
    history: dict[int, tuple[int | None, Any]] = {}
    if b_ids:
        for vehicle in Vehicle.objects.filter(customer_id__in=b_ids).order_by("pk"):
            vehicles.setdefault(vehicle.customer_id, []).append(vehicle)
        vehicle_ids = [v.pk for vs in vehicles.values() for v in vs]
        readings = odometer_readings(vehicle_ids)
        for vehicle_id, top_km, last in (
            RepairOrder.objects.filter(DELIVERED, vehicle_id__in=vehicle_ids)
            .order_by()
            .values_list("vehicle_id")
            .annotate(top=Max("mileage_in"), last=Max("delivered_at"))
            .values_list("vehicle_id", "top", "last")
        ):
            history[vehicle_id] = (top_km, last)
    for customer in customers:
        playbook = ctx.playbook(customer.group_id)
        try:
            if customer.tier == Tier.A:
                _tier_a(ctx, customer, playbook, done[customer.pk])
            elif customer.tier == Tier.B:
                _tier_b(ctx, customer, playbook, done[customer.pk], vehicles.get(customer.pk, []), readings, history)
            elif customer.tier == Tier.C:
                _tier_c(ctx, customer, playbook, done[customer.pk])
            elif customer.tier == Tier.D:
                _tier_d(ctx, customer, playbook, done[customer.pk], recalled_at)
        except ApplicationError:
            logger.exception("care: customer %s could not be served", customer.pk)


def care_sweep(*, on: dt.date | None = None) -> SweepResult:
    """The daily work: apply each group's playbook to the customers whose tier and facts call for an action.
    Idempotent: every action is unique per customer, kind and episode."""
    ctx = _Context(on or clock.today())
    for chunk in keyset_chunks(_candidates(), CHUNK):
        _chunk(ctx, chunk)
    return ctx.result


# ---------------------------------------------------------------------------------- playbook and rule table

PLAYBOOK_FIELDS = (
    "a_advisor",
    "a_benefits",
    "a_benefits_text",
    "b_suggestions",
    "b_upgrade",
    "b_upgrade_text",
    "c_welcome",
    "c_welcome_text",
    "d_recall",
    "d_call",
    "d_win_back",
)
RULE_FIELDS = ("item", "at_km", "at_months", "is_active")


def _require_care_manager(by: Any, group_id: int) -> None:
    """Only someone who manages care in a store of the group changes its playbook and rule table."""
    group_stores = frozenset(Store.objects.filter(group_id=group_id).values_list("pk", flat=True))
    if not store_ids_where(by, Capability.MANAGE_CARE) & group_stores:
        raise PermissionDenied(_("Your role may not do this."))


def care_playbook_save(*, group: DealerGroup, by: Any, **fields: Any) -> CarePlaybook:
    """Change the group's playbook (a care manager of the group only); the fields' rules are checked here and
    nothing is written when one fails."""
    _require_care_manager(by, group.pk)
    refuse_control_characters(**{k: v for k, v in fields.items() if k.endswith("_text") and isinstance(v, str)})
    unknown = sorted(set(fields) - set(PLAYBOOK_FIELDS))
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    playbook = CarePlaybook.objects.filter(group=group).first() or CarePlaybook(group=group)
    before = {name: getattr(playbook, name) for name in PLAYBOOK_FIELDS}
    for name, value in fields.items():
        setattr(playbook, name, value.strip() if isinstance(value, str) else value)
    playbook.full_clean()
    with transaction.atomic():
        playbook.save()
        audit_record(
            actor=by,
            action="care_playbook.save",
            obj=playbook,
            changes={
                n: [before[n], getattr(playbook, n)] for n in PLAYBOOK_FIELDS if before[n] != getattr(playbook, n)
            },
        )
    return playbook


def suggestion_rules_ensure_defaults(*, group_id: int) -> int:
    """Give a group that has no suggestion rule yet the defaults; returns how many were made."""
    if SuggestionRule.objects.filter(group_id=group_id).exists():
        return 0
    SuggestionRule.objects.bulk_create([SuggestionRule(group_id=group_id, **row) for row in selectors.DEFAULT_RULES])
    return len(selectors.DEFAULT_RULES)


def suggestion_rule_save(
    *, group: DealerGroup, by: Any, rule: SuggestionRule | None = None, **fields: Any
) -> SuggestionRule:
    """Create or change one line of the suggestion table (a mileage, an age, or both)."""
    _require_care_manager(by, group.pk)
    refuse_control_characters(item=fields.get("item", ""))
    if rule is not None and rule.group_id != group.pk:
        raise ValidationError({"item": [_("The rule belongs to another group.")]})
    target = rule or SuggestionRule(group=group)
    before = {name: getattr(target, name) for name in RULE_FIELDS} if rule else {}
    for name in RULE_FIELDS:
        if name in fields:
            value = fields[name]
            setattr(target, name, value.strip() if isinstance(value, str) else value)
    if target.at_km is None and target.at_months is None:
        raise ValidationError({"at_km": [_("Give a mileage, an age, or both.")]})
    target.full_clean()
    with transaction.atomic():
        target.save()
        audit_record(
            actor=by,
            action="care_suggestion_rule.save",
            obj=target,
            changes={
                n: [before.get(n), getattr(target, n)] for n in RULE_FIELDS if before.get(n) != getattr(target, n)
            },
        )
    return target


def suggestion_rule_delete(*, rule: SuggestionRule, by: Any) -> None:
    _require_care_manager(by, rule.group_id)
    with transaction.atomic():
        audit_record(actor=by, action="care_suggestion_rule.delete", obj=rule, changes={"item": [rule.item, None]})
        rule.delete()
