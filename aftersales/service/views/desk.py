"""The advisor's desk: the workbench, walk-ins and appointments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of, search_param
from aftersales.customers import selectors as customer_selectors
from aftersales.organisation.access import can, capability_required, require
from aftersales.organisation.choices import Role
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.selectors import staff_options, store_get_for_user
from aftersales.service import selectors, services
from aftersales.service.choices import (
    STATUS_BADGES,
    AppointmentStatus,
    RepairOrderStatus,
)
from aftersales.service.forms import (
    AppointmentCancelForm,
    CheckInForm,
    DriverForm,
    RescheduleForm,
    StaffBookingForm,
    WalkInForm,
    staff_choices,
)
from aftersales.service.services.pickups import DRIVER_ROLES
from aftersales.service.views._common import (
    C,
    _day,
    _field_errors,
    _next_or,
    _require_appointment_move,
    _stores_for,
    may_appointment,
)


@capability_required(C.RECEIVE, C.BOOK)
def workbench(request: HttpRequest) -> HttpResponse:
    """The advisor's day: bookings, the reception queue with its clocks, open orders, approvals, hand-overs."""
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
        data = {k: v for k, v in form.cleaned_data.items() if k != "store" and k not in form.FACT_FIELDS}
        data.update(form.fact_values())
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


@capability_required(C.VIEW_SERVICE)
def repair_order_list(request: HttpRequest) -> HttpResponse:
    """Every repair order, open or done, the latest arrival first, 25 a page; the workbench shows the open ones
    of today, this page finds any other (a number, a plate, a customer, a state, dates, an advisor)."""
    store_ids = current_store_ids(request)
    query, start, end = search_param(request), date_param(request, "from"), date_param(request, "to")
    status = choice_param(request, "status", RepairOrderStatus.values)
    advisors = staff_options(store_ids=store_ids, roles=[Role.ADVISOR])
    advisor = choice_param(request, "advisor", [pk for pk, _name in advisors])
    orders = selectors.order_search(
        user=request.user,
        store_ids=store_ids,
        query=query,
        status=status,
        start=start,
        end=end,
        advisor_id=int(advisor) if advisor else None,
    )
    page = page_of(request, orders)
    filters = [
        Filter("q", _("Number, customer, mobile or plate"), "search", query),
        Filter("status", _("Status"), "select", status, list(RepairOrderStatus.choices)),
        *date_range_filters(start, end),
        Filter("advisor", _("Advisor"), "select", advisor, advisors),
    ]
    return render(
        request,
        "service/order_list.html",
        {"orders": page.object_list, "page": page, "filters": filters, "badges": STATUS_BADGES},
    )


# --------------------------------------------------------------------------------------------- appointments


@capability_required(C.VIEW_SERVICE)
def appointment_list(request: HttpRequest) -> HttpResponse:
    day = _day(request.GET.get("day"), clock.today())
    store_ids = current_store_ids(request)
    status = choice_param(request, "status", AppointmentStatus.values)
    advisors = staff_options(store_ids=store_ids, roles=[Role.ADVISOR])
    advisor = choice_param(request, "advisor", [pk for pk, _name in advisors])
    listed = selectors.appointment_list(user=request.user, store_ids=store_ids, day=day, status=status or None)
    if advisor:
        listed = listed.filter(advisor_id=int(advisor))
    page = page_of(request, listed)
    appointments = list(page.object_list)
    pickup_stores = {a.store_id for a in appointments if a.pickup}
    staff = staff_choices(pickup_stores, list(DRIVER_ROLES)) if pickup_stores else {}
    rows = [
        {
            "appointment": a,
            "can_book": may_appointment(request.user, a, "reschedule"),
            "can_cancel": may_appointment(request.user, a, "cancel"),
            "can_receive": may_appointment(request.user, a, "check_in"),
            "can_driver": may_appointment(request.user, a, "assign_driver"),
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
            "page": page,
            "filters": [
                Filter("status", _("Status"), "select", status, list(AppointmentStatus.choices)),
                Filter("advisor", _("Advisor"), "select", advisor, advisors),
            ],
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "can_book": can(request.user, C.BOOK),
        },
    )


@capability_required(C.BOOK)
def appointment_create(request: HttpRequest) -> HttpResponse:
    """A booking by phone, WeChat or at the desk for a known customer (`?customer=<id>`)."""
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
    store = customer_selectors.acting_store(request.user, C.BOOK, customer)
    require(request.user, C.BOOK, store_id=store.pk if store else customer.store_id)
    assert store is not None  # require() refused otherwise
    vehicles = list(customer.vehicles.order_by("id"))
    advisors = staff_choices({store.pk}, [Role.ADVISOR])[store.pk]
    default_day = clock.today() + dt.timedelta(days=1)
    form = StaffBookingForm(
        request.POST or None,
        customer=customer,
        vehicles=vehicles,
        advisors=advisors,
        store=store,
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
    services.slots_ensure_bookable(store=store, day=day)
    return render(
        request,
        "service/appointment_form.html",
        {
            "form": form,
            "customer": customer,
            "day": day,
            "slots": selectors.slot_list(store=store, day=day),
            "selected": request.POST.get("start", ""),
            "now": clock.now(),
        },
        status=400 if form.errors else 200,
    )


@capability_required(C.BOOK)
def appointment_slots(request: HttpRequest) -> HttpResponse:
    """The staff slot picker (htmx): the same partial as the customer's booking page."""
    raw = request.GET.get("store", "")
    if raw.isdigit():
        store = store_get_for_user(user=request.user, pk=int(raw))
    else:
        stores = _stores_for(request, C.BOOK)
        if not stores:
            raise PermissionDenied(_("Your role may not book in this store."))
        store = stores[0]
    day = _day(request.GET.get("day"), clock.today())
    services.slots_ensure_bookable(store=store, day=day)
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
    _require_appointment_move(request, appointment, "reschedule")
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
    services.slots_ensure_bookable(store=appointment.store, day=day)
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
    _require_appointment_move(request, appointment, "cancel")
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
    _require_appointment_move(request, appointment, "assign_driver")
    form = DriverForm(
        request.POST,
        store=appointment.store,
        staff=staff_choices({appointment.store_id}, list(DRIVER_ROLES))[appointment.store_id],
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
    _require_appointment_move(request, appointment, "check_in")
    facts: dict[str, Any] = {}
    if request.POST.get("facts"):  # the check-in form with its arrival facts; the one-click button sends none
        form = CheckInForm(request.POST, store=appointment.store)
        if not form.is_valid():
            messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
            return redirect(_next_or(request, reverse("service:workbench")))
        facts = form.fact_values()
    try:
        order = services.appointment_check_in(appointment=appointment, by=request.user, **facts)
    except ValidationError as exc:
        messages.error(request, _field_errors(exc))
        return redirect(_next_or(request, reverse("service:workbench")))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_next_or(request, reverse("service:workbench")))
    messages.success(
        request, _("Checked in as {number}. Start the walk-around inspection.").format(number=order.number)
    )
    return redirect("service:order-detail", pk=order.pk)


# --------------------------------------------------------------------------------------------- the order page
