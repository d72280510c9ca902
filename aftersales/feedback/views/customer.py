"""The customer's survey page, opened from the signed link (SMS invitation or the QR code at the hand-over):
no account, mobile first, in the link's language (`?lang=`, core/language.py), else the browser's.

Consent: without a survey consent on file the customer ticks a box (never pre-ticked, SPEC §10); the domain
records it as a consent given on the customer's link.  A visit already answered after the customer left (by
this link or on the follow-up call) is not asked again, so the follow-up score counts each visit once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from aftersales.core.exceptions import ApplicationError
from aftersales.core.language import customer_page
from aftersales.feedback import selectors, services
from aftersales.feedback.choices import FOLLOW_UP_CHANNELS, ComplaintPriority, FeedbackChannel, SurveyChannel
from aftersales.feedback.forms import CustomerComplaintForm, CustomerSurveyForm
from aftersales.feedback.models import RecoveryTask, SurveyResponse
from aftersales.organisation.rules import Party
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder


def _link_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "feedback/customer/link_error.html", {"message": exc.message}, status=403)


def _answered(order: RepairOrder) -> SurveyResponse | None:
    """The visit's follow-up answer (this link or the call), if any."""
    return (
        SurveyResponse.objects.filter(order=order, channel__in=FOLLOW_UP_CHANNELS)
        .select_related("recovery")
        .order_by("submitted_at", "id")
        .first()
    )


def _recovery_opened(response: SurveyResponse | None) -> bool:
    if response is None:
        return False
    try:
        return response.recovery is not None
    except RecoveryTask.DoesNotExist:
        return False


@login_not_required
@customer_page
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """The survey (`action=survey`, the default) and "Something went wrong? Tell us" (`action=complaint`)."""
    try:
        order = services.order_from_survey_token(token)
    except ApplicationError as exc:
        return _link_error(request, exc)
    action = request.POST.get("action", "survey") if request.method == "POST" else ""
    complaint_form = CustomerComplaintForm(request.POST if action == "complaint" else None, prefix="problem")
    if action == "complaint" and complaint_form.is_valid():
        try:
            services.complaint_log(
                store=order.store,
                customer=order.customer,
                order=order,
                channel=FeedbackChannel.CUSTOMER_PAGE,
                category=complaint_form.cleaned_data["category"],
                # Staff set the real priority when they take it; a customer's own report is never "general".
                priority=ComplaintPriority.IMPORTANT,
                description=complaint_form.cleaned_data["description"],
                by=Party.CUSTOMER,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for message in errors:
                    complaint_form.add_error(field if field in complaint_form.fields else None, message)
        except ApplicationError as exc:  # the link's cap on complaints per day / in all
            complaint_form.add_error(None, exc.message)
        else:
            return redirect(f"{request.path}?done=complaint")
    answered = _answered(order)
    context: dict[str, Any] = {
        "order": order,
        "store": order.store,
        "complaint_form": complaint_form,
        "done": request.GET.get("done", ""),
    }
    if answered is not None or order.status != RepairOrderStatus.DELIVERED:
        context.update(answered=answered, recovery=_recovery_opened(answered), not_delivered=answered is None)
        status = 400 if complaint_form.errors else 200
        return render(request, "feedback/customer/thanks.html", context, status=status)
    consent_on_file = services.survey_consent_on_file(order.customer)
    form = CustomerSurveyForm(
        request.POST if action == "survey" else None,
        items=selectors.survey_items(),
        language=get_language() or "zh-hans",
        consent_on_file=consent_on_file,
    )
    if action == "survey" and form.is_valid():
        try:
            with transaction.atomic():
                services.survey_response_record(
                    order=order,
                    channel=SurveyChannel.CUSTOMER_LINK,
                    answers=form.answers(),
                    expectations=form.expectations(),
                    consent_given=bool(form.cleaned_data.get("consent")),
                    by=Party.CUSTOMER,
                )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            code = exc.extra.get("code")
            if code == "already_answered":  # answered meanwhile (another tab, the call): show the thanks
                return redirect(request.path)
            if code == "no_survey_consent" and "consent" in form.fields:
                form.add_error("consent", _("Please tick the box so that we may record your answers."))
            else:
                form.add_error(None, exc.message)
        else:
            return redirect(f"{request.path}?done=survey")
    context.update(form=form, rows=form.survey_rows(), consent_on_file=consent_on_file)
    status = 400 if form.errors or complaint_form.errors else 200
    return render(request, "feedback/customer/survey.html", context, status=status)


urlpatterns = [
    path("feedback/survey/<str:token>/", survey_page, name="customer-survey"),
]
