"""Follow-ups (回访) and surveys: the agents' call queue, the call-script screen that records an attempt and the
survey, the survey responses, and the survey QR code of a delivered order (shown on the staff order page)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.calendar import format_countdown, remaining
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of
from aftersales.customers.validators import mask_mobile
from aftersales.feedback import selectors, services
from aftersales.feedback.choices import FeedbackChannel, FollowUpStatus, SurveyChannel
from aftersales.feedback.forms import FollowUpCallForm
from aftersales.feedback.models import FollowUp, RecoveryTask, SurveyResponse
from aftersales.feedback.services.followups import OUTCOME_MOVES
from aftersales.feedback.transitions import FOLLOW_UP, RECOVERY, follow_up_moves_for
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder
from aftersales.service.transitions import may_send_order_link
from aftersales.standards import selectors as standards_selectors
from aftersales.standards.choices import ProcedureStep

C = Capability
# The queue's tabs: open follow-ups, and the ones closed today (surveyed / refused) or given up on.
TABS = ("open", "done_today", "unreachable")


# --------------------------------------------------------------------------------------------- helpers


def complaint_link(*, customer_id: int, order_id: int | None, channel: str = FeedbackChannel.FOLLOW_UP) -> str:
    """ "Log a complaint" for this customer and visit, the intake form filled in."""
    base = reverse("feedback:complaint-create")
    query = {"customer": customer_id, "channel": channel}
    if order_id is not None:
        query["order"] = order_id
    return f"{base}?{urlencode(query)}"


def _max_attempts(stores: dict[int, Any]) -> dict[int, int]:
    """The store's `follow_up_max_attempts`, one settings query per store (not per row)."""
    return {pk: int(setting_values_for_store(store)["follow_up_max_attempts"]) for pk, store in stores.items()}


def _closed_follow_ups(user: Any, store_ids: frozenset[int], tab: str, now: dt.datetime) -> QuerySet[FollowUp]:
    """The queue's other tabs: closed today (surveyed or declined), or unreachable in the last week."""
    rows = FollowUp.objects.for_user(user, C.FOLLOW_UP, store_ids=store_ids).select_related(
        "store", "order__customer", "order__vehicle", "order__advisor__staff_profile", "response"
    )
    if tab == "done_today":
        start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = rows.filter(status__in=[FollowUpStatus.DONE, FollowUpStatus.REFUSED], closed_at__gte=start)
    else:
        rows = rows.filter(status=FollowUpStatus.UNREACHABLE, closed_at__gte=now - dt.timedelta(days=7))
    return rows.order_by("-closed_at", "-id")


def _recovery_of(response: SurveyResponse | None) -> RecoveryTask | None:
    if response is None:
        return None
    try:
        return response.recovery
    except RecoveryTask.DoesNotExist:
        return None


# --------------------------------------------------------------------------------------------- the queue


def follow_up_queue(request: HttpRequest) -> HttpResponse:
    """The agent's call queue: oldest due first, with the due time as a countdown and the attempts so far."""
    require(request.user, C.FOLLOW_UP)
    store_ids = current_store_ids(request)  # narrowed to the stores where the user calls (for_user)
    now = clock.now()
    tab = request.GET.get("show", "open")
    if tab not in TABS:
        tab = "open"
    if tab == "open":
        follow_ups = selectors.follow_up_queue(user=request.user, store_ids=store_ids, now=now, capability=C.FOLLOW_UP)
    else:
        follow_ups = _closed_follow_ups(request.user, store_ids, tab, now)
    page = page_of(request, follow_ups)
    shown = list(page.object_list)
    limits = _max_attempts({f.store_id: f.store for f in shown})
    rows = []
    for follow_up in shown:
        left = remaining(follow_up.due_at, now)
        rows.append(
            {
                "follow_up": follow_up,
                "order": follow_up.order,
                "phone": mask_mobile(follow_up.order.customer.phone),
                "due": left <= dt.timedelta(0),
                "countdown": format_countdown(left),
                "max_attempts": limits[follow_up.store_id],
            }
        )
    return render(
        request,
        "feedback/followups/queue.html",
        {
            "rows": rows,
            "page": page,
            "total": page.paginator.count,
            "tab": tab,
            "due_count": follow_ups.filter(due_at__lte=now).count() if tab == "open" else 0,
            "now": now,
        },
    )


# --------------------------------------------------------------------------------------------- one call


