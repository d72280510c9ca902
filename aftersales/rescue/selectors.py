"""Reads of the rescue app: the group's live board, one request with its clocks and the vehicle's group-wide
history, the stores' rescue bases with their load, and the customer's link."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.rescue.choices import BUSY, OPEN, RescueStatus
from aftersales.rescue.models import RescueBase, RescueRequest
from aftersales.service.models import RepairOrder
from aftersales.service.selectors import vehicle_visits_in_group

LINK_SALT = "aftersales.rescue.request-link"
LINK_INVALID = gettext_noop("This link is not valid. Please use the latest link we sent you, or call the store.")
LINK_EXPIRED = gettext_noop("This link has expired. Please call the store for a new one.")
RECENT_HOURS = 12  # closed requests stay on the board this long


@dataclass(frozen=True)
class Clock:
    """A countdown to `due` (or the time it took, once `done`)."""

    due: dt.datetime | None
    done: dt.datetime | None
    start: dt.datetime
    now: dt.datetime

    @property
    def seconds_left(self) -> int | None:
        if self.due is None or self.done is not None:
            return None
        return int((self.due - self.now).total_seconds())

    @property
    def overdue(self) -> bool:
        if self.due is None:
            return False
        return (self.done or self.now) > self.due

    @property
    def taken_minutes(self) -> int | None:
        if self.done is None:
            return None
        return max(0, int((self.done - self.start).total_seconds() // 60))

    @property
    def left_text(self) -> str:
        """mm:ss left, or +mm:ss past the target."""
        left = self.seconds_left
        if left is None:
            return ""
        sign = "" if left >= 0 else "+"
        left = abs(left)
        return f"{sign}{left // 60:02d}:{left % 60:02d}"


@dataclass
class BoardRow:
    request: RescueRequest
    match_clock: Clock
    response_clock: Clock


def match_clock(request: RescueRequest, now: dt.datetime | None = None) -> Clock:
    return Clock(
        due=request.match_due_at,
        done=request.matched_at or request.handed_off_at or request.cancelled_at,
        start=request.created_at,
        now=now or clock.now(),
    )


def response_clock(request: RescueRequest, now: dt.datetime | None = None) -> Clock:
    return Clock(
        due=request.respond_by,
        done=request.on_site_at or request.cancelled_at,
        start=request.created_at,
        now=now or clock.now(),
    )


def board(*, user: Any, store_ids: frozenset[int]) -> list[BoardRow]:
    """The live board: every open request of the stores the user handles rescues in (waiting first, then the
    oldest), and those closed in the last hours.  Not paged: a live board shows everything current."""
    now = clock.now()
    since = now - dt.timedelta(hours=RECENT_HOURS)
    rows = (
        RescueRequest.objects.for_user(user, Capability.HANDLE_RESCUE, store_ids=store_ids)
        .filter(
            Q(status__in=OPEN) | Q(completed_at__gte=since) | Q(cancelled_at__gte=since) | Q(handed_off_at__gte=since)
        )
        .select_related("store", "vehicle", "customer", "crew_lead")
        .order_by("created_at", "pk")
    )
    order: dict[str, int] = {str(s): i for i, s in enumerate(OPEN)}
    result = [BoardRow(r, match_clock(r, now), response_clock(r, now)) for r in rows]
    result.sort(key=lambda row: (order.get(row.request.status, 9), row.request.created_at))
    return result


def board_counts(rows: list[BoardRow]) -> dict[str, int]:
    counts = {s: 0 for s in RescueStatus.values}
    for row in rows:
        counts[row.request.status] += 1
    return counts


def request_get_for_user(*, user: Any, pk: Any) -> RescueRequest:
    """One request of a store where the user handles rescues, or their own job as a crew lead; anything else is
    404 like a missing one (a driver or a parts clerk of the store does not see where a customer's car stands)."""
    rescue = RescueRequest.objects.select_related(
        "store", "group", "vehicle", "customer", "crew_lead"
    ).get_for_user_or_404(user, pk=pk)
    own_job = rescue.crew_lead_id is not None and rescue.crew_lead_id == getattr(user, "pk", None)
    if not own_job and not user_can(user, Capability.HANDLE_RESCUE, rescue.store_id):
        raise Http404("No rescue request matches the given query.")
    return rescue


def vehicle_history(request: RescueRequest, limit: int = 20) -> list[RepairOrder]:
    """The vehicle's repair orders at every store of the group, for the crew."""
    if request.vehicle_id is None or request.vehicle is None:
        return []
    return vehicle_visits_in_group(vehicle=request.vehicle, limit=limit)


@dataclass
class BaseRow:
    store: Store
    base: RescueBase | None
    busy: int = 0
    free: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def bases_for(*, store_ids: frozenset[int] | set[int]) -> list[BaseRow]:
    """Each store with its rescue base (if any) and how many crews are out now."""
    stores = list(Store.objects.filter(pk__in=store_ids, is_active=True).order_by("code"))
    bases = {b.store_id: b for b in RescueBase.objects.filter(store_id__in=store_ids)}
    busy = dict(
        RescueRequest.objects.filter(store_id__in=store_ids, status__in=BUSY)
        .order_by()
        .values("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
    )
    rows = []
    for store in stores:
        base = bases.get(store.pk)
        n = busy.get(store.pk, 0)
        free = max(0, base.crews - n) if base is not None and base.is_active else 0
        rows.append(BaseRow(store=store, base=base, busy=n, free=free))
    return rows


def requests_for_list(*, user: Any, store_ids: frozenset[int]) -> QuerySet[RescueRequest]:
    return (
        RescueRequest.objects.for_user(user, Capability.HANDLE_RESCUE, store_ids=store_ids)
        .select_related("store", "vehicle")
        .order_by("-created_at", "-pk")
    )


# ---------------------------------------------------------------------------------------------------------------
# The customer's link


def request_link_token(request: RescueRequest) -> str:
    days = int(setting_values_for_store(request.store)["customer_link_days"])
    expires = int(time.time()) + days * 86400
    return signing.dumps({"r": request.pk, "n": request.link_nonce, "e": expires}, salt=LINK_SALT, compress=True)


def request_from_token(token: str) -> RescueRequest:
    """The request a customer's link names; an expired, forged or revoked link is an ApplicationError."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=366 * 86400)
    except signing.SignatureExpired as exc:
        raise ApplicationError(_(LINK_EXPIRED), {"code": "link_expired"}) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"}) from exc
    if not isinstance(payload, dict):
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    expires, pk, nonce = payload.get("e"), payload.get("r"), payload.get("n")
    if not isinstance(expires, int) or expires < time.time():
        raise ApplicationError(_(LINK_EXPIRED), {"code": "link_expired"})
    if not isinstance(pk, int) or not isinstance(nonce, str):
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    request = RescueRequest.objects.select_related("store", "vehicle").filter(pk=pk, link_nonce=nonce).first()
    if request is None:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    return request


def eta(request: RescueRequest) -> dt.datetime | None:
    """When the crew should be there: the response target of the road type (None once on site or closed)."""
    if request.status in (RescueStatus.MATCHED, RescueStatus.DISPATCHED):
        return request.respond_by
    return None
