"""The rights-request pages: the list with the clocks, intake at the desk, the request's page (its clock, the
identity check, owner, the moves the rulebook offers) and the customer's own page behind their link."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.calendar import format_countdown, remaining
from aftersales.core.exceptions import ApplicationError
from aftersales.core.language import customer_page
from aftersales.core.pagination import choice_param, page_of
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Party
from aftersales.privacy import links, selectors, services
from aftersales.privacy.choices import (
    OPEN_STATUSES,
    IdentityMethod,
    RequestChannel,
    RequestKind,
    RequestScope,
    RequestStatus,
)
from aftersales.privacy.models import RightsRequest
from aftersales.privacy.transitions import RIGHTS_REQUEST, rights_request_moves_for

C = Capability
STAFF_CHANNELS = [(RequestChannel.DESK.value, RequestChannel.DESK.label)]


def _user(request: HttpRequest) -> Any:
    """The signed-in member of staff (the log-in middleware lets nobody else reach these pages)."""
    return request.user


def _url_or_empty(name: str, *args: Any) -> str:
    """The export helper's download pages, when they exist (privacy/urls_export.py)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _parse_received(value: str) -> Any:
    """The form's "received at" (datetime-local, China time); empty means now.  A bad value goes to the service,
    which names the field."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return timezone.make_aware(dt.datetime.fromisoformat(value))
    except ValueError:
        return value


# --------------------------------------------------------------------------------------------- the list


def request_list(request: HttpRequest) -> HttpResponse:
    """Open requests first, soonest due first, each with its countdown; filters by status and kind."""
    require(request.user, C.LOG_RIGHTS_REQUESTS)
    customer_param = request.GET.get("customer", "")
    customer = Customer.objects.filter(pk=int(customer_param)).first() if customer_param.isdigit() else None
    if customer is not None and not customer_selectors.may_on_customer(request.user, C.LOG_RIGHTS_REQUESTS, customer):
        customer = None  # another store's customer: named nowhere, like an unknown id
    # One customer's requests (from their file): every status, and the desk form for them one tap away.
    status = choice_param(request, "status", ["open", "all", *RequestStatus.values]) or ("all" if customer else "open")
    kind = choice_param(request, "kind", RequestKind.values)
    rows = selectors.rights_request_list(
        user=request.user,
        store_ids=current_store_ids(request),
        status=None if status == "all" else status,
        kind=kind or None,
        customer_id=customer.pk if customer else None,
    )
    page = page_of(request, rows)
    now = clock.now()
    items = []
    for r in page.object_list:
        left = remaining(r.due_at, now)
        running = r.status in OPEN_STATUSES
        items.append(
            {
                "r": r,
                "badge": selectors.STATUS_BADGES.get(r.status, "secondary"),
                "status_label": selectors.status_label(r.status),
                "countdown": format_countdown(left) if running else "",
                "overdue": running and left.total_seconds() < 0,
                "nearly": running and services.store_escalation_at(r) <= now,
            }
        )
    statuses = [("open", _("Open")), ("all", _("All")), *selectors.STATUS_LABELS.items()]
    return render(
        request,
        "privacy/requests_list.html",
        {
            "items": items,
            "page": page,
            "status": status,
            "kind": kind,
            "statuses": statuses,
            "kinds": RequestKind.choices,
            "customer": customer,
        },
    )


# --------------------------------------------------------------------------------------------- intake


def request_new(request: HttpRequest) -> HttpResponse:
    """The desk form for one customer (`?customer=<id>`); without one, a search for the customer first."""
    require(request.user, C.LOG_RIGHTS_REQUESTS)
    customer_id = request.GET.get("customer", "")
    customer = None
    if customer_id.isdigit():
        customer = Customer.objects.filter(pk=int(customer_id)).first()
    store_id = customer_selectors.acting_store_id(request.user, C.LOG_RIGHTS_REQUESTS, customer) if customer else None
    if customer is None or store_id is None:
        query = request.GET.get("q", "").strip()[:60]
        found = (
            list(
                customer_selectors.customer_list(user=request.user, store_ids=current_store_ids(request), query=query)[
                    :10
                ]
            )
            if query
            else []
        )
        return render(request, "privacy/requests_pick.html", {"query": query, "found": found})
    store = Store.objects.get(pk=store_id)
    values: dict[str, str] = {"kind": "", "scope": RequestScope.ALL, "details": "", "received_at": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            created = services.rights_request_log(
                store=store,
                customer=customer,
                kind=values["kind"],
                scope=values["scope"],
                channel=RequestChannel.DESK,
                details=values["details"],
                received_at=_parse_received(values["received_at"]),
                by=_user(request),
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("Request %(number)s logged.") % {"number": created.number})
            return redirect("privacy:request-detail", created.pk)
    return render(
        request,
        "privacy/requests_new.html",
        {
            "customer": customer,
            "store": store,
            "values": values,
            "errors": errors,
            "kinds": RequestKind.choices,
            "scopes": RequestScope.choices,
        },
        status=400 if errors else 200,
    )


# --------------------------------------------------------------------------------------------- one request


ACTIONS = ("verify_identity", "assign", "answer", "refuse", "withdraw")


def _do(request: HttpRequest, r: RightsRequest, action: str) -> RightsRequest:
    post = request.POST
    user: Any = request.user
    if action == "verify_identity":
        return services.rights_request_verify_identity(
            request=r, method=post.get("method", ""), note=post.get("note", ""), by=user
        )
    if action == "assign":
        owner_id = post.get("owner", "")
        owner = get_user_model().objects.filter(pk=int(owner_id)).first() if owner_id.isdigit() else None
        return services.rights_request_assign(request=r, owner=owner, by=user)
    if action == "answer":
        return services.rights_request_answer(request=r, answer=post.get("answer", ""), by=user)
    if action == "refuse":
        return services.rights_request_refuse(request=r, reason=post.get("reason", ""), by=user)
    return services.rights_request_withdraw(request=r, note=post.get("note", ""), by=user)


def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The request with its clock, and the forms of the moves the rulebook offers the user now (POST `action`)."""
    r = selectors.rights_request_get_for_user(user=request.user, pk=pk)
    errors: dict[str, list[str]] = {}
    posted = ""
    refusals: list[str] = []
    status = 200
    if request.method == "POST":
        posted = request.POST.get("action", "")
        if posted not in ACTIONS:
            raise Http404
        try:
            _do(request, r, posted)
        except ValidationError as exc:
            errors, status = _errors(exc), 400
        except services.ErasureRefused as exc:
            refusals, status = list(exc.extra.get("reasons", [])), 409
        except ApplicationError as exc:
            errors, status = {"__all__": [exc.message]}, 409
        else:
            return redirect("privacy:request-detail", r.pk)
        r = selectors.rights_request_get_for_user(user=request.user, pk=pk)
    moves = {m.name for m in rights_request_moves_for(obj=r, user=_user(request))}
    handlers = (
        [(uid, label) for uid, label in selectors.handlers_for(r.store) if uid != r.owner_id]
        if "assign" in moves
        else []
    )
    return render(
        request,
        "privacy/requests_detail.html",
        {
            "r": r,
            "badge": selectors.STATUS_BADGES.get(r.status, "secondary"),
            "status_label": selectors.status_label(r.status),
            "clock": selectors.request_clock(r, now=clock.now()),
            "moves": moves,
            "move_labels": {m.name: m.label for m in RIGHTS_REQUEST.moves},
            "methods": [(v, label) for v, label in IdentityMethod.choices if v != IdentityMethod.SIGNED_LINK],
            "handlers": handlers,
            "errors": errors,
            "page_errors": errors.get("__all__", []),
            "posted": posted,
            "values": request.POST if request.method == "POST" else {},
            "refusals": refusals,
            "export_json": _url_or_empty("privacy:export-json", r.pk),
            "export_pdf": _url_or_empty("privacy:export-pdf", r.pk),
            "is_erase": r.kind == RequestKind.ERASE,
            "is_export": r.kind in (RequestKind.COPY, RequestKind.ACCESS),
            "is_correct": r.kind == RequestKind.CORRECT,
        },
        status=status,
    )


