"""Staff pages of the service process: the advisor's workbench, walk-ins, bookings, the repair order page,
the workshop board, the technician's jobs and deferred work.

Each view resolves the scoped object (404 for another store's), checks the capability in that store (403),
validates a form, calls one service and redirects.  A service's field errors are shown next to the field
(the page is re-rendered with status 400, nothing written); its domain errors as a message at the top.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.customers import selectors as customer_selectors
from aftersales.organisation.choices import Role
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import Bay, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.selectors import setting_values_for_store, store_get_for_user
from aftersales.service import selectors, services, transitions
from aftersales.service.choices import (
    DAMAGE_KINDS,
    DAMAGE_ZONES,
    STATUS_BADGES,
    AppointmentStatus,
    AttachmentPurpose,
    DeferredStatus,
    EstimateStatus,
    LineDecision,
    LineKind,
    RepairOrderStatus,
)
from aftersales.service.forms import (
    AppointmentCancelForm,
    AttachmentForm,
    DeliveryForm,
    DispatchForm,
    DriverForm,
    EstimateLineForm,
    InspectionForm,
    LineDecisionForm,
    PartTraceForm,
    QualityCheckForm,
    RescheduleForm,
    StaffBookingForm,
    TransitionForm,
    WalkInForm,
    staff_choices,
)
from aftersales.service.models import Attachment, DeferredWork, Estimate, EstimateLine, RepairOrder
from aftersales.service.services.links import order_link_token
from aftersales.service.services.orders import clock_state

S = RepairOrderStatus
C = Capability
# Targets that need a reason typed by the person moving the order.
REASON_TARGETS = frozenset({S.WAITING_PARTS, S.CANCELLED})
# Who may move an order to a target: advisors release to the workshop and cancel at reception; the
# workshop (dispatch, or the technician on their own job) moves the car through the bay states.
TARGET_CAPABILITIES: dict[str, tuple[Capability, ...]] = {
    S.WAITING: (C.RECEIVE, C.DISPATCH),
    S.CANCELLED: (C.RECEIVE, C.DISPATCH),
    S.READY: (C.WORK, C.DISPATCH, C.RECEIVE),
}
WORKSHOP_CAPABILITIES = (C.WORK, C.DISPATCH)
BUTTON_LABELS = {
    S.WAITING: gettext_lazy("Release to the workshop"),
    S.IN_BAY: gettext_lazy("Car is in the bay"),
    S.IN_PROGRESS: gettext_lazy("Start work"),
    S.WAITING_PARTS: gettext_lazy("Waiting for parts"),
    S.QC: gettext_lazy("Work done: to quality check"),
    S.READY: gettext_lazy("Ready for pick-up"),
    S.CANCELLED: gettext_lazy("Cancel the order"),
}


# --------------------------------------------------------------------------------------------- helpers


def _can_any(user: Any, capabilities: tuple[Capability, ...], store_id: int | None = None) -> bool:
    return any(user_can(user, capability, store_id) for capability in capabilities)


def _require(request: HttpRequest, *capabilities: Capability, store_id: int | None = None) -> None:
    if not _can_any(request.user, capabilities, store_id):
        raise PermissionDenied(_("Your role may not do this."))


def _stores_for(request: HttpRequest, capability: Capability) -> list[Store]:
    """The stores the user may act in: the chosen store, or each of their stores where the role allows it."""
    chosen = current_store(request)
    stores = [chosen] if chosen else list(Store.objects.for_user(request.user).filter(is_active=True).order_by("code"))
    return [s for s in stores if user_can(request.user, capability, s.pk)]


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _order_url(order: RepairOrder, anchor: str = "") -> str:
    return reverse("service:order-detail", args=[order.pk]) + (f"#{anchor}" if anchor else "")


def _field_errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _day(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


# --------------------------------------------------------------------------------------------- workbench


def workbench(request: HttpRequest) -> HttpResponse:
    """The advisor's day: bookings, the reception queue with its clocks, open orders, approvals, hand-overs."""
    _require(request, C.RECEIVE, C.BOOK)
    bench = selectors.workbench(user=request.user, store_ids=current_store_ids(request))
    context = {"bench": bench, "badges": STATUS_BADGES, "now": clock.now()}
    if request.htmx:
        return render(request, "service/partials/_queue.html", context)
    return render(request, "service/workbench.html", context)


