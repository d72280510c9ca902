"""The driver's phone list (取送车): today's pick-ups and drop-offs with the address, the window, a call button and
the moves "collected" / "delivered back", each with an optional photo.  Advisors open the same list for their
stores (masked) and may record a move for the driver."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.access import can, capability_required
from aftersales.organisation.current import current_store_ids
from aftersales.service import services
from aftersales.service.choices import PICKUP_BADGES
from aftersales.service.forms import PickupMoveForm
from aftersales.service.models import Appointment, PickupEvent
from aftersales.service.selectors_pickups import pickup_list as pickup_list_read
from aftersales.service.transitions import PICKUP
from aftersales.service.views._common import C, _day, _field_errors


@capability_required(C.DRIVE, C.RECEIVE)
def pickup_list(request: HttpRequest) -> HttpResponse:
    day = _day(request.GET.get("day"), clock.today())
    data = pickup_list_read(user=request.user, store_ids=current_store_ids(request), day=day)
    if data.shown_in_full:
        # The driver reads addresses and phones in full: which ones, when, is kept like any other reveal.
        audit_record(
            actor=request.user,
            action="appointment.pickup_list",
            object_type="service.appointment",
            changes={"shown_in_full": data.shown_in_full, "day": day.isoformat()},
        )
    return render(
        request,
        "service/pickup_list.html",
        {
            "list": data,
            "badges": PICKUP_BADGES,
            "form": PickupMoveForm(auto_id=False),
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "is_today": day == clock.today(),
        },
    )


@require_POST
def pickup_move(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    appointment = Appointment.objects.select_related("store").get_for_user_or_404(request.user, pk=pk)
    form = PickupMoveForm(request.POST, request.FILES)
    back = reverse("service:pickup-list")
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
        return redirect(back)
    try:
        services.pickup_record(appointment=appointment, move=move, by=request.user, photo=form.cleaned_data["photo"])
    except ValidationError as exc:
        messages.error(request, _field_errors(exc))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        label = PICKUP.get(move).label
        messages.success(request, _("Recorded: {move}.").format(move=label))
    return redirect(f"{back}#pickup-{appointment.pk}")


def pickup_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo of a pick-up: for the job's driver and for whoever sees the store's service process."""
    event = PickupEvent.objects.select_related("appointment").get_for_user_or_404(request.user, pk=pk)
    appointment = event.appointment
    own = appointment.driver_id == request.user.pk and can(request.user, C.DRIVE, store_id=appointment.store_id)
    if not (own or can(request.user, C.VIEW_SERVICE, C.RECEIVE, store_id=appointment.store_id)) or not event.photo:
        raise PermissionDenied(_("Your role may not do this."))
    response = FileResponse(event.photo.open("rb"), content_type=event.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