# --------------------------------------------------------------------------------------------- the customer


@login_not_required
@customer_page
def customer_request(request: HttpRequest, link: str, token: str) -> HttpResponse:
    """The customer files a request about their personal data; their earlier requests show with their due date."""
    try:
        order = links.order_from_link(link, token)
    except ApplicationError as exc:
        return render(request, "privacy/requests_customer_error.html", {"message": exc.message}, status=403)
    values: dict[str, str] = {"kind": "", "scope": RequestScope.ALL, "details": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            services.rights_request_log(
                store=order.store,
                customer=order.customer,
                kind=values["kind"],
                scope=values["scope"],
                channel=RequestChannel.LINK,
                details=values["details"],
                by=Party.CUSTOMER,
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect(f"{request.path}?done=1")
    earlier = list(
        RightsRequest.objects.filter(customer=order.customer, store=order.store).order_by("-received_at", "-id")[:10]
    )
    back = reverse("service:customer-order" if link == links.ORDER_LINK else "feedback:customer-survey", args=[token])
    return render(
        request,
        "privacy/requests_customer.html",
        {
            "store": order.store,
            "values": values,
            "errors": errors,
            "kinds": RequestKind.choices,
            "scopes": RequestScope.choices,
            "earlier": [(r, selectors.status_label(r.status)) for r in earlier],
            "done": request.GET.get("done") == "1",
            "back": back,
        },
        status=400 if errors else 200,
    )
