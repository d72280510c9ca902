"""The workshop board, the technician's jobs, service history and deferred work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of, search_param
from aftersales.core.scoping import store_ids_where
from aftersales.customers import selectors as customer_selectors
from aftersales.organisation.access import capability_required, require
from aftersales.organisation.choices import Role
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.selectors import staff_options
from aftersales.service import selectors, services
from aftersales.service.choices import (
    STATUS_BADGES,
    AppointmentStatus,
    DeferredStatus,
    LineKind,
)
from aftersales.service.models import DeferredWork, EstimateLine
from aftersales.service.views._common import (
    C,
    S,
    _field_errors,
    _next_or,
    _order_url,
    transition_moves,
)
from aftersales.service.views.orders import _order


@capability_required(C.DISPATCH, C.QUALITY_CHECK, C.VIEW_SERVICE)
def board(request: HttpRequest) -> HttpResponse:
    """The foreman's board: a column per workshop state, work time against standard time."""
    columns = selectors.workshop_board(user=request.user, store_ids=current_store_ids(request))
    context = {"columns": columns, "badges": STATUS_BADGES, "now": clock.now()}
    if request.htmx:
        return render(request, "service/partials/_board.html", context)
    return render(request, "service/board.html", context)


@capability_required(C.WORK)
def my_jobs(request: HttpRequest) -> HttpResponse:
    """The technician's own jobs, phone first: big buttons for the next states, approved lines only."""
    jobs = selectors.technician_jobs(user=request.user)
    now = clock.now()
    for job in jobs:  # the same moves, from the same rulebook, as the order page and the API
        job["buttons"] = [
            {
                "target": m.target,
                "label": m.label,
                "needs_reason": m.needs_reason,
                # going back along the process (out of the bay) is shown quieter than the next step
                "back": list(S.values).index(str(m.target)) < list(S.values).index(job["order"].status),
            }
            for m in transition_moves(job["order"], request.user)
        ]
        for line in job["lines"]:  # the job clock of each approved labour line (prefetched segments)
            segments = list(line.clock_segments.all())
            line.clock_running = any(seg.ended_at is None and seg.technician_id == request.user.pk for seg in segments)
            line.clocked_minutes = int(
                sum(((seg.ended_at or now) - seg.started_at).total_seconds() for seg in segments) // 60
            )
            line.clock_started = bool(segments)
        job["can_clock"] = job["order"].status == S.IN_PROGRESS
        job["can_stop"] = job["order"].status in (S.IN_PROGRESS, S.WAITING_PARTS, S.QC)
    return render(request, "service/my_jobs.html", {"jobs": jobs, "badges": STATUS_BADGES})


CLOCK_ACTIONS = {
    "start": services.labour_clock_start,
    "pause": services.labour_clock_pause,
    "finish": services.labour_clock_finish,
}


