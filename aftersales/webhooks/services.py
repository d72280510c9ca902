"""Writes of the webhooks app: subscriptions (create, change, delete, test) and the sweep that turns the lower apps'
recorded facts into events and queues one outbox message per matching subscription.

The sweep is idempotent: an event is unique per (source row, type), a delivery per (event, subscription) and its
outbox message per de-duplication key, and an event's fan-out is claimed with a conditional UPDATE.  So a rerun, two
workers at once or a worker killed half-way never queue an event twice for one subscription."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.customers import crypto
from aftersales.messaging.models import WebhookEndpoint
from aftersales.messaging.services import webhook_enqueue, webhook_withdraw
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.webhooks.choices import ALL_TYPES, PING
from aftersales.webhooks.models import SweepMark, WebhookDelivery, WebhookEvent, WebhookSubscription
from aftersales.webhooks.sources import SOURCES, Fact, iso

HTTP_URL = URLValidator(schemes=["http", "https"])
# The sweep looks again this far before its last mark: a row written by a transaction that committed after the
# previous sweep read, with a time before it, is still found (its event is unique, so nothing is found twice).
OVERLAP = dt.timedelta(minutes=10)
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 200
NAME_MAX_LENGTH = 100
FAN_OUT_BATCH = 500


# ------------------------------------------------------------------------------------------------ rights


def may_manage(user: Any, *, group: DealerGroup, store: Store | None) -> bool:
    """A store's subscription: MANAGE_WEBHOOKS in the store; the group's: in every store of the group (its events
    come from all of them)."""
    if store is not None:
        return user_can(user, Capability.MANAGE_WEBHOOKS, store.pk)
    store_ids = list(group.stores.values_list("pk", flat=True))
    return bool(store_ids) and all(user_can(user, Capability.MANAGE_WEBHOOKS, pk) for pk in store_ids)


def _require(user: Any, *, group: DealerGroup, store: Store | None) -> None:
    if not may_manage(user, group=group, store=store):
        raise PermissionDenied(_("Your role may not do this."))


# ------------------------------------------------------------------------------------------ subscriptions


def _clean(
    *, name: Any = None, url: Any = None, secret: Any = None, event_types: Any = None, creating: bool
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if name is not None or creating:
        name = str(name or "").strip()
        if not name:
            errors["name"] = [_("This field is required.")]
        elif len(name) > NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
            errors["name"] = [_("At most %(n)s characters on one line.") % {"n": NAME_MAX_LENGTH}]
        values["name"] = name
    if url is not None or creating:
        url = str(url or "").strip()
        try:
            HTTP_URL(url)
            if len(url) > 500:
                raise ValidationError("too long")
        except ValidationError:
            errors["url"] = [_("Enter an http or https address.")]
        values["url"] = url
    if secret is not None:
        secret = str(secret)
        if not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH or any(ord(c) < 33 for c in secret):
            errors["secret"] = [
                _("Between %(low)s and %(high)s characters, no spaces.")
                % {"low": SECRET_MIN_LENGTH, "high": SECRET_MAX_LENGTH}
            ]
        values["secret"] = secret
    if event_types is not None or creating:
        chosen = list(event_types or [])
        unknown = [str(t) for t in chosen if t not in ALL_TYPES]
        if unknown:
            errors["event_types"] = [_("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}]
        elif not chosen:
            errors["event_types"] = [_("Choose at least one event type.")]
        values["event_types"] = [t for t in ALL_TYPES if t in chosen]
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def subscription_create(
    *,
    by: Any,
    group: DealerGroup,
    store: Store | None,
    name: Any,
    url: Any,
    event_types: Any,
    secret: Any = None,
    is_active: bool = True,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and the secret that signs its posts (generated when none is given).  The secret is answered
    here once and never again; it is stored encrypted and never audited."""
    _require(by, group=group, store=store)
    if store is not None and store.group_id != group.pk:
        raise ValidationError({"store": [_("The store belongs to another dealer group.")]})
    values = _clean(name=name, url=url, secret=secret, event_types=event_types, creating=True)
    plain = values.get("secret") or f"whsec_{secrets.token_urlsafe(32)}"
    endpoint = WebhookEndpoint.objects.create(url=values["url"], secret_encrypted=crypto.encrypt(plain))
    subscription = WebhookSubscription.objects.create(
        group=group,
        store=store,
        name=values["name"],
        endpoint=endpoint,
        event_types=values["event_types"],
        is_active=bool(is_active),
        active_since=clock.now(),
        created_by=by if getattr(by, "pk", None) else None,
    )
    audit_record(
        actor=by,
        action="webhook_subscription.create",
        obj=subscription,
        store_id=store.pk if store else None,
        changes={
            "name": values["name"],
            "url": values["url"],
            "event_types": values["event_types"],
            "is_active": bool(is_active),
            "scope": "store" if store else "group",
        },
    )
    return subscription, plain


