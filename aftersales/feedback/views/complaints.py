"""Pages of the feedback domain: complaints (投诉) — the list with the running SLA clocks, intake by staff,
and the complaint page with its clocks, timeline and the actions its state allows (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of
from aftersales.customers import selectors as customer_selectors
from aftersales.customers.models import Customer
from aftersales.feedback import selectors, services, transitions
from aftersales.feedback.choices import (
    COMPLAINT_BADGES,
    ComplaintCategory,
    ComplaintClock,
    ComplaintStatus,
    EscalationLevel,
    FeedbackChannel,
)
from aftersales.feedback.forms_complaints import (
    CloseForm,
    ComplaintForm,
    NoteForm,
    ReopenForm,
    ResolveForm,
    TransferForm,
)
from aftersales.feedback.models import Complaint, ComplaintEscalation
from aftersales.feedback.transitions import CAPA, COMPLAINT, COMPLAINT_HANDLER_ROLES, complaint_moves_for
from aftersales.feedback.views._common import customer_pick_page
from aftersales.organisation.access import can, require, staff_member
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Actor
from aftersales.service import selectors as service_selectors
from aftersales.service.forms import staff_choices
from aftersales.service.models import RepairOrder

C = Capability
S = ComplaintStatus
FILTERS: dict[str, Any] = {
    "open": gettext_lazy("Open"),
    "overdue": gettext_lazy("Overdue"),
    "mine": gettext_lazy("Mine"),
    "closed": gettext_lazy("Closed"),
    "all": gettext_lazy("All"),
}
CLOCK_LABELS = {
    ComplaintClock.ACKNOWLEDGE: gettext_lazy("Acknowledge"),
    ComplaintClock.CONTACT: gettext_lazy("Contact"),
    ComplaintClock.RESOLVE: gettext_lazy("Resolve"),
}
# Roles whose members may take a transferred complaint (the rulebook's; the service checks it again).
HANDLER_ROLES = COMPLAINT_HANDLER_ROLES
RECENT_ORDERS = 30
PRIORITY_BADGES = {"urgent": "danger", "important": "warning", "general": "secondary"}


# --------------------------------------------------------------------------------------------- helpers


def _detail_url(complaint: Complaint, anchor: str = "") -> str:
    return reverse("feedback:complaint-detail", args=[complaint.pk]) + (f"#{anchor}" if anchor else "")


def _capa_url(complaint: Complaint) -> str:
    return f"{reverse('feedback:capa-create')}?complaint={complaint.pk}"


def _next_clock(complaint: Complaint, clocks: list[selectors.ClockView]) -> selectors.ClockView | None:
    """The clock the owner races now: the first one not done, while the complaint is being worked on."""
    if complaint.status not in transitions.COMPLAINT_OPEN_STATES:
        return None
    return next((c for c in clocks if c.done_at is None), None)


def _escalation_level(complaint: Complaint) -> str:
    levels = {e.level for e in complaint.escalations.all()}  # prefetched on the list
    if EscalationLevel.GROUP in levels:
        return EscalationLevel.GROUP
    return EscalationLevel.STORE if levels else ""


def _handlers(complaint: Complaint) -> list[tuple[int, str]]:
    staff = staff_choices({complaint.store_id}, HANDLER_ROLES)[complaint.store_id]
    return [(pk, label) for pk, label in staff if pk != complaint.owner_id]


def _customer_orders(customer: Customer, store_id: int) -> list[RepairOrder]:
    """The customer's recent visits at the store that takes the complaint."""
    return list(
        RepairOrder.objects.filter(customer=customer, store_id=store_id).order_by("-arrived_at", "-id")[:RECENT_ORDERS]
    )


