"""Writes of the reminders app: the daily sweep that schedules and sends reminders, snoozing one, and the service
interval rules.

The sweep is idempotent.  A due item is one row, unique on (vehicle or customer, kind, due_key), created with
`ignore_conflicts`; a reminder is sent by a conditional UPDATE that claims it (state and times sent unchanged since
it was read), inside the same transaction as the outbox insert, whose dedupe_key names the reminder and the how
manieth sending it is.  Rerunning the sweep, or two workers running it at once, sends nothing twice."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import keyset_chunks
from aftersales.core.scoping import store_ids_where
from aftersales.core.text import refuse_control_characters
from aftersales.customers.models import Customer, Vehicle
from aftersales.messaging.choices import Language, MessageStatus, Purpose
from aftersales.messaging.services import message_enqueue
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.reminders import selectors
from aftersales.reminders.choices import OPEN_STATES, IntervalScope, ReminderKind, ReminderState
from aftersales.reminders.models import Reminder, ServiceInterval
from aftersales.reminders.selectors import DueItem
from aftersales.reminders.transitions import REMINDER
from aftersales.service.choices import ServiceType

logger = logging.getLogger("aftersales.reminders")

K = ReminderKind
S = ReminderState
CHUNK = 500
MAX_SNOOZE_DAYS = 365

# Birthday greetings and the insurance renewal (the store sells the policy) are marketing: consent needed, the
# opt-out honoured; the rest are notices about the customer's own vehicle that rest on the service contract.
PURPOSE: dict[str, str] = {
    K.FIRST_MAINTENANCE: Purpose.SERVICE,
    K.MAINTENANCE: Purpose.SERVICE,
    K.INSURANCE: Purpose.MARKETING,
    K.INSPECTION: Purpose.SERVICE,
    K.DEFERRED_WORK: Purpose.SERVICE,
    K.BIRTHDAY: Purpose.MARKETING,
}
# What the one-tap booking link preselects; kinds without a visit to book carry no link.
BOOKING_SERVICE: dict[str, str] = {
    K.FIRST_MAINTENANCE: ServiceType.MAINTENANCE,
    K.MAINTENANCE: ServiceType.MAINTENANCE,
    K.INSPECTION: ServiceType.INSPECTION,
    K.DEFERRED_WORK: ServiceType.REPAIR,
}


@dataclass(frozen=True)
class SweepResult:
    scheduled: int = 0
    sent: int = 0
    suppressed: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True)))


# ---------------------------------------------------------------------------------------------------- the link


def booking_link(*, store: Store, vehicle: Vehicle | None, kind: str, due_on: dt.date, today: dt.date) -> str:
    """The store's online booking page, prefilled for the vehicle: the service, its plate and the due day (when
    it is still ahead), in the message's language."""
    params: dict[str, str] = {"lang": str(Language.ZH_HANS)}
    if kind in BOOKING_SERVICE:
        params["service"] = BOOKING_SERVICE[kind]
    if vehicle is not None and vehicle.plate:
        params["plate"] = vehicle.plate
    if due_on > today:
        params["day"] = due_on.isoformat()
    path = reverse("service:customer-book", args=[store.code])
    return f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}?{urlencode(params)}"


def _context(reminder: Reminder, *, today: dt.date) -> dict[str, Any]:
    store, vehicle = reminder.store, reminder.vehicle
    context: dict[str, Any] = {
        "name": reminder.customer.name,
        "store": store.name,
        "phone": store.phone,
        "due": f"{reminder.due_on:%Y-%m-%d}",
    }
    if vehicle is not None:
        context["plate"] = vehicle.plate or vehicle.vin
    if reminder.kind in BOOKING_SERVICE:
        context["link"] = booking_link(
            store=store, vehicle=vehicle, kind=reminder.kind, due_on=reminder.due_on, today=today
        )
    if reminder.kind in (K.MAINTENANCE, K.FIRST_MAINTENANCE):
        context["km"] = f"{reminder.due_km or 0:,}"
    if reminder.kind == K.DEFERRED_WORK:
        context["work"] = reminder.note
    return context


# ----------------------------------------------------------------------------------------------------- sending