@transaction.atomic
def subscription_update(
    *,
    subscription: WebhookSubscription,
    by: Any,
    name: Any = None,
    url: Any = None,
    secret: Any = None,
    event_types: Any = None,
    is_active: bool | None = None,
) -> WebhookSubscription:
    """Change what is given (None: unchanged).  A new secret signs every post from now on, retries included; pausing
    withdraws the events still waiting (they are never sent, not even after resuming)."""
    _require(by, group=subscription.group, store=subscription.store)
    values = _clean(name=name, url=url, secret=secret, event_types=event_types, creating=False)
    endpoint = subscription.endpoint
    changes: dict[str, list[Any]] = {}
    for key in ("name", "event_types"):
        if key in values and getattr(subscription, key) != values[key]:
            changes[key] = [getattr(subscription, key), values[key]]
            setattr(subscription, key, values[key])
    if is_active is not None and subscription.is_active != bool(is_active):
        changes["is_active"] = [subscription.is_active, bool(is_active)]
        subscription.is_active = bool(is_active)
        if subscription.is_active:
            subscription.active_since = clock.now()  # what happened while it was paused is never sent
    if "url" in values and endpoint.url != values["url"]:
        changes["url"] = [endpoint.url, values["url"]]
        endpoint.url = values["url"]
    if "secret" in values:
        changes["secret"] = ["…", "…"]  # that it changed, never the value
        endpoint.secret_encrypted = crypto.encrypt(values["secret"])
    if not changes:
        return subscription
    endpoint.save()
    subscription.save()
    if changes.get("is_active") == [True, False]:
        webhook_withdraw(endpoint=endpoint)
    audit_record(actor=by, action="webhook_subscription.update", obj=subscription, changes=changes)
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription, by: Any) -> None:
    """Delete the subscription, its endpoint and its delivery log; what was waiting is never sent."""
    _require(by, group=subscription.group, store=subscription.store)
    audit_record(
        actor=by,
        action="webhook_subscription.delete",
        obj=subscription,
        changes={"name": subscription.name, "url": subscription.endpoint.url},
    )
    endpoint = subscription.endpoint
    subscription.delete()
    endpoint.delete()  # its outbox messages and their attempts go with it


def _envelope(
    *,
    event_id: uuid.UUID,
    event_type: str,
    store: Store,
    occurred_at: dt.datetime,
    now: dt.datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": event_type,
        "created_at": iso(now),
        "occurred_at": iso(occurred_at),
        "store": store.code,
        "data": data,
    }


def _body(event: WebhookEvent) -> str:
    return json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _deliver(event: WebhookEvent, subscription: WebhookSubscription) -> WebhookDelivery:
    """Queue the event for the subscription (once: the outbox key and the delivery are unique)."""
    message = webhook_enqueue(
        store=event.store,
        endpoint=subscription.endpoint,
        event_id=str(event.event_id),
        event_type=event.type,
        body=_body(event),
        dedupe_key=f"webhook:{event.event_id}:{subscription.pk}",
        related=event,
    )
    delivery, _created = WebhookDelivery.objects.get_or_create(
        event=event, subscription=subscription, defaults={"message": message}
    )
    return delivery


