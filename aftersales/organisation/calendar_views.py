"""The official calendar's pages: the years and where each comes from, a year's 12 months, entering a notice."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from aftersales.core import clock
from aftersales.core.calendar_import import MAX_YEAR, MIN_YEAR, calendar_year_parse
from aftersales.core.models import OfficialCalendarYear
from aftersales.organisation import calendar_services as services

# The grid's column heads, Monday first.
WEEKDAY_HEADS = (
    pgettext_lazy("weekday, short", "Mon"),
    pgettext_lazy("weekday, short", "Tue"),
    pgettext_lazy("weekday, short", "Wed"),
    pgettext_lazy("weekday, short", "Thu"),
    pgettext_lazy("weekday, short", "Fri"),
    pgettext_lazy("weekday, short", "Sat"),
    pgettext_lazy("weekday, short", "Sun"),
)


def _moves(request: HttpRequest) -> dict[str, bool]:
    moves = services.calendar_moves_for(user=request.user)
    if not moves["read"]:
        raise PermissionDenied(_("Your role may not do this."))
    return moves


def _import(request: HttpRequest) -> tuple[HttpResponse | None, list[str]]:
    """Handle the form (a pasted text or an uploaded file): a redirect on success, else the errors to show."""
    upload = request.FILES.get("file")
    text = request.POST.get("text", "")
    try:
        if upload is not None:
            data = calendar_year_parse(upload.read(64 * 1024 + 1))
        elif text.strip():
            data = calendar_year_parse(text)
        else:
            return None, [_("file: paste the notice's JSON or choose a file.")]
        row = services.calendar_year_enter(data=data, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        return None, [message for field_messages in exc.message_dict.values() for message in field_messages]
    messages.success(
        request,
        _("%(year)d entered: %(holidays)d holidays, %(workdays)d make-up working days.")
        % {"year": row.year, "holidays": len(row.holidays), "workdays": len(row.workdays)},
    )
    return redirect("organisation:calendar-year", year=row.year), []


def calendar_list(request: HttpRequest) -> HttpResponse:
    moves = _moves(request)
    errors: list[str] = []
    if request.method == "POST":
        if not moves["import"]:
            raise PermissionDenied(_("Only an administrator may enter the official calendar."))
        done, errors = _import(request)
        if done is not None:
            return done
    today = clock.today()
    return render(
        request,
        "organisation/calendar_list.html",
        {
            "rows": services.calendar_year_list(today=today),
            "moves": moves,
            "errors": errors,
            "text": request.POST.get("text", ""),
            "today": today,
        },
        status=400 if errors else 200,
    )


def calendar_year(request: HttpRequest, year: int) -> HttpResponse:
    moves = _moves(request)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404
    errors: list[str] = []
    if request.method == "POST":
        if not moves["import"]:
            raise PermissionDenied(_("Only an administrator may enter the official calendar."))
        done, errors = _import(request)
        if done is not None:
            return done
    source, months = services.calendar_year_months(year)
    entered = OfficialCalendarYear.objects.select_related("entered_by__staff_profile").filter(year=year).first()
    return render(
        request,
        "organisation/calendar_year.html",
        {
            "year": year,
            "source": source,
            "entered": entered,
            "months": months,
            "weekday_heads": [str(head) for head in WEEKDAY_HEADS],
            "moves": moves,
            "errors": errors,
            "text": request.POST.get("text", ""),
            "list_url": reverse("organisation:calendar"),
        },
        status=400 if errors else 200,
    )
