"""Reads of customers' rights requests: the list (open first, by due time), one request, the clock as a page
shows it.  Anyone who may log requests in a store (LOG_RIGHTS_REQUESTS) reads that store's requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import pgettext_lazy

from aftersales.core.calendar import format_countdown, remaining, working_days_between
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.permissions import ROLE_CAPABILITIES, Capability
from aftersales.privacy.choices import OPEN_STATUSES, RequestKind, RequestStatus
from aftersales.privacy.models import RightsRequest
from aftersales.privacy.services import store_escalation_at, uses_working_days

READ = Capability.LOG_RIGHTS_REQUESTS


def rights_request_list(
    *,
    user: Any,
    store_ids: Iterable[int] | None = None,
    status: str | None = None,
    kind: str | None = None,
    customer_id: int | None = None,
) -> QuerySet[RightsRequest]:
    """The requests of the user's stores: open ones first (soonest due first), then the rest, latest first."""
    rows = RightsRequest.objects.for_user(user, READ, store_ids=store_ids).select_related(
        "store", "customer", "owner__staff_profile"
    )
    if status == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    is_open = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return rows.annotate(closed_rank=is_open).order_by("closed_rank", "due_at", "-received_at", "id")


def may_log_somewhere(user: Any) -> bool:
    return bool(store_ids_where(user, READ))


def rights_request_get_for_user(*, user: Any, pk: Any) -> RightsRequest:
    """One request of a store where the user may read requests; 404 otherwise, exactly like a missing one."""
    return RightsRequest.objects.select_related(
        "store",
        "customer",
        "owner__staff_profile",
        "logged_by__staff_profile",
        "identity_checked_by__staff_profile",
        "answered_by__staff_profile",
    ).get_for_user_or_404(user, READ, pk=pk)


@dataclass(frozen=True)
class RequestClock:
    """A request's clock as a page shows it."""

    received_at: dt.datetime
    due_at: dt.datetime
    running: bool
    overdue: bool
    countdown: str
    nearly_due: bool  # 80 % run: the store's managers have been (or are about to be) told
    working_days: bool  # vehicle-data erasure: counted in working days
    working_days_total: int | None
    working_days_left: int | None


def request_clock(request: RightsRequest, *, now: dt.datetime) -> RequestClock:
    running = request.status in OPEN_STATUSES
    left = remaining(request.due_at, now)
    vehicle = uses_working_days(request.kind, request.scope)
    return RequestClock(
        received_at=request.received_at,
        due_at=request.due_at,
        running=running,
        overdue=running and left.total_seconds() < 0,
        countdown=format_countdown(left) if running else "",
        nearly_due=running and store_escalation_at(request) <= now,
        working_days=vehicle,
        working_days_total=working_days_between(request.received_at, request.due_at) if vehicle else None,
        working_days_left=max(working_days_between(now, request.due_at), 0) if vehicle and running else None,
    )


def handlers_for(store: Store) -> list[tuple[int, str]]:
    """The people who may own a request of `store`: members of the store or group-wide members of its group whose
    role holds HANDLE_RIGHTS_REQUESTS (the service checks each again)."""
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if Capability.HANDLE_RIGHTS_REQUESTS in caps]
    memberships = (
        Membership.objects.filter(
            Q(store=store) | Q(group_id=store.group_id, store__isnull=True), role__in=roles, user__is_active=True
        )
        .select_related("user__staff_profile")
        .order_by("user_id")
    )
    seen: dict[int, str] = {}
    for m in memberships:
        profile = getattr(m.user, "staff_profile", None)
        name = getattr(profile, "display_name", "") or m.user.get_username()
        seen.setdefault(m.user_id, f"{name} · {m.get_role_display()}")
    return sorted(seen.items(), key=lambda item: item[1])


# The statuses' words on the pages, in the context of a rights request ("In progress" alone reads as a repair
# order's "in the workshop" in Chinese).
STATUS_LABELS: dict[str, Any] = {
    RequestStatus.RECEIVED: pgettext_lazy("rights request", "Received"),
    RequestStatus.IN_PROGRESS: pgettext_lazy("rights request", "In progress"),
    RequestStatus.DONE: pgettext_lazy("rights request", "Answered"),
    RequestStatus.REFUSED: pgettext_lazy("rights request", "Refused"),
    RequestStatus.WITHDRAWN: pgettext_lazy("rights request", "Withdrawn by the customer"),
}


def status_label(status: str) -> Any:
    return STATUS_LABELS.get(RequestStatus(status), status)


STATUS_BADGES: dict[str, str] = {
    RequestStatus.RECEIVED: "warning",
    RequestStatus.IN_PROGRESS: "primary",
    RequestStatus.DONE: "success",
    RequestStatus.REFUSED: "secondary",
    RequestStatus.WITHDRAWN: "light",
}
KINDS = RequestKind
