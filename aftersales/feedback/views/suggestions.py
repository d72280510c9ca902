"""Pages of the feedback domain: suggestions (建议) — decided (adopt or not) within the working days of SPEC §4,
then the customer is told."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.calendar import format_countdown, remaining
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import page_of
from aftersales.customers import selectors as customer_selectors
from aftersales.feedback import selectors, services
from aftersales.feedback.choices import FeedbackChannel, SuggestionStatus
from aftersales.feedback.forms_complaints import DecideForm, SuggestionForm
from aftersales.feedback.models import Suggestion
from aftersales.feedback.transitions import SUGGESTION, offers, suggestion_moves_for
from aftersales.feedback.views._common import customer_pick_page
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C

G = SuggestionStatus
RECENTLY_CLOSED = 20
BADGES = {G.OPEN: "warning", G.DECIDED: "info", G.CLOSED: "success"}


def _detail_url(suggestion: Suggestion) -> str:
    return reverse("feedback:suggestion-detail", args=[suggestion.pk])


def _clock(suggestion: Suggestion, now: object) -> dict[str, object]:
    """The decision countdown (working days are already in `decision_due`, counted at logging)."""
    left = remaining(suggestion.decision_due, now)  # type: ignore[arg-type]
    return {"countdown": format_countdown(left), "breached": left.total_seconds() < 0}


def suggestion_list(request: HttpRequest) -> HttpResponse:
    """Awaiting a decision first (soonest due first, with the countdown), then decided but the customer not
    told yet, then the latest closed ones."""
    require(request.user, C.VIEW_FEEDBACK)
    store_ids = current_store_ids(request)  # the selectors narrow to the stores where the user may read feedback
    now = clock.now()
    awaiting_page = page_of(
        request, selectors.suggestions_awaiting_decision(user=request.user, store_ids=store_ids), param="awaiting_page"
    )
    awaiting = [{"suggestion": s, **_clock(s, now)} for s in awaiting_page.object_list]
    decided_page = page_of(
        request,
        selectors.suggestion_list(user=request.user, store_ids=store_ids, status=G.DECIDED),
        param="decided_page",
    )
    decided = list(decided_page.object_list)
    closed = list(selectors.suggestion_list(user=request.user, store_ids=store_ids, status=G.CLOSED)[:RECENTLY_CLOSED])
    return render(
        request,
        "feedback/suggestions/list.html",
        {
            "awaiting": awaiting,
            "awaiting_page": awaiting_page,
            "decided": decided,
            "decided_page": decided_page,
            "closed": closed,
            "can_log": can(request.user, *SUGGESTION.get("log").capabilities),
        },
    )


def suggestion_create(request: HttpRequest) -> HttpResponse:
    log = SUGGESTION.get("log")
    require(request.user, *log.capabilities)
    raw = request.POST.get("customer") or request.GET.get("customer", "")
    if not raw.isdigit():
        return customer_pick_page(request, "feedback/suggestions/pick_customer.html", log.capabilities)
    customer = customer_selectors.customer_get_for_user(user=request.user, pk=int(raw))
    store_id = customer_selectors.serving_store_id(
        customer, lambda pk: SUGGESTION.may(log, actor=request.user, store_id=pk)
    )
    SUGGESTION.authorise(log, actor=request.user, store_id=store_id)
    channel = request.GET.get("channel", "")
    initial = {
        "channel": channel if channel in FeedbackChannel.values else FeedbackChannel.PHONE,
        "received_at": timezone.localtime(clock.now()).replace(second=0, microsecond=0),
    }
    form = SuggestionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            suggestion = services.suggestion_log(
                store=Store.objects.get(pk=store_id),
                customer=customer,
                channel=data["channel"],
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
                request,
                _("Suggestion #{number} logged: decide by {due} and tell the customer.").format(
                    number=suggestion.pk, due=f"{timezone.localtime(suggestion.decision_due):%Y-%m-%d %H:%M}"
                ),
            )
            return redirect(_detail_url(suggestion))
    return render(
        request,
        "feedback/suggestions/form.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


def _suggestion_page(
    request: HttpRequest, suggestion: Suggestion, *, status: int = 200, decide_form: DecideForm | None = None
) -> HttpResponse:
    moves = suggestion_moves_for(suggestion=suggestion, user=request.user)
    context = {
        "suggestion": suggestion,
        "badge": BADGES.get(suggestion.status, "secondary"),
        "clock": _clock(suggestion, clock.now()) if suggestion.status == G.OPEN else None,
        "can_handle": bool(moves),
        "decide_form": (decide_form or DecideForm(auto_id="decide-%s")) if offers(moves, "decide") else None,
        "can_tell": offers(moves, "close"),
    }
    return render(request, "feedback/suggestions/detail.html", context, status=status)


def suggestion_detail(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = selectors.suggestion_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_FEEDBACK, store_id=suggestion.store_id)
    return _suggestion_page(request, suggestion)


@require_POST
def suggestion_decide(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = selectors.suggestion_get_for_user(user=request.user, pk=pk)
    SUGGESTION.authorise(SUGGESTION.get("decide"), actor=request.user, store_id=suggestion.store_id)
    form = DecideForm(request.POST, auto_id="decide-%s")
    if form.is_valid():
        try:
            services.suggestion_decide(
                suggestion=suggestion,
                by=request.user,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(suggestion))
        else:
            messages.success(request, _("Decision recorded. Now tell the customer."))
            return redirect(_detail_url(suggestion))
    return _suggestion_page(request, suggestion, status=400, decide_form=form)


@require_POST
def suggestion_tell(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = selectors.suggestion_get_for_user(user=request.user, pk=pk)
    SUGGESTION.authorise(SUGGESTION.get("close"), actor=request.user, store_id=suggestion.store_id)
    try:
        services.suggestion_tell_customer(suggestion=suggestion, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The customer has been told; the suggestion is closed."))
    return redirect(_detail_url(suggestion))


urlpatterns: list[URLPattern] = [
    path("feedback/suggestions/", suggestion_list, name="suggestion-list"),
    path("feedback/suggestions/new/", suggestion_create, name="suggestion-create"),
    path("feedback/suggestions/<int:pk>/", suggestion_detail, name="suggestion-detail"),
    path("feedback/suggestions/<int:pk>/decide/", suggestion_decide, name="suggestion-decide"),
    path("feedback/suggestions/<int:pk>/tell/", suggestion_tell, name="suggestion-tell"),
]
