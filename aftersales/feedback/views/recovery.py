"""Service recovery (服务补救): the open tasks with their 1-hour clock (the user's own first) and the page where
the advisor reads the low score and records what came of the call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.calendar import format_countdown, remaining
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import page_of
from aftersales.customers.validators import mask_mobile
from aftersales.feedback import selectors, services
from aftersales.feedback.choices import RecoveryStatus
from aftersales.feedback.forms import RecoveryOutcomeForm
from aftersales.feedback.models import RecoveryTask
from aftersales.feedback.transitions import RECOVERY, offers, recovery_moves_for
from aftersales.feedback.views.followups import complaint_link
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability

C = Capability
DONE_SHOWN = 20  # the most recent closed tasks under the open ones
DONE_DAYS = 30


def _clock(task: RecoveryTask, now: dt.datetime) -> dict[str, Any]:
    left = remaining(task.due_at, now)
    return {"task": task, "overdue": left < dt.timedelta(0), "countdown": format_countdown(left)}


def recovery_list(request: HttpRequest) -> HttpResponse:
    """Open tasks, the user's own first then by due time; the recently closed ones below.  Whoever reads the
    voice of the customer reads them (the group manager sees what is escalated to the group); recording an
    outcome is the rulebook's `record` move, offered on the task's page."""
    require(request.user, C.VIEW_FEEDBACK)
    now = clock.now()
    tasks = selectors.recovery_task_list(
        user=request.user, store_ids=current_store_ids(request), capability=C.VIEW_FEEDBACK
    )
    own = Case(When(advisor_id=request.user.pk, then=Value(0)), default=Value(1))
    open_all = tasks.filter(status=RecoveryStatus.OPEN)
    # Own tasks first, each group in due order; a page at a time.
    page = page_of(request, open_all.order_by(own, "due_at", "id"))
    open_tasks = list(page.object_list)
    done = list(
        tasks.filter(status=RecoveryStatus.DONE, closed_at__gte=now - dt.timedelta(days=DONE_DAYS)).order_by(
            "-closed_at", "-id"
        )[:DONE_SHOWN]
    )
    return render(
        request,
        "feedback/recovery/list.html",
        {
            "open_rows": [_clock(t, now) for t in open_tasks],
            "page": page,
            "done": done,
            "done_days": DONE_DAYS,
            "own_open": open_all.filter(advisor_id=request.user.pk).count(),
        },
    )


def recovery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The low score's answers, the customer and the visit, and the outcome form."""
    task = selectors.recovery_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_FEEDBACK, store_id=task.store_id)
    if request.method == "POST":
        RECOVERY.authorise(RECOVERY.get("record"), actor=request.user, store_id=task.store_id)
    may_record = offers(recovery_moves_for(task=task, user=request.user), "record")
    form = RecoveryOutcomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.recovery_record(task=task, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Recovery outcome recorded."))
            return redirect("feedback:recovery-list")
    response = selectors.survey_response_get_for_user(user=request.user, pk=task.response_id)
    language = get_language() or "zh-hans"
    customer = response.customer
    return render(
        request,
        "feedback/recovery/detail.html",
        {
            "task": task,
            "clock": _clock(task, clock.now()),
            "response": response,
            "answers": [{"answer": a, "wording": a.item.wording(language)} for a in response.answers.all()],
            "customer": customer,
            "order": task.order,
            "phone": mask_mobile(customer.phone),
            "can_see_customer": can(request.user, C.VIEW_CUSTOMERS, store_id=task.store_id),
            "form": form,
            "is_open": task.status == RecoveryStatus.OPEN,
            "may_record": may_record,
            "complaint_url": complaint_link(customer_id=customer.pk, order_id=task.order_id),
        },
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("feedback/recovery/", recovery_list, name="recovery-list"),
    path("feedback/recovery/<int:pk>/", recovery_detail, name="recovery-detail"),
]