def walk_in(request: HttpRequest) -> HttpResponse:
    """Fast registration of a walk-in: plate or phone first, then straight to the order page."""
    stores = _stores_for(request, C.RECEIVE)
    if not stores:
        raise PermissionDenied(_("Your role may not receive cars in this store."))
    form = WalkInForm(request.POST or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "store"}
        try:
            order = services.walk_in_register(store=form.chosen_store(), by=request.user, **data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Walk-in registered as {number}.").format(number=order.number))
            return redirect("service:order-detail", pk=order.pk)
    return render(request, "service/walk_in.html", {"form": form}, status=400 if form.errors else 200)


# --------------------------------------------------------------------------------------------- appointments


def appointment_list(request: HttpRequest) -> HttpResponse:
    _require(request, C.VIEW_SERVICE)
    day = _day(request.GET.get("day"), clock.today())
    store_ids = current_store_ids(request)
    appointments = list(selectors.appointment_list(user=request.user, store_ids=store_ids, day=day))
    pickup_stores = {a.store_id for a in appointments if a.pickup}
    staff = staff_choices(pickup_stores) if pickup_stores else {}
    rows = [
        {
            "appointment": a,
            "can_book": user_can(request.user, C.BOOK, a.store_id),
            "can_receive": user_can(request.user, C.RECEIVE, a.store_id),
            "driver_form": DriverForm(
                store=a.store, staff=staff.get(a.store_id, []), initial={"driver": a.driver_id}, auto_id=False
            )
            if a.pickup and a.status == AppointmentStatus.BOOKED
            else None,
        }
        for a in appointments
    ]
    return render(
        request,
        "service/appointment_list.html",
        {
            "rows": rows,
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "can_book": _can_any(request.user, (C.BOOK,)),
        },
    )


def appointment_create(request: HttpRequest) -> HttpResponse:
    """A booking by phone, WeChat or at the desk for a known customer (`?customer=<id>`)."""
    _require(request, C.BOOK)
    raw = request.GET.get("customer", "")
    if not raw.isdigit():
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
        return render(request, "service/appointment_pick_customer.html", {"query": query, "found": found})
    customer = customer_selectors.customer_get_for_user(user=request.user, pk=int(raw))
    _require(request, C.BOOK, store_id=customer.store_id)
    vehicles = list(customer.vehicles.order_by("id"))
    advisors = staff_choices({customer.store_id}, [Role.ADVISOR])[customer.store_id]
    default_day = clock.today() + dt.timedelta(days=1)
    form = StaffBookingForm(
        request.POST or None,
        customer=customer,
        vehicles=vehicles,
        advisors=advisors,
        initial={"day": default_day, "channel": "phone"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book(by=request.user, **form.booking_kwargs())
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error("start", exc.message)
        else:
            messages.success(
                request,
                _("Booked for {when}; the customer gets a confirmation message.").format(
                    when=timezone.localtime(appointment.slot.start).strftime("%Y-%m-%d %H:%M")
                ),
            )
            day = timezone.localtime(appointment.slot.start).date()
            return redirect(f"{reverse('service:appointment-list')}?day={day.isoformat()}")
    day = _day(request.POST.get("day") or request.GET.get("day"), default_day)
    return render(
        request,
        "service/appointment_form.html",
        {
            "form": form,
            "customer": customer,
            "day": day,
            "slots": selectors.slot_list(store=customer.store, day=day),
            "selected": request.POST.get("start", ""),
            "now": clock.now(),
        },
        status=400 if form.errors else 200,
    )


def appointment_slots(request: HttpRequest) -> HttpResponse:
    """The staff slot picker (htmx): the same partial as the customer's booking page."""
    _require(request, C.BOOK)
    raw = request.GET.get("store", "")
    if raw.isdigit():
        store = store_get_for_user(user=request.user, pk=int(raw))
    else:
        stores = _stores_for(request, C.BOOK)
        if not stores:
            raise PermissionDenied(_("Your role may not book in this store."))
        store = stores[0]
    day = _day(request.GET.get("day"), clock.today())
    return render(
        request,
        "service/customer/partials/_slots.html",
        {
            "slots": selectors.slot_list(store=store, day=day),
            "day": day,
            "selected": request.GET.get("start", ""),
            "now": clock.now(),
        },
    )


def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    _require(request, C.BOOK, store_id=appointment.store_id)
    form = RescheduleForm(
        request.POST or None,
        store=appointment.store,
        initial={"day": _day(request.GET.get("day"), timezone.localtime(appointment.slot.start).date())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_reschedule(appointment=appointment, start=form.cleaned_data["start"], by=request.user)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error("start", exc.message)
        else:
            messages.success(request, _("Appointment moved; the customer gets a message."))
            day = form.cleaned_data["start"].astimezone(timezone.get_current_timezone()).date()
            return redirect(f"{reverse('service:appointment-list')}?day={day.isoformat()}")
    day = form.chosen_day()
    return render(
        request,
        "service/appointment_reschedule.html",
        {
            "appointment": appointment,
            "form": form,
            "day": day,
            "slots": selectors.slot_list(store=appointment.store, day=day),
            "selected": request.POST.get("start", ""),
            "now": clock.now(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    _require(request, C.BOOK, store_id=appointment.store_id)
    form = AppointmentCancelForm(request.POST)
    back = f"{reverse('service:appointment-list')}?day={timezone.localtime(appointment.slot.start).date()}"
    if form.is_valid():
        try:
            services.appointment_cancel(appointment=appointment, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, _field_errors(exc))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Appointment cancelled; the customer gets a message."))
    else:
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
    return redirect(back)


@require_POST
def appointment_driver(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    _require(request, C.BOOK, C.RECEIVE, store_id=appointment.store_id)
    form = DriverForm(
        request.POST, store=appointment.store, staff=staff_choices({appointment.store_id})[appointment.store_id]
    )
    back = f"{reverse('service:appointment-list')}?day={timezone.localtime(appointment.slot.start).date()}"
    if form.is_valid():
        try:
            services.appointment_assign_driver(
                appointment=appointment, driver=form.cleaned_data["driver"], by=request.user
            )
        except ValidationError as exc:
            messages.error(request, _field_errors(exc))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Driver assigned."))
    else:
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
    return redirect(back)


@require_POST
def appointment_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    _require(request, C.RECEIVE, store_id=appointment.store_id)
    try:
        order = services.appointment_check_in(appointment=appointment, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_next_or(request, reverse("service:workbench")))
    messages.success(
        request, _("Checked in as {number}. Start the walk-around inspection.").format(number=order.number)
    )
    return redirect("service:order-detail", pk=order.pk)


# --------------------------------------------------------------------------------------------- the order page


def _order(request: HttpRequest, pk: int) -> RepairOrder:
    order = selectors.order_get_for_user(user=request.user, pk=pk)
    _require(request, C.VIEW_SERVICE, store_id=order.store_id)
    return order


def _line(request: HttpRequest, pk: int) -> EstimateLine:
    return EstimateLine.objects.select_related(
        "estimate__order__store", "estimate__order__vehicle"
    ).get_for_user_or_404(request.user, pk=pk)


def _order_context(request: HttpRequest, order: RepairOrder, bound: dict[str, Any]) -> dict[str, Any]:
    """Everything the order page shows, in a fixed number of queries whatever the number of lines."""
    user, store_id = request.user, order.store_id
    can = {
        "receive": user_can(user, C.RECEIVE, store_id),
        "dispatch": user_can(user, C.DISPATCH, store_id),
        "qc": user_can(user, C.QUALITY_CHECK, store_id),
        "work": user_can(user, C.WORK, store_id)
        and (order.technician_id == user.pk or user_can(user, C.DISPATCH, store_id)),
        "book": user_can(user, C.BOOK, store_id),
    }
    can["upload"] = order.status in transitions.OPEN_STATES and (can["receive"] or can["work"])
    page = selectors.order_page(order, include_drafts=True)
    draft = next((view for view in page.estimates if view.estimate.status == EstimateStatus.DRAFT), None)
    sent = [view for view in page.estimates if view.estimate.status != EstimateStatus.DRAFT]
    draft_parts = [lv.line for lv in draft.lines if lv.line.kind == LineKind.PART] if draft else []
    all_lines = [lv.line for view in page.estimates for lv in view.lines]
    editable = order.status in transitions.ESTIMATE_EDITABLE
    now = clock.now()
    values = setting_values_for_store(order.store)
    clocks = clock_state(order, now, values)
    line_forms = {
        kind: EstimateLineForm(initial={"kind": kind}, alternatives=draft_parts, prefix=kind)
        for kind in LineKind.values
    }
    if "line_form" in bound:
        form = bound["line_form"]
        if not form.data.get(f"{form.prefix}-alternative_to"):
            line_forms[form.data.get(f"{form.prefix}-kind")] = form
    alternatives = []
    other_grade = {"oem": "brand", "brand": "oem", "other": "oem"}
    for line in draft_parts:
        form = bound.get("line_form")
        if form is None or form.data.get(f"{form.prefix}-alternative_to") != str(line.pk):
            form = EstimateLineForm(
                initial={
                    "kind": LineKind.PART,
                    "alternative_to": line.pk,
                    "description": line.description,
                    "quantity": line.quantity,
                    "grade": other_grade.get(line.grade, ""),
                },
                alternatives=draft_parts,
                prefix=LineKind.PART,
            )
        alternatives.append({"line": line, "form": form})
    technicians: list[tuple] = []
    bays: list[Bay] = []
    if can["dispatch"] and order.status in transitions.OPEN_STATES:
        technicians = staff_choices({store_id}, [Role.TECHNICIAN, Role.FOREMAN])[store_id]
        bays = list(Bay.objects.for_stores([store_id]).filter(is_active=True).order_by("code"))
    # Forward along the process first, going back next, cancelling last.
    forward = list(S.values)
    next_states = sorted(
        transitions.REPAIR_ORDER_FLOW[order.status] - {S.DELIVERED},
        key=lambda t: (
            t == S.CANCELLED,
            t in REASON_TARGETS,
            forward.index(t) < forward.index(order.status),
            forward.index(t),
        ),
    )
    if order.status == S.QC:
        next_states = []  # the QC form moves the car on (or back), and counts a failure
    transition_forms = []
    for target in next_states:
        capabilities = TARGET_CAPABILITIES.get(target, WORKSHOP_CAPABILITIES)
        if not _can_any(user, capabilities, store_id):
            continue
        if C.WORK in capabilities and not _can_any(user, tuple(c for c in capabilities if c != C.WORK), store_id):
            if order.technician_id != user.pk:
                continue
        form = bound.get("transition_form")
        if form is None or form.data.get("to") != target:
            form = TransitionForm(initial={"to": target})
        transition_forms.append(
            {
                "target": target,
                "label": BUTTON_LABELS.get(target, S(target).label),
                "needs_reason": target in REASON_TARGETS,
                "form": form,
            }
        )
    trace_lines = [line for line in page.parts]
    trace_forms = []
    for line in trace_lines:
        form = bound.get("trace_form") if bound.get("trace_line") == line.pk else None
        trace_forms.append(
            {
                "line": line,
                "form": form
                or PartTraceForm(
                    initial={
                        "batch_number": line.batch_number,
                        "origin": line.origin,
                        "production_date": line.production_date,
                        "warranty_months": line.warranty_months,
                    }
                ),
            }
        )
    inspection_form = bound.get("inspection_form") or InspectionForm(initial=InspectionForm.initial_for(order))
    marked = {mark.get("zone"): mark.get("kind") for mark in order.damage_marks or []}
    zone_labels, kind_labels = dict(DAMAGE_ZONES), dict(DAMAGE_KINDS)
    deferred = list(
        selectors.deferred_work_list(user=user, store_ids=frozenset({store_id}), vehicle_id=order.vehicle_id)
    )
    return {
        "order": order,
        "page": page,
        "can": can,
        "badges": STATUS_BADGES,
        "clocks": clocks,
        "now": now,
        "customer_link": request.build_absolute_uri(reverse("service:customer-order", args=[order_link_token(order)])),
        "draft": draft,
        "sent": sent,
        "editable": editable,
        "line_forms": line_forms,
        "alternatives": alternatives,
        "attachment_form": bound.get("attachment_form")
        or AttachmentForm(initial={"purpose": AttachmentPurpose.INSPECTION}, lines=all_lines),
        "evidence_lines": all_lines,
        "inspection_form": inspection_form,
        "damage_marks": [
            {"zone": zone, "label": zone_labels.get(zone, zone), "kind": kind_labels.get(kind, kind)}
            for zone, kind in marked.items()
        ],
        "marked_zones": marked,
        "dispatch_form": bound.get("dispatch_form")
        or DispatchForm(
            store=order.store,
            technicians=technicians,
            bays=bays,
            initial={"technician": order.technician_id, "bay": order.bay_id},
        ),
        "transition_forms": transition_forms,
        "qc_form": bound.get("qc_form") or QualityCheckForm(),
        "quality_checks": list(order.quality_checks.select_related("by__staff_profile").order_by("at", "id")),
        "trace_forms": trace_forms,
        "delivery_form": bound.get("delivery_form") or DeliveryForm(),
        "decision_form": LineDecisionForm(),
        "deferred": [
            item for item in deferred if item.source_line is None or item.source_line.estimate.order_id != order.pk
        ],
        "S": S,
        "LineDecision": LineDecision,
        "LineKind": LineKind,
    }


def _order_page(request: HttpRequest, order: RepairOrder, status: int = 200, **bound: Any) -> HttpResponse:
    return render(request, "service/order_detail.html", _order_context(request, order, bound), status=status)


def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    return _order_page(request, order)


@require_POST
def order_inspection(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require(request, C.RECEIVE, store_id=order.store_id)
    form = InspectionForm(request.POST)
    if form.is_valid():
        try:
            services.inspection_record(
                order=order,
                by=request.user,
                mileage_in=form.cleaned_data["mileage_in"],
                fuel_level=form.cleaned_data["fuel_level"],
                damage_marks=form.marks(),
                valuables_reminded=form.cleaned_data["valuables_reminded"],
                customer_words=form.cleaned_data["customer_words"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "inspection"))
        else:
            messages.success(request, _("Inspection saved; the customer can see it on their link."))
            return redirect(_order_url(order, "inspection"))
    return _order_page(request, order, status=400, inspection_form=form)


@require_POST
def order_attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require(request, C.RECEIVE, C.WORK, store_id=order.store_id)
    lines = list(EstimateLine.objects.filter(estimate__order=order).select_related("estimate"))
    form = AttachmentForm(request.POST, request.FILES, lines=lines)
    back = _next_or(request, "")
    if form.is_valid():
        line = form.lines.get(form.cleaned_data["line"])
        try:
            services.attachment_add(
                order=order,
                by=request.user,
                upload=form.cleaned_data["file"],
                purpose=AttachmentPurpose.EVIDENCE if line else AttachmentPurpose.INSPECTION,
                line=line,
                caption=form.cleaned_data["caption"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(back or _order_url(order, "photos"))
        else:
            messages.success(request, _("Uploaded."))
            return redirect(back or _order_url(order, "photos"))
    if back:  # from the technician's phone list: show the problem there
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
        return redirect(back)
    return _order_page(request, order, status=400, attachment_form=form)


@require_POST
def estimate_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require(request, C.RECEIVE, store_id=order.store_id)
    kind = request.POST.get("kind_prefix", "")
    prefix = kind if kind in LineKind.values else LineKind.LABOUR
    drafts = list(
        EstimateLine.objects.filter(
            estimate__order=order, estimate__status=EstimateStatus.DRAFT, kind=LineKind.PART
        ).select_related("estimate")
    )
    form = EstimateLineForm(request.POST, alternatives=drafts, prefix=prefix)
    if form.is_valid():
        try:
            services.estimate_line_add(order=order, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "estimate"))
        else:
            messages.success(request, _("Line added to the draft estimate."))
            return redirect(_order_url(order, "estimate"))
    return _order_page(request, order, status=400, line_form=form)


@require_POST
def estimate_line_remove(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(request, pk)
    order = line.estimate.order
    _require(request, C.RECEIVE, store_id=order.store_id)
    try:
        services.estimate_line_remove(line=line, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Line removed."))
    return redirect(_order_url(order, "estimate"))


@require_POST
def estimate_send(request: HttpRequest, pk: int) -> HttpResponse:
    estimate = Estimate.objects.select_related("order__store", "order__customer").get_for_user_or_404(
        request.user, pk=pk
    )
    _require(request, C.RECEIVE, store_id=estimate.order.store_id)
    try:
        services.estimate_send(estimate=estimate, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Estimate sent: the customer decides each line from their link."))
    return redirect(_order_url(estimate.order, "estimate"))


@require_POST
def estimate_line_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """A decision the customer gave at the desk (signature) or on the phone, noted by the advisor."""
    line = _line(request, pk)
    order = line.estimate.order
    _require(request, C.RECEIVE, store_id=order.store_id)
    form = LineDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.estimate_line_decide(line=line, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, _field_errors(exc))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Decision noted."))
    else:
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
    return redirect(_order_url(order, f"line-{line.pk}"))


@require_POST
def part_trace(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(request, pk)
    order = selectors.order_get_for_user(user=request.user, pk=line.estimate.order_id)
    _require(request, C.WORK, C.RECEIVE, store_id=order.store_id)
    form = PartTraceForm(request.POST)
    if form.is_valid():
        try:
            services.part_trace_record(line=line, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "parts"))
        else:
            messages.success(request, _("Part traceability saved."))
            return redirect(_order_url(order, "parts"))
    return _order_page(request, order, status=400, trace_form=form, trace_line=line.pk)


@require_POST
def order_assign(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require(request, C.DISPATCH, store_id=order.store_id)
    technicians = staff_choices({order.store_id}, [Role.TECHNICIAN, Role.FOREMAN])[order.store_id]
    bays = list(Bay.objects.for_stores([order.store_id]).filter(is_active=True).order_by("code"))
    form = DispatchForm(request.POST, store=order.store, technicians=technicians, bays=bays)
    if form.is_valid():
        try:
            services.repair_order_assign(order=order, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "dispatch"))
        else:
            messages.success(request, _("Dispatched."))
            return redirect(_next_or(request, _order_url(order, "dispatch")))
    return _order_page(request, order, status=400, dispatch_form=form)


@require_POST
def order_transition(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown state."))
        return redirect(_order_url(order))
    target = form.cleaned_data["to"]
    capabilities = TARGET_CAPABILITIES.get(target, WORKSHOP_CAPABILITIES)
    _require(request, *capabilities, store_id=order.store_id)
    if order.status == S.QC:  # leaving QC goes through the checklist, which also counts a failure
        _require(request, C.QUALITY_CHECK, store_id=order.store_id)
    others = tuple(c for c in capabilities if c != C.WORK)
    if not _can_any(request.user, others, order.store_id) and order.technician_id != request.user.pk:
        raise PermissionDenied(_("Only the technician assigned to this job may move it."))
    back = _next_or(request, _order_url(order))
    try:
        services.repair_order_transition(order=order, to=target, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        if form.cleaned_data["next"]:
            messages.error(request, _field_errors(exc))
            return redirect(back)
        form.apply_service_errors(exc)
        return _order_page(request, order, status=400, transition_form=form)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("{number} is now: {state}.").format(number=order.number, state=S(target).label))
    return redirect(back)


@require_POST
def order_quality_check(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require(request, C.QUALITY_CHECK, store_id=order.store_id)
    form = QualityCheckForm(request.POST)
    if form.is_valid():
        try:
            check = services.quality_check_record(
                order=order,
                by=request.user,
                passed=form.cleaned_data["passed"],
                checklist=form.checklist(),
                notes=form.cleaned_data["notes"],
                skip_washing=form.cleaned_data["skip_washing"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "qc"))
        else:
            if check.passed:
                messages.success(request, _("Quality check passed."))
            else:
                messages.warning(request, _("Quality check failed: the job goes back to the technician."))
            return redirect(_next_or(request, _order_url(order, "qc")))
    return _order_page(request, order, status=400, qc_form=form)


@require_POST
def order_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require(request, C.RECEIVE, store_id=order.store_id)
    form = DeliveryForm(request.POST)
    if form.is_valid():
        try:
            services.repair_order_deliver(order=order, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "delivery"))
        else:
            messages.success(request, _("Delivered. The bill equals the approved lines."))
            return redirect(_order_url(order))
    return _order_page(request, order, status=400, delivery_form=form)


def order_bill(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    from aftersales.service.bill import bill_pdf

    return bill_pdf(request, order)


def attachment_file(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = Attachment.objects.select_related("order").get_for_user_or_404(request.user, pk=pk)
    _require(request, C.VIEW_SERVICE, store_id=attachment.order.store_id)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------------------------- workshop


def board(request: HttpRequest) -> HttpResponse:
    """The foreman's board: a column per workshop state, work time against standard time."""
    _require(request, C.DISPATCH, C.QUALITY_CHECK, C.VIEW_SERVICE)
    columns = selectors.workshop_board(user=request.user, store_ids=current_store_ids(request))
    context = {"columns": columns, "badges": STATUS_BADGES, "now": clock.now()}
    if request.htmx:
        return render(request, "service/partials/_board.html", context)
    return render(request, "service/board.html", context)


def my_jobs(request: HttpRequest) -> HttpResponse:
    """The technician's own jobs, phone first: big buttons for the next states, approved lines only."""
    _require(request, C.WORK)
    jobs = selectors.technician_jobs(user=request.user)
    hidden = {S.DELIVERED, S.CANCELLED, S.WAITING}
    for job in jobs:
        targets = [] if job["order"].status == S.QC else [t for t in job["next"] if t not in hidden]
        job["buttons"] = [
            {"target": t, "label": BUTTON_LABELS.get(t, S(t).label), "needs_reason": t in REASON_TARGETS}
            for t in targets
        ]
    return render(request, "service/my_jobs.html", {"jobs": jobs, "badges": STATUS_BADGES})


# --------------------------------------------------------------------------------------------- customer profile


def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The service section of the customer profile (loaded by htmx): visits, open deferred work, bookings."""
    customer = customer_selectors.customer_get_for_user(user=request.user, pk=pk)
    _require(request, C.VIEW_SERVICE, store_id=customer.store_id)
    user, store_ids = request.user, frozenset({customer.store_id})
    orders = selectors.order_list(user=user, store_ids=store_ids).filter(customer=customer).order_by("-arrived_at")
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
            "can_book": user_can(user, C.BOOK, customer.store_id),
        },
    )


# --------------------------------------------------------------------------------------------- deferred work


def deferred_list(request: HttpRequest) -> HttpResponse:
    _require(request, C.RECEIVE)
    items = list(selectors.deferred_work_list(user=request.user, store_ids=current_store_ids(request)))
    return render(request, "service/deferred_list.html", {"items": items, "today": clock.today()})


def _deferred(request: HttpRequest, pk: int) -> DeferredWork:
    item = DeferredWork.objects.select_related("source_line", "vehicle").get_for_user_or_404(request.user, pk=pk)
    _require(request, C.RECEIVE, store_id=item.store_id)
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
    _require(request, C.RECEIVE, store_id=order.store_id)
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