def reminder_send(*, reminder: Reminder, today: dt.date) -> bool:
    """Send one open reminder through the outbox, once: claims it by a conditional UPDATE first.  Returns whether
    this call sent it (False: another run did, or it is no longer open)."""
    REMINDER.authorise(REMINDER.get("send"), actor=Party.SYSTEM, store_id=reminder.store_id)
    count = reminder.send_count + 1
    with transaction.atomic():
        claimed = Reminder.objects.filter(pk=reminder.pk, state=reminder.state, send_count=reminder.send_count).update(
            state=S.SENT, send_count=F("send_count") + 1, sent_at=clock.now(), snoozed_until=None
        )
        if not claimed:
            return False
        message = message_enqueue(
            store=reminder.store,
            template=f"reminder_{reminder.kind}",
            context=_context(reminder, today=today),
            customer=reminder.customer,
            purpose=PURPOSE[reminder.kind],
            dedupe_key=f"reminder:{reminder.pk}:{count}",
            related=reminder,
        )
        state = S.SUPPRESSED if message.status == MessageStatus.SUPPRESSED else S.SENT
        Reminder.objects.filter(pk=reminder.pk).update(message=message, state=state)
    reminder.refresh_from_db()
    return True


# ------------------------------------------------------------------------------------------------------ the sweep


class _Context:
    """Per-sweep caches: each store's settings and each group's interval rules, read once."""

    def __init__(self) -> None:
        self.values: dict[int, Mapping[str, int | Decimal]] = {}
        self.rules: dict[int, list[ServiceInterval]] = {}

    def store_values(self, store: Store) -> Mapping[str, int | Decimal]:
        if store.pk not in self.values:
            self.values[store.pk] = setting_values_for_store(store)
        return self.values[store.pk]

    def group_rules(self, group_id: int) -> list[ServiceInterval]:
        if group_id not in self.rules:
            service_intervals_ensure_defaults(group_id=group_id)
            self.rules[group_id] = selectors.interval_rules(group_id)
        return self.rules[group_id]


# A due item's identity: (vehicle id, kind, key) for a vehicle's item — whoever owns the car now —, and
# (customer id, kind, key) for a customer's own (a birthday).  The target says who is reminded and which store sends.
_Key = tuple[str, int, str, str]
_Target = tuple[DueItem, int, int]  # item, customer id, sending store id


def _key_of(reminder: Reminder) -> _Key:
    if reminder.vehicle_id is not None:
        return ("vehicle", reminder.vehicle_id, reminder.kind, reminder.due_key)
    return ("customer", reminder.customer_id, reminder.kind, reminder.due_key)


def _reconcile(*, wanted: dict[_Key, _Target], existing: list[Reminder]) -> SweepResult:
    """Make the stored reminders of a chunk match the due items: create the new ones, move the open ones whose
    day changed (a new reading), reopen those due again, cancel the open ones no longer due."""
    scheduled = cancelled = 0
    by_key = {_key_of(r): r for r in existing}
    new = []
    for key, (item, customer_id, store_id) in wanted.items():
        row = by_key.get(key)
        if row is None:
            owner, owner_id, kind, due_key = key
            vehicle_id = owner_id if owner == "vehicle" else None
            new.append(
                Reminder(
                    store_id=store_id,
                    customer_id=customer_id,
                    vehicle_id=vehicle_id,
                    kind=kind,
                    due_key=due_key,
                    due_on=item.due_on,
                    remind_on=item.remind_on,
                    due_km=item.due_km,
                    note=item.note,
                    created_at=clock.now(),
                )
            )
        elif row.state == S.CANCELLED or (
            row.state == S.SCHEDULED
            and (row.due_on, row.remind_on, row.due_km, row.customer_id, row.store_id)
            != (item.due_on, item.remind_on, item.due_km, customer_id, store_id)
        ):
            Reminder.objects.filter(pk=row.pk, state=row.state).update(
                state=S.SCHEDULED,
                due_on=item.due_on,
                remind_on=item.remind_on,
                due_km=item.due_km,
                customer_id=customer_id,
                store_id=store_id,
            )
            scheduled += row.state == S.CANCELLED
    for key, row in by_key.items():
        if key not in wanted and row.state in OPEN_STATES:
            cancelled += Reminder.objects.filter(pk=row.pk, state=row.state).update(state=S.CANCELLED)
    # ignore_conflicts: a concurrent sweep that created the same item first wins, this insert is dropped.
    created = Reminder.objects.bulk_create(new, ignore_conflicts=True)
    return SweepResult(scheduled=scheduled + len(created), cancelled=cancelled)