def _timeline(complaint: Complaint) -> list[dict[str, Any]]:
    """Events, transfers and escalations in the order they happened."""
    items: list[dict[str, Any]] = [
        {"kind": "event", "at": e.at, "item": e, "status_badge": COMPLAINT_BADGES.get(e.to_status, "secondary")}
        for e in complaint.event_list  # type: ignore[attr-defined]
    ]
    items += [{"kind": "transfer", "at": t.at, "item": t} for t in complaint.transfer_list]  # type: ignore[attr-defined]
    items += [{"kind": "escalation", "at": e.at, "item": e} for e in complaint.escalation_list]  # type: ignore[attr-defined]
    order = {"event": 0, "transfer": 1, "escalation": 2}
    return sorted(items, key=lambda i: (i["at"], order[i["kind"]], i["item"].pk))


def _action_forms(complaint: Complaint, offered: set[str], bound: dict[str, Form]) -> dict[str, Form]:
    """The forms of the moves the rulebook offers this user now, bound ones (with errors) kept as they were
    posted."""
    makers: dict[str, Callable[[], Form]] = {
        "acknowledge": lambda: NoteForm(auto_id="acknowledge-%s"),
        "contact": lambda: NoteForm(auto_id="contact-%s"),
        "resolve": lambda: ResolveForm(auto_id="resolve-%s"),
        "close": lambda: CloseForm(auto_id="close-%s"),
        "reopen": lambda: ReopenForm(auto_id="reopen-%s"),
        "transfer": lambda: TransferForm(staff=_handlers(complaint), auto_id="transfer-%s"),
    }
    return {name: bound[name] if name in bound else make() for name, make in makers.items() if name in offered}


def may_log(user: Actor) -> bool:
    """Whether the user may log a complaint in some store (the intake link); the store is checked on the form."""
    return can(user, *COMPLAINT.get("log").capabilities)


def _complaint_page(
    request: HttpRequest, complaint: Complaint, *, status: int = 200, bound: dict[str, Form] | None = None
) -> HttpResponse:
    selectors.complaint_detail(complaint)
    clocks = selectors.complaint_clocks(complaint, now=clock.now())
    offered = {m.name for m in complaint_moves_for(complaint=complaint, user=request.user)}
    may_open_capa = CAPA.may(CAPA.get("open"), actor=request.user, store_id=complaint.store_id)
    context = {
        "complaint": complaint,
        "badge": COMPLAINT_BADGES.get(complaint.status, "secondary"),
        "priority_badge": PRIORITY_BADGES.get(complaint.priority, "secondary"),
        "clocks": [
            {
                "view": c,
                "label": CLOCK_LABELS[c.clock],
                "escalated_to": EscalationLevel(c.escalated_to).label if c.escalated_to else "",
            }
            for c in clocks
        ],
        "next_clock": _next_clock(complaint, clocks),
        "timeline": _timeline(complaint),
        "can_handle": bool(offered),
        "forms": _action_forms(complaint, offered, bound or {}),
        "capa_url": _capa_url(complaint) if may_open_capa else "",
        "is_owner": complaint.owner_id == request.user.pk,
    }
    return render(request, "feedback/complaints/detail.html", context, status=status)


# --------------------------------------------------------------------------------------------- the list


