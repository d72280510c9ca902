"""The customer's pages: online booking, the appointment link, the repair-order link (progress, estimate
decisions, evidence, parts, bill, rating).  No account: each link is signed, expiring and single-purpose."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.language import customer_page
from aftersales.organisation.models import Store
from aftersales.organisation.rules import Party
from aftersales.service import selectors, selectors_customer, services
from aftersales.service.choices import BookingChannel, DecisionChannel, LineDecision, ServiceType
from aftersales.service.forms import CustomerBookingForm, RescheduleForm
from aftersales.service.models import EstimateLine
from aftersales.service.services.estimates import ANOTHER_CHOSEN, STAFF_USE_DESK
from aftersales.service.services.links import (
    LINK_INVALID,
    appointment_from_token,
    order_from_token,
    order_link_token,
    order_token_payload,
)

# What the order page may say after a refused action.  The redirect carries only one of these codes, never the
# text itself: a link with ?error=<any text> must not make our page say it.
ORDER_PAGE_ALERTS: dict[str, Promise] = {
    "already_decided": gettext_lazy("This line has already been decided."),
    "another_chosen": ANOTHER_CHOSEN,
    "staff_session": STAFF_USE_DESK,
    "decision_refused": gettext_lazy(
        "Your choice could not be recorded. Please reload the page and try again, or call the store."
    ),
    "already_rated": gettext_lazy("This visit has already been rated. Thank you!"),
    "rating_not_yet": gettext_lazy("You can rate the visit once the car is delivered."),
    "rating_invalid": gettext_lazy("A rating is a whole number from 0 to 10."),
}


def _link_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "service/customer/link_error.html", {"message": exc.message}, status=403)


def _day(raw: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return clock.today() + dt.timedelta(days=1)


def _prefill(request: HttpRequest) -> dict[str, str]:
    """What a reminder's one-tap link preselects: `?service=<service type>&plate=<plate>`.  A value that is not a
    service type or not a plausible plate is ignored (the page opens as without it)."""
    initial = {}
    service = request.GET.get("service", "")
    if service in ServiceType.values:
        initial["service_type"] = service
    plate = request.GET.get("plate", "").strip()
    if plate and len(plate) <= 12 and plate.isprintable():
        initial["plate"] = plate
    return initial


@login_not_required
@customer_page
def booking_page(request: HttpRequest, store_code: str) -> HttpResponse:
    """Online booking from the customer's phone: service, day and slot, who and which car."""
    store = get_object_or_404(Store.objects.select_related("group"), code=store_code, is_active=True)
    initial = {"day": _day(request.GET.get("day")), **_prefill(request)}
    form = CustomerBookingForm(request.POST or None, store=store, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book_for_visitor(
                store=store, channel=BookingChannel.ONLINE, **form.booking_kwargs()
            )
        except ApplicationError as exc:
            form.add_error("start", exc.message)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            from aftersales.service.services.links import appointment_link_token

            url = reverse("service:customer-appointment", args=[appointment_link_token(appointment)])
            return redirect(f"{url}?lang={get_language()}")
    day = form.chosen_day()
    services.slots_ensure_bookable(store=store, day=day)
    slots = selectors.slot_list(store=store, day=day)
    return render(
        request,
        "service/customer/booking.html",
        {
            "store": store,
            "form": form,
            "day": day,
            "slots": slots,
            "service_types": ServiceType.choices,
            "now": clock.now(),
            **_advisors_context(store, slots, form.chosen_start(), form.data.get("advisor", "")),
        },
    )


def _advisors_context(store: Store, slots: list[Any], start: dt.datetime | None, selected: str) -> dict[str, Any]:
    return {
        "advisors": selectors_customer.advisor_choices(store=store, slots=slots, start=start),
        "advisor_selected": selected,
        "advisor_for_slot": start is not None and any(s.start == start for s in slots),
    }


@login_not_required
@customer_page
def booking_advisors(request: HttpRequest, store_code: str) -> HttpResponse:
    """The advisors the customer may choose, with their free places in the chosen slot (or day)."""
    store = get_object_or_404(Store, code=store_code, is_active=True)
    day = _day(request.GET.get("day"))
    services.slots_ensure_bookable(store=store, day=day)
    slots = selectors.slot_list(store=store, day=day)
    start = CustomerBookingForm.parse_start(request.GET.get("start", ""))
    return render(
        request,
        "service/customer/partials/_advisors.html",
        _advisors_context(store, slots, start, request.GET.get("advisor", "")),
    )


@login_not_required
@customer_page
def booking_slots(request: HttpRequest, store_code: str) -> HttpResponse:
    store = get_object_or_404(Store, code=store_code, is_active=True)
    day = _day(request.GET.get("day"))
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


@login_not_required
@customer_page
def appointment_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        appointment = appointment_from_token(token)
    except ApplicationError as exc:
        return _link_error(request, exc)
    form = RescheduleForm(
        request.POST or None,
        store=appointment.store,
        initial={"day": timezone.localtime(appointment.slot.start).date()},
    )
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                services.appointment_cancel(
                    appointment=appointment, by=Party.CUSTOMER, reason=request.POST.get("reason", "")[:200]
                )
                return redirect(request.path + "?done=cancelled")
            if form.is_valid():
                services.appointment_reschedule(
                    appointment=appointment, start=form.cleaned_data["start"], by=Party.CUSTOMER
                )
                return redirect(request.path + "?done=moved")
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        appointment.refresh_from_db()
    day = form.chosen_day()
    if appointment.status == "booked":
        services.slots_ensure_bookable(store=appointment.store, day=day)
    order = getattr(appointment, "repair_order", None)
    return render(
        request,
        "service/customer/appointment.html",
        {
            "appointment": appointment,
            "confirmation": selectors_customer.appointment_confirmation(appointment),
            "form": form,
            "day": day,
            "done": request.GET.get("done"),
            "slots": selectors.slot_list(store=appointment.store, day=day) if appointment.status == "booked" else [],
            "order_link": order_link_token(order) if order else None,
            "now": clock.now(),
        },
    )


def _order_or_error(request: HttpRequest, token: str) -> Any:
    try:
        return order_from_token(token)
    except ApplicationError as exc:
        return _link_error(request, exc)


@login_not_required
@customer_page
def order_page(request: HttpRequest, token: str) -> HttpResponse:
    """The page customers open most: where the car is, what it costs, what to decide.

    It is cached under a fingerprint of everything it shows (one small query), so an unchanged order is served
    without loading or rendering anything; any change to the order changes the fingerprint."""
    try:
        order_id, nonce = order_token_payload(token)
        fingerprint = selectors.order_page_fingerprint(order_id=order_id, nonce=nonce)
        if fingerprint is None:
            raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    except ApplicationError as exc:
        return _link_error(request, exc)
    key = f"customer-order:{fingerprint}:{get_language()}:{token}"
    cached = cache.get(key)
    if cached is None:
        order = order_from_token(token)
        context = {"page": selectors.order_page(order), "order": order, "token": token, "LineDecision": LineDecision}
        cached = {
            "content": render_to_string("service/customer/partials/_order_content.html", context, request=request),
            "title": f"{order.number} · {order.get_status_display()}",
            "store_name": order.store.name,
        }
        cache.set(key, cached, 3600)
    return render(
        request,
        "service/customer/order.html",
        {
            "title": cached["title"],
            "store_name": cached["store_name"],
            "content": mark_safe(cached["content"]),  # noqa: S308 - our own template's output, escaped when rendered
            "ready": _ready_estimate(order_id, fingerprint),
            "today": clock.now(),
            "error": ORDER_PAGE_ALERTS.get(request.GET.get("error", ""), ""),
        },
    )


def _ready_estimate(order_id: int, fingerprint: str) -> selectors_customer.ReadyEstimate | None:
    """Not part of the cached page: it also moves with the other cars of the workshop.  Computed again when the
    order changes (a new fingerprint) and at most once a minute otherwise."""
    key = f"customer-eta:{fingerprint}:{int(clock.now().timestamp()) // 60}"
    cached = cache.get(key)
    if cached is None:
        cached = {"estimate": selectors_customer.order_ready_estimate(order_id=order_id)}
        cache.set(key, cached, 60)
    return cached["estimate"]


# The signed link is the credential for these two actions, not a session cookie, so a cross-site request
# cannot forge them without the link; CSRF tokens would also stop the page from being cached.
@csrf_exempt
@login_not_required
@require_POST
@customer_page
def order_decide(request: HttpRequest, token: str, line_id: int) -> HttpResponse:
    return _decide(request, token, line_id, whole_group=False)


@csrf_exempt
@login_not_required
@require_POST
@customer_page
def order_choose(request: HttpRequest, token: str) -> HttpResponse:
    """A choice between alternatives: approve the option picked (`line`), or decline them all ("neither")."""
    raw = request.POST.get("line", "")
    if not raw.isdigit() or len(raw) > 12:
        return redirect(f"{request.path.rsplit('/choose/', 1)[0]}/?error=decision_refused#estimate")
    return _decide(request, token, int(raw), whole_group=request.POST.get("decision") == LineDecision.DECLINED)


def _decide(request: HttpRequest, token: str, line_id: int, *, whole_group: bool) -> HttpResponse:
    order = _order_or_error(request, token)
    if isinstance(order, HttpResponse):
        return order
    base = request.path.rsplit("/decide/", 1)[0].rsplit("/choose/", 1)[0]
    line = EstimateLine.objects.filter(pk=line_id, estimate__order=order).first()
    if line is None:
        raise Http404
    decision = request.POST.get("decision", "")
    # A browser with a staff session is a member of staff, never the customer: the service refuses it, and the
    # page points to the desk decision, which records who noted it.
    staff = request.user if request.user.is_authenticated else None
    try:
        services.estimate_line_decide(
            line=line,
            decision=decision,
            channel=DecisionChannel.LINK,
            by=staff or Party.CUSTOMER,
            reason=request.POST.get("reason", "")[:200],
            whole_group=whole_group and line.choice_group is not None,
        )
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        code = exc.extra.get("code", "") if isinstance(exc, ApplicationError) else ""
        if isinstance(exc, ValidationError) and str(ANOTHER_CHOSEN) in exc.messages:
            code = "another_chosen"
        code = "staff_session" if staff else code if code in ORDER_PAGE_ALERTS else "decision_refused"
        return redirect(f"{base}/?error={code}#estimate")
    return redirect(f"{base}/#line-{line.pk}")


@csrf_exempt
@login_not_required
@require_POST
@customer_page
def order_rate(request: HttpRequest, token: str) -> HttpResponse:
    order = _order_or_error(request, token)
    if isinstance(order, HttpResponse):
        return order
    raw = request.POST.get("rating", "")
    try:
        services.repair_order_rate(order=order, rating=int(raw) if raw.isdigit() else -1)
    except ValidationError:
        return redirect(f"{request.path.rsplit('/rate/', 1)[0]}/?error=rating_invalid#rating")
    except ApplicationError:
        order.refresh_from_db(fields=["rating"])
        code = "already_rated" if order.rating is not None else "rating_not_yet"
        return redirect(f"{request.path.rsplit('/rate/', 1)[0]}/?error={code}#rating")
    return redirect(f"{request.path.rsplit('/rate/', 1)[0]}/#rating")


@login_not_required
@customer_page
def order_file(request: HttpRequest, token: str, attachment_id: int) -> HttpResponse:
    order = _order_or_error(request, token)
    if isinstance(order, HttpResponse):
        return order
    attachment = order.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_not_required
@customer_page
def order_bill_pdf(request: HttpRequest, token: str) -> HttpResponse:
    order = _order_or_error(request, token)
    if isinstance(order, HttpResponse):
        return order
    from aftersales.service.bill import bill_pdf

    return bill_pdf(request, order)