def _vehicle_chunk(vehicles: list[Vehicle], ctx: _Context, on: dt.date) -> SweepResult:
    facts = selectors.vehicle_facts([v.pk for v in vehicles])
    # The store the car last visited sends (one file per group: a customer who moved to the sister store hears from
    # it); a car never seen at any store hears from the customer's registering store.
    last_stores = Store.objects.in_bulk({f.last_store_id for f in facts.values() if f.last_store_id is not None})
    wanted: dict[_Key, _Target] = {}
    for vehicle in vehicles:
        last = last_stores.get(facts[vehicle.pk].last_store_id or 0)
        sender = last if last is not None and last.is_active else vehicle.customer.store
        values = ctx.store_values(sender)
        interval = selectors.interval_for(vehicle, ctx.group_rules(vehicle.store.group_id))
        for item in selectors.due_items(vehicle, facts[vehicle.pk], interval=interval, values=values, on=on):
            if selectors.wanted(item, values=values, on=on):
                wanted[("vehicle", vehicle.pk, item.kind, item.due_key)] = (item, vehicle.customer_id, sender.pk)
    existing = list(Reminder.objects.filter(vehicle__in=vehicles).filter(state__in=[*OPEN_STATES, S.CANCELLED]))
    return _reconcile(wanted=wanted, existing=existing)


def _birthday_chunk(customers: list[Customer], ctx: _Context, on: dt.date) -> SweepResult:
    wanted: dict[_Key, _Target] = {}
    for customer in customers:
        if customer.birthday is None:
            continue
        values = ctx.store_values(customer.store)
        item = selectors.birthday_due(customer.birthday, values=values, on=on)
        if selectors.wanted(item, values=values, on=on):
            wanted[("customer", customer.pk, item.kind, item.due_key)] = (item, customer.pk, customer.store_id)
    existing = list(
        Reminder.objects.filter(customer__in=customers, vehicle__isnull=True, kind=K.BIRTHDAY).filter(
            state__in=[*OPEN_STATES, S.CANCELLED]
        )
    )
    return _reconcile(wanted=wanted, existing=existing)


def _send_due(on: dt.date, ctx: _Context) -> SweepResult:
    """Send every open reminder whose day has come (a snoozed one when its snooze ends), unless it went stale."""
    sent = suppressed = 0
    rows = Reminder.objects.filter(
        store__is_active=True, state=S.SCHEDULED, remind_on__lte=on
    ) | Reminder.objects.filter(store__is_active=True, state=S.SNOOZED, snoozed_until__lte=on)
    for chunk in keyset_chunks(rows.select_related("store", "customer", "vehicle"), CHUNK):
        for reminder in chunk:
            values = ctx.store_values(reminder.store)
            stale = on - dt.timedelta(days=int(values["reminder_overdue_days"]))
            if reminder.state == S.SCHEDULED and reminder.due_on < stale:
                Reminder.objects.filter(pk=reminder.pk, state=S.SCHEDULED).update(state=S.CANCELLED)
                continue
            try:
                if reminder_send(reminder=reminder, today=on):
                    sent += reminder.state == S.SENT
                    suppressed += reminder.state == S.SUPPRESSED
            except ApplicationError:
                logger.exception("reminder %s could not be queued", reminder.pk)
    return SweepResult(sent=sent, suppressed=suppressed)


def reminder_sweep(*, on: dt.date | None = None) -> SweepResult:
    """The daily work: bring the stored reminders in line with what falls due (vehicles of active stores, and
    customers' birthdays), then send those whose day has come.  Idempotent."""
    on = on or clock.today()
    ctx = _Context()
    result = SweepResult()
    vehicles = Vehicle.objects.filter(customer__store__is_active=True).select_related("customer__store", "store")
    for chunk in keyset_chunks(vehicles, CHUNK):
        result += _vehicle_chunk(chunk, ctx, on)
    customers = Customer.objects.filter(store__is_active=True, birthday__isnull=False).select_related("store")
    for chunk in keyset_chunks(customers, CHUNK):
        result += _birthday_chunk(chunk, ctx, on)
    return result + _send_due(on, ctx)