def complaint_list(request: HttpRequest) -> HttpResponse:
    """Open complaints by default, each with its next running clock; htmx refreshes the rows every minute."""
    require(request.user, C.VIEW_FEEDBACK)
    show = request.GET.get("show", "open")
    show = show if show in FILTERS else "open"
    now = clock.now()
    complaints = selectors.complaint_list(
        user=request.user,
        store_ids=current_store_ids(request),
        capability=C.VIEW_FEEDBACK,
        status=S.CLOSED if show == "closed" else None,
        owner=request.user if show == "mine" else None,
        overdue_at=now if show == "overdue" else None,
    )
    if show in ("open", "mine"):
        # "Open" is everything not closed: a resolved complaint still waits for the customer's confirmation.
        complaints = complaints.exclude(status=S.CLOSED)
    category = choice_param(request, "category", ComplaintCategory.values)
    escalated = choice_param(request, "escalated", EscalationLevel.values)
    start, end = date_param(request, "from"), date_param(request, "to")
    if category:
        complaints = complaints.filter(category=category)
    if escalated:
        complaints = complaints.filter(
            Exists(ComplaintEscalation.objects.filter(complaint=OuterRef("pk"), level=escalated))
        )
    if start is not None:
        complaints = complaints.filter(received_at__date__gte=start)
    if end is not None:
        complaints = complaints.filter(received_at__date__lte=end)
    page = page_of(request, complaints.prefetch_related("escalations"))
    rows = []
    for complaint in page:
        running = _next_clock(complaint, selectors.complaint_clocks(complaint, now=now))
        level = _escalation_level(complaint)
        rows.append(
            {
                "complaint": complaint,
                "badge": COMPLAINT_BADGES.get(complaint.status, "secondary"),
                "priority_badge": PRIORITY_BADGES.get(complaint.priority, "secondary"),
                "next_clock": running,
                "next_label": CLOCK_LABELS[running.clock] if running else "",
                "escalated_to": EscalationLevel(level).label if level else "",
                "escalation_level": level,
            }
        )
    context = {
        "rows": rows,
        "page": page,
        "show": show,
        "filters": FILTERS,
        "list_filters": [
            Filter("category", _("Category"), "select", category, list(ComplaintCategory.choices)),
            Filter("escalated", _("Escalated to"), "select", escalated, list(EscalationLevel.choices)),
            *date_range_filters(start, end),
        ],
        "can_log": may_log(request.user),
    }
    return render(request, "feedback/complaints/list.html", context)


# --------------------------------------------------------------------------------------------- intake


def _prefill_order(request: HttpRequest) -> RepairOrder | None:
    raw = request.GET.get("order", "")
    return service_selectors.order_get_for_user(user=request.user, pk=int(raw)) if raw.isdigit() else None


def complaint_create(request: HttpRequest) -> HttpResponse:
    """Staff intake: pick the customer (search, or ?customer= / ?order= from another page), then the form.
    The person who logs it owns it (首问负责制)."""
    log = COMPLAINT.get("log")
    require(request.user, *log.capabilities)
    prefill_order = _prefill_order(request)
    raw = request.POST.get("customer") or request.GET.get("customer", "")
    if not raw.isdigit() and prefill_order is None:
        return customer_pick_page(request, "feedback/complaints/pick_customer.html", log.capabilities)
    if raw.isdigit():
        customer = customer_selectors.customer_get_for_user(user=request.user, pk=int(raw))
    else:
        customer = customer_selectors.customer_get_for_user(user=request.user, pk=prefill_order.customer_id)  # type: ignore[union-attr]
    store_id = customer_selectors.serving_store_id(
        customer, lambda pk: COMPLAINT.may(log, actor=request.user, store_id=pk)
    )
    COMPLAINT.authorise(log, actor=request.user, store_id=store_id)
    orders = _customer_orders(customer, store_id)
    channel = request.GET.get("channel", "")
    initial = {
        "channel": channel if channel in FeedbackChannel.values else FeedbackChannel.PHONE,
        "order": prefill_order.pk if prefill_order and prefill_order.customer_id == customer.pk else None,
        "received_at": timezone.localtime(clock.now()).replace(second=0, microsecond=0),
    }
    form = ComplaintForm(request.POST or None, orders=orders, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_log(
                store=Store.objects.get(pk=store_id),
                customer=customer,
                order=form.chosen_order(),
                channel=data["channel"],
                category=data["category"],
                priority=data["priority"],
                description=data["description"],
                received_at=data["received_at"],
                by=request.user,
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("Complaint #{number} logged; you own it until it is closed.").format(number=complaint.pk)
            )
            return redirect(_detail_url(complaint, "complaint-clocks"))
    return render(
        request,
        "feedback/complaints/form.html",
        {"form": form, "customer": customer, "now": clock.now()},
        status=400 if form.errors else 200,
    )


# --------------------------------------------------------------------------------------------- the complaint


def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = selectors.complaint_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_FEEDBACK, store_id=complaint.store_id)
    return _complaint_page(request, complaint)