@require_POST
def line_clock(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The technician's job clock on a labour line: start, pause, finish (the service checks it is their job)."""
    line = EstimateLine.objects.select_related("estimate__order").get_for_user_or_404(request.user, pk=pk)
    back = _next_or(request, reverse("service:my-jobs") + f"#job-{line.estimate.order_id}")
    if action not in CLOCK_ACTIONS:
        messages.error(request, _("Unknown action."))
        return redirect(back)
    try:
        CLOCK_ACTIONS[action](line=line, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, {"start": _("Clock started."), "pause": _("Clock paused."), "finish": _("Job finished.")}[action]
        )
    return redirect(back)


# --------------------------------------------------------------------------------------------- customer profile


def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The service section of the customer profile (loaded by htmx): visits, open deferred work, bookings."""
    customer = customer_selectors.customer_get_for_user(user=request.user, pk=pk)
    store_id = customer_selectors.acting_store_id(request.user, C.VIEW_SERVICE, customer)
    require(request.user, C.VIEW_SERVICE, store_id=store_id or customer.store_id)
    user, store_ids = request.user, customer_selectors.linked_store_ids(customer)
    # One file per customer in the group: every store's visits, each naming its store (一车一档).
    orders = selectors.customer_visits_in_group(customer=customer)
    upcoming = selectors.appointment_list(user=user, store_ids=store_ids, status=AppointmentStatus.BOOKED)
    return render(
        request,
        "service/partials/_customer_service.html",
        {
            "customer": customer,
            "orders": list(orders[:10]),
            "deferred": list(
                selectors.deferred_work_list(user=user, store_ids=store_ids).filter(vehicle__customer=customer)
            ),
            "upcoming": list(upcoming.filter(customer=customer, slot__start__gte=clock.now())),
            "can_book": customer_selectors.may_on_customer(user, C.BOOK, customer),
            "visible_store_ids": store_ids_where(user, C.VIEW_SERVICE),
        },
    )


# --------------------------------------------------------------------------------------------- deferred work


@capability_required(C.RECEIVE)
def deferred_list(request: HttpRequest) -> HttpResponse:
    """Open deferred work, soonest suggested date first, a page at a time; search, dates and advisor filter it."""
    store_ids = current_store_ids(request)
    query, start, end = search_param(request), date_param(request, "from"), date_param(request, "to")
    advisors = staff_options(store_ids=store_ids, roles=[Role.ADVISOR])
    advisor = choice_param(request, "advisor", [pk for pk, _name in advisors])
    items = selectors.deferred_work_list(
        user=request.user,
        store_ids=store_ids,
        query=query,
        start=start,
        end=end,
        advisor_id=int(advisor) if advisor else None,
    )
    filters = [
        Filter("q", _("Customer, mobile, plate or work"), "search", query),
        *date_range_filters(start, end),
        Filter("advisor", _("Advisor"), "select", advisor, advisors),
    ]
    page = page_of(request, items)
    return render(
        request,
        "service/deferred_list.html",
        {"items": page.object_list, "page": page, "filters": filters, "today": clock.today()},
    )


def _deferred(request: HttpRequest, pk: int) -> DeferredWork:
    item = DeferredWork.objects.select_related("source_line", "vehicle").get_for_user_or_404(request.user, pk=pk)
    require(request.user, C.RECEIVE, store_id=item.store_id)
    return item


@require_POST
def deferred_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    item = _deferred(request, pk)
    try:
        services.deferred_work_close(item=item, by=request.user, status=DeferredStatus.DISMISSED)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Dismissed: {item}.").format(item=item.description))
    return redirect(_next_or(request, reverse("service:deferred-list")))


@require_POST
def deferred_add_to_order(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Declined last time, wanted now: the same line goes on this order's draft and the item is done.
    Two services in one transaction, so the item is never closed without its line."""
    order = _order(request, pk)
    require(request.user, C.RECEIVE, store_id=order.store_id)
    item = _deferred(request, item_pk)
    if item.vehicle_id != order.vehicle_id:
        messages.error(request, _("This deferred work belongs to another vehicle."))
        return redirect(_order_url(order, "deferred"))
    source = item.source_line
    line: dict[str, Any] = {"kind": LineKind.FEE, "description": item.description, "amount": item.amount}
    if source is not None:
        line = {
            "kind": source.kind,
            "description": source.description,
            "operation_code": source.operation_code,
            "standard_hours": source.standard_hours,
            "hourly_rate": source.hourly_rate,
            "min_grade": source.min_grade,
            "part_number": source.part_number,
            "grade": source.grade,
            "unit_price": source.unit_price,
            "quantity": source.quantity,
            "amount": source.amount,
        }
    try:
        with transaction.atomic():
            services.estimate_line_add(order=order, by=request.user, **line)
            services.deferred_work_close(item=item, by=request.user, status=DeferredStatus.DONE, order=order)
    except ValidationError as exc:
        messages.error(request, _field_errors(exc))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Added to the draft estimate: {item}.").format(item=item.description))
    return redirect(_order_url(order, "estimate"))