@transaction.atomic
def subscription_test(*, subscription: WebhookSubscription, by: Any) -> WebhookDelivery:
    """Send a `ping` event to this subscription only, now, whatever it subscribes to (even while paused)."""
    _require(by, group=subscription.group, store=subscription.store)
    store = subscription.store or subscription.group.stores.order_by("pk").first()
    if store is None:
        raise ValidationError({"store": [_("The dealer group has no store yet.")]})
    now = clock.now()
    event_id = uuid.uuid4()
    event = WebhookEvent.objects.create(
        event_id=event_id,
        type=PING,
        group=subscription.group,
        store=store,
        source="webhooks.webhooksubscription",
        source_id=str(event_id),
        occurred_at=now,
        fanned_out_at=now,
        payload=_envelope(
            event_id=event_id,
            event_type=PING,
            store=store,
            occurred_at=now,
            now=now,
            data={"subscription_id": subscription.pk},
        ),
        created_at=now,
    )
    audit_record(actor=by, action="webhook_subscription.test", obj=subscription, changes={"event": str(event_id)})
    return _deliver(event, subscription)


# ------------------------------------------------------------------------------------------------- sweep


def _record_facts(facts: Iterable[Fact], *, now: dt.datetime) -> int:
    """Insert the events of facts not recorded yet; returns how many were new."""
    facts = list(facts)
    if not facts:
        return 0
    known = set(
        WebhookEvent.objects.filter(
            type__in={f.type for f in facts}, source_id__in={f.source_id for f in facts}
        ).values_list("source", "source_id", "type")
    )
    stores = {s.pk: s for s in Store.objects.filter(pk__in={f.store_id for f in facts})}
    new = []
    for fact in facts:
        if (fact.source, fact.source_id, fact.type) in known:
            continue
        known.add((fact.source, fact.source_id, fact.type))
        event_id = uuid.uuid4()
        new.append(
            WebhookEvent(
                event_id=event_id,
                type=fact.type,
                group_id=fact.group_id,
                store_id=fact.store_id,
                source=fact.source,
                source_id=fact.source_id,
                occurred_at=fact.occurred_at,
                payload=_envelope(
                    event_id=event_id,
                    event_type=fact.type,
                    store=stores[fact.store_id],
                    occurred_at=fact.occurred_at,
                    now=now,
                    data=fact.data,
                ),
                created_at=now,
            )
        )
    # A concurrent sweep may have inserted some of them since: the unique constraint skips those.
    WebhookEvent.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def webhook_events_find(*, now: dt.datetime | None = None) -> int:
    """Turn the facts recorded since each source's mark into events, for the groups with an active subscription to
    that type; returns how many events were new."""
    now = now or clock.now()
    active = list(
        WebhookSubscription.objects.filter(is_active=True).values_list("group_id", "active_since", "event_types")
    )
    created = 0
    for event_type, source in SOURCES.items():
        subscribed = [(group_id, since) for group_id, since, types in active if event_type in (types or [])]
        if not subscribed:
            continue
        earliest = min(since for _group, since in subscribed)
        mark = SweepMark.objects.filter(source=event_type).first()
        since = earliest if mark is None else max(mark.seen_until - OVERLAP, earliest)
        created += _record_facts(source(since, {group for group, _since in subscribed}), now=now)
        SweepMark.objects.update_or_create(source=event_type, defaults={"seen_until": now})
    return created


def webhook_fan_out(*, now: dt.datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
    """Queue the new events for every active subscription of their store (or group) and type, active since before
    the fact; returns how many deliveries were queued."""
    now = now or clock.now()
    pending = list(
        WebhookEvent.objects.filter(fanned_out_at__isnull=True).select_related("store").order_by("id")[: max(limit, 0)]
    )
    if not pending:
        return 0
    subscriptions = list(WebhookSubscription.objects.filter(is_active=True).select_related("endpoint"))
    queued = 0
    for event in pending:
        with transaction.atomic():
            if not WebhookEvent.objects.filter(pk=event.pk, fanned_out_at__isnull=True).update(fanned_out_at=now):
                continue  # another sweep took it
            for subscription in subscriptions:
                if (
                    subscription.group_id == event.group_id
                    and subscription.store_id in (None, event.store_id)
                    and event.type in (subscription.event_types or [])
                    and subscription.active_since <= event.occurred_at
                ):
                    _deliver(event, subscription)
                    queued += 1
    return queued


def webhook_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: find new facts, then queue their deliveries (the outbox sends and retries them)."""
    found = webhook_events_find(now=now)
    queued = webhook_fan_out(now=now)
    return {"events": found, "deliveries": queued}