def follow_up_call(request: HttpRequest, pk: int) -> HttpResponse:
    """The call-script screen: what to say, who to call, the earlier attempts and the record of this call."""
    follow_up = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    require(request.user, C.FOLLOW_UP, store_id=follow_up.store_id)
    if request.method == "POST":  # the rulebook before the form: every outcome of a call is a move
        raw = request.POST.get("outcome", "")
        FOLLOW_UP.authorise(
            FOLLOW_UP.get(OUTCOME_MOVES.get(raw, "no_answer")), actor=request.user, store_id=follow_up.store_id
        )
    order = follow_up.order
    consent_on_file = services.survey_consent_on_file(order.customer)
    form = FollowUpCallForm(
        request.POST or None,
        items=selectors.survey_items(),
        language=get_language() or "zh-hans",
        consent_on_file=consent_on_file,
    )
    if request.method == "POST" and form.is_valid():
        reached = form.reached()
        try:
            services.follow_up_attempt_record(
                follow_up=follow_up,
                by=request.user,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                answers=form.answers() if reached else None,
                expectations=form.expectations() if reached else None,
                consent_given=bool(form.cleaned_data.get("consent")),
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            code = (exc.extra or {}).get("code")
            form.add_error("consent" if code == "no_survey_consent" and "consent" in form.fields else None, exc.message)
        else:
            _report_call(request, follow_up)
            return redirect("feedback:follow-up-queue")
        follow_up.refresh_from_db()  # the service counted the attempt in memory before it was rolled back
    max_attempts = int(setting_values_for_store(follow_up.store)["follow_up_max_attempts"])
    script_version = standards_selectors.current_version(store=follow_up.store, step=ProcedureStep.FOLLOW_UP)
    return render(
        request,
        "feedback/followups/call.html",
        {
            "follow_up": follow_up,
            "order": order,
            "customer": order.customer,
            "phone": mask_mobile(order.customer.phone),
            "attempts": selectors.follow_up_attempts(follow_up),
            "max_attempts": max_attempts,
            "form": form,
            "rows": form.survey_rows(),
            "consent_on_file": consent_on_file,
            "is_open": follow_up.status == FollowUpStatus.OPEN,
            "can_call": bool(follow_up_moves_for(follow_up=follow_up, user=request.user)),
            "can_see_customer": can(request.user, C.VIEW_CUSTOMERS, store_id=follow_up.store_id),
            "complaint_url": complaint_link(customer_id=order.customer_id, order_id=order.pk),
            "countdown": format_countdown(remaining(follow_up.due_at, clock.now())),
            "agent": request.user,
            "script_version": script_version,
            "script_items": standards_selectors.version_items(script_version),
        },
        status=400 if form.errors else 200,
    )


def _report_call(request: HttpRequest, follow_up: FollowUp) -> None:
    """The outcome in one sentence, and a warning when the score opened service recovery."""
    number = follow_up.order.number
    if follow_up.status == FollowUpStatus.OPEN:
        messages.info(
            request,
            _("Attempt {n} for {number} recorded; it stays in the queue for another try.").format(
                n=follow_up.attempts, number=number
            ),
        )
    elif follow_up.status == FollowUpStatus.UNREACHABLE:
        messages.warning(request, _("{number}: the customer could not be reached; closed.").format(number=number))
    elif follow_up.status == FollowUpStatus.REFUSED:
        messages.info(request, _("{number}: the customer declined the survey; closed.").format(number=number))
    else:
        messages.success(request, _("{number}: survey recorded. Thank you.").format(number=number))
    task = _recovery_of(follow_up.response)
    if task is not None:
        advisor = task.advisor.staff_profile.display_name if task.advisor else "—"
        messages.warning(
            request,
            _(
                "The overall score is low: a service-recovery task is open for the advisor {advisor}, due by {due}."
            ).format(advisor=advisor, due=timezone.localtime(task.due_at).strftime("%H:%M")),
        )


# ---------------------------------------------------------------------------------------------- surveys


def survey_list(request: HttpRequest) -> HttpResponse:
    """Recent survey responses with their channel and overall score, filterable by channel."""
    require(request.user, C.VIEW_FEEDBACK)
    channel = choice_param(request, "channel", SurveyChannel.values)
    start, end = date_param(request, "from"), date_param(request, "to")
    responses = selectors.survey_response_list(
        user=request.user, store_ids=current_store_ids(request), channel=channel or None
    ).prefetch_related(None)  # the list shows no answers: skip the prefetch
    if start is not None:
        responses = responses.filter(submitted_at__date__gte=start)
    if end is not None:
        responses = responses.filter(submitted_at__date__lte=end)
    page = page_of(request, responses.select_related("recovery"))
    return render(
        request,
        "feedback/followups/survey_list.html",
        {
            "responses": list(page.object_list),
            "page": page,
            "channel": channel,
            "channels": SurveyChannel.choices,
            "filters": [
                Filter("channel", _("Channel"), "select", channel, list(SurveyChannel.choices)),
                *date_range_filters(start, end),
            ],
        },
    )


def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One response: the answer to each item, with the visit, the customer and any recovery task."""
    response = selectors.survey_response_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_FEEDBACK, store_id=response.store_id)
    language = get_language() or "zh-hans"
    answers = [{"answer": a, "wording": a.item.wording(language)} for a in response.answers.all()]
    return render(
        request,
        "feedback/followups/survey_detail.html",
        {
            "response": response,
            "answers": answers,
            "recovery": _recovery_of(response),
            "can_handle": RECOVERY.may(RECOVERY.get("record"), actor=request.user, store_id=response.store_id),
        },
    )


# --------------------------------------------------------------------------------------------- survey QR


def order_survey_qr(request: HttpRequest, pk: int) -> HttpResponse:
    """The survey link of a delivered order as an SVG QR code, for the advisor to show at the hand-over."""
    order = RepairOrder.objects.select_related("store").get_for_user_or_404(request.user, pk=pk)
    if request.method not in ("GET", "HEAD"):  # after the lookup: another store's order stays a 404
        return HttpResponseNotAllowed(["GET", "HEAD"])
    # The survey link is the customer's (whoever holds it answers as the customer): only roles that send links.
    if not may_send_order_link(order=order, user=request.user):
        raise PermissionDenied(_("Your role may not do this."))
    if order.status != RepairOrderStatus.DELIVERED:
        raise Http404("The survey opens once the car is delivered.")
    buffer = io.BytesIO()
    segno.make(services.survey_link_url(order), error="m").save(buffer, kind="svg", scale=4, border=2)
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("feedback/follow-ups/", follow_up_queue, name="follow-up-queue"),
    path("feedback/follow-ups/<int:pk>/", follow_up_call, name="follow-up-call"),
    path("feedback/surveys/", survey_list, name="survey-list"),
    path("feedback/surveys/<int:pk>/", survey_detail, name="survey-detail"),
    path("feedback/orders/<int:pk>/survey-qr.svg", order_survey_qr, name="order-survey-qr"),
]