# ----------------------------------------------------------------------------------------------------- snooze


def reminder_snooze(*, reminder: Reminder, days: int, by: Actor) -> Reminder:
    """Remind again in `days` days (the customer answered "later / 稍后", or staff agreed a day on the phone).
    A scheduled reminder goes out then instead; a sent one goes once more then."""
    move = REMINDER.require(REMINDER.get("snooze"), actor=by, state=reminder.state, store_id=reminder.store_id)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_SNOOZE_DAYS:
        raise ValidationError({"days": [_("Snooze for 1 to {most} days.").format(most=MAX_SNOOZE_DAYS)]})
    until = clock.today() + dt.timedelta(days=days)
    with transaction.atomic():
        changed = Reminder.objects.filter(pk=reminder.pk, state=reminder.state, send_count=reminder.send_count).update(
            state=move.target, snoozed_until=until
        )
        if not changed:
            raise ApplicationError(_("The reminder changed meanwhile; reload and try again."), {"code": "conflict"})
        audit_record(
            actor=actor_user(by),
            action="reminder.snooze",
            obj=reminder,
            changes={"state": [reminder.state, move.target], "snoozed_until": [None, until.isoformat()]},
        )
    reminder.refresh_from_db()
    return reminder


# ------------------------------------------------------------------------------------------- service intervals


def service_intervals_ensure_defaults(*, group_id: int) -> int:
    """Give a group that has no interval rule yet the defaults (petrol and NEV); returns how many were made."""
    if ServiceInterval.objects.filter(group_id=group_id).exists():
        return 0
    ServiceInterval.objects.bulk_create(
        [ServiceInterval(group_id=group_id, **values) for values in selectors.DEFAULT_INTERVALS]
    )
    return len(selectors.DEFAULT_INTERVALS)


INTERVAL_FIELDS = ("scope", "brand", "model_pattern", "every_km", "every_months", "first_km", "first_months")


def _require_interval_editor(by: Any, *, group_id: int, store_id: int | None) -> None:
    """A store's rule needs the store's settings role; a group rule the group's, in a store of the group."""
    if store_id is not None:
        allowed = store_id in store_ids_where(by, Capability.EDIT_STORE_SETTINGS)
    else:
        group_stores = frozenset(Store.objects.filter(group_id=group_id).values_list("pk", flat=True))
        allowed = bool(store_ids_where(by, Capability.EDIT_GROUP_SETTINGS) & group_stores)
    if not allowed:
        raise PermissionDenied(_("Your role may not do this."))


def service_interval_save(
    *, group: DealerGroup, store: Store | None, by: Any, rule: ServiceInterval | None = None, **fields: Any
) -> ServiceInterval:
    """Create or change one rule (store settings for a store's rule, group settings for the group's, checked
    here); the fields' own rules are checked too and nothing is written when one fails."""
    _require_interval_editor(by, group_id=group.pk, store_id=store.pk if store else None)
    refuse_control_characters(brand=fields.get("brand", ""), model_pattern=fields.get("model_pattern", ""))
    if store is not None and store.group_id != group.pk:
        raise ValidationError({"store": [_("The store belongs to another group.")]})
    if fields.get("scope", IntervalScope.ALL) not in IntervalScope.values:
        raise ValidationError({"scope": [_("Choose a powertrain from the list.")]})
    target = rule or ServiceInterval(group=group, store=store)
    before = {name: getattr(target, name) for name in INTERVAL_FIELDS} if rule else {}
    for name in INTERVAL_FIELDS:
        if name in fields:
            value = fields[name]
            setattr(target, name, value.strip() if isinstance(value, str) else value)
    target.full_clean()
    with transaction.atomic():
        target.save()
        audit_record(
            actor=by,
            action="service_interval.save",
            obj=target,
            store_id=store.pk if store else None,
            changes={
                n: [before.get(n), getattr(target, n)] for n in INTERVAL_FIELDS if before.get(n) != getattr(target, n)
            },
        )
    return target


def service_interval_delete(*, rule: ServiceInterval, by: Any) -> None:
    _require_interval_editor(by, group_id=rule.group_id, store_id=rule.store_id)
    with transaction.atomic():
        audit_record(actor=by, action="service_interval.delete", obj=rule, store_id=rule.store_id, changes={})
        rule.delete()