def _act(
    request: HttpRequest,
    pk: int,
    action: str,
    make_form: Callable[[Complaint], Form],
    call: Callable[[Complaint, dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    """One POST action: store-scoped lookup, the rulebook (the move `action` in the complaint's store), the form,
    the service.  Field errors re-render the page with the bound form (400); a move the state does not allow
    comes back as a message."""
    complaint = selectors.complaint_get_for_user(user=request.user, pk=pk)
    COMPLAINT.authorise(COMPLAINT.get(action), actor=request.user, store_id=complaint.store_id)
    form = make_form(complaint)
    if form.is_valid():
        try:
            call(complaint, form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)  # type: ignore[attr-defined]
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(complaint))
        else:
            messages.success(request, done)
            return redirect(_detail_url(complaint))
    return _complaint_page(request, complaint, status=400, bound={action: form})


@require_POST
def complaint_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "acknowledge",
        lambda c: NoteForm(request.POST, auto_id="acknowledge-%s"),
        lambda c, d: services.complaint_acknowledge(complaint=c, by=request.user, note=d["note"]),
        _("Acknowledged: tell the customer who handles it and when they will hear from you."),
    )


@require_POST
def complaint_contact(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "contact",
        lambda c: NoteForm(request.POST, auto_id="contact-%s"),
        lambda c, d: services.complaint_contact(complaint=c, by=request.user, note=d["note"]),
        _("Contact with the customer recorded."),
    )


@require_POST
def complaint_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "resolve",
        lambda c: ResolveForm(request.POST, auto_id="resolve-%s"),
        lambda c, d: services.complaint_resolve(complaint=c, by=request.user, resolution=d["resolution"]),
        _("Resolution recorded. Close the complaint once the customer confirms it."),
    )


@require_POST
def complaint_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "close",
        lambda c: CloseForm(request.POST, auto_id="close-%s"),
        lambda c, d: services.complaint_close(
            complaint=c,
            by=request.user,
            customer_confirmed=d["customer_confirmed"],
            satisfaction=d["satisfaction"],
            note=d["note"],
        ),
        _("Complaint closed."),
    )


@require_POST
def complaint_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "reopen",
        lambda c: ReopenForm(request.POST, auto_id="reopen-%s"),
        lambda c, d: services.complaint_reopen(complaint=c, by=request.user, reason=d["reason"]),
        _("Complaint reopened; the resolve clock runs on."),
    )


def _transfer(complaint: Complaint, data: dict[str, Any], by: Actor) -> Any:
    to = staff_member(int(data["to"]), store_id=complaint.store_id, field="to", roles=HANDLER_ROLES)
    return services.complaint_transfer(complaint=complaint, by=by, to=to, reason=data["reason"])


@require_POST
def complaint_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "transfer",
        lambda c: TransferForm(request.POST, staff=_handlers(c), auto_id="transfer-%s"),
        lambda c, d: _transfer(c, d, request.user),
        _("Complaint handed over; the new owner answers for it now."),
    )


urlpatterns: list[URLPattern] = [
    path("feedback/complaints/", complaint_list, name="complaint-list"),
    path("feedback/complaints/new/", complaint_create, name="complaint-create"),
    path("feedback/complaints/<int:pk>/", complaint_detail, name="complaint-detail"),
    path("feedback/complaints/<int:pk>/acknowledge/", complaint_acknowledge, name="complaint-acknowledge"),
    path("feedback/complaints/<int:pk>/contact/", complaint_contact, name="complaint-contact"),
    path("feedback/complaints/<int:pk>/resolve/", complaint_resolve, name="complaint-resolve"),
    path("feedback/complaints/<int:pk>/close/", complaint_close, name="complaint-close"),
    path("feedback/complaints/<int:pk>/reopen/", complaint_reopen, name="complaint-reopen"),
    path("feedback/complaints/<int:pk>/transfer/", complaint_transfer, name="complaint-transfer"),
]
