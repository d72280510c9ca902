"""The auditor's checklist on a phone: one card per item with pass / fail / n.a. (n.a. only where the item allows
it), a note and photos from the camera, each saved on its own (htmx, or a plain post without JavaScript); the
progress and the live score preview; the mystery shopper's channel and time, the video reference of a video check,
the sampled order of a spot check; start, submit and cancel as the rulebook offers them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.audits import selectors_pages, services
from aftersales.audits.choices import SPOT_CHECK_KINDS, AuditKind, AuditStatus
from aftersales.audits.forms import AnswerForm, CancelForm, SubmitForm
from aftersales.audits.models import Audit, AuditChecklistItem
from aftersales.audits.views._common import STATUS_BADGES, audit_for, audit_moves, audit_url, fill_url
from aftersales.organisation.access import can
from aftersales.organisation.permissions import Capability as C


def _refuse_unless(move: str, moves: set[str]) -> None:
    if move not in moves:
        raise PermissionDenied(_("Your role may not do this."))


def _order_facts(audit: Audit, user: Any) -> dict[str, Any] | None:
    """The sampled order of a spot check: its number and, for who may open orders, a link."""
    order = audit.order
    if order is None:
        return None
    return {
        "number": order.number,
        "delivered_at": order.delivered_at,
        "service_type": order.get_service_type_display(),
        "may_open": can(user, C.VIEW_SERVICE, store_id=audit.store_id),
        "pk": order.pk,
    }


def _page(
    request: HttpRequest,
    audit: Audit,
    moves: set[str],
    *,
    submit_form: SubmitForm | None = None,
    cancel_form: CancelForm | None = None,
    errors: dict[int, AnswerForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    state = selectors_pages.fill_state(audit)
    initial = {
        "channel": audit.channel,
        "performed_at": timezone.localtime(audit.performed_at) if audit.performed_at else None,
        "video_reference": audit.video_reference,
        "summary": audit.summary,
    }
    return render(
        request,
        "audits/fill.html",
        {
            "audit": audit,
            "moves": moves,
            "may_answer": "answer" in moves,
            "state": state,
            "cards": [_card(audit, item, state, errors or {}) for item in state.items],
            "submit_form": submit_form or SubmitForm(kind=audit.kind, initial=initial),
            "cancel_form": cancel_form or CancelForm(),
            "order": _order_facts(audit, request.user),
            "badges": STATUS_BADGES,
            "is_spot_check": audit.kind in SPOT_CHECK_KINDS,
            "is_mystery": audit.kind == AuditKind.MYSTERY_SHOPPER,
        },
        status=status,
    )


def _card(audit: Audit, item: AuditChecklistItem, state: selectors_pages.FillState, errors: dict[int, Any]) -> Any:
    answer = state.answers.get(item.pk)
    return {
        "item": item,
        "answer": answer,
        "photos": list(answer.photos.all()) if answer else [],
        "form": errors.get(item.pk),
        "number": state.items.index(item) + 1,
    }


def audit_fill(request: HttpRequest, pk: int) -> HttpResponse:
    """The checklist to fill in; a submitted or cancelled audit goes to its page."""
    audit = audit_for(request, pk)
    if audit.status in (AuditStatus.SUBMITTED, AuditStatus.CANCELLED):
        return redirect(audit_url(audit))
    moves = audit_moves(audit, request.user)
    if not moves & {"start", "answer", "submit"}:
        raise PermissionDenied(_("Your role may not do this."))
    return _page(request, audit, moves)


@require_POST
def audit_start(request: HttpRequest, pk: int) -> HttpResponse:
    audit = audit_for(request, pk)
    _refuse_unless("start", audit_moves(audit, request.user))
    try:
        services.audit_start(audit=audit, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(fill_url(audit))


@require_POST
def audit_answer(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    """Save one item's answer; to htmx the item's card again, with the progress and the score out of band."""
    audit = audit_for(request, pk)
    moves = audit_moves(audit, request.user)
    _refuse_unless("answer", moves)
    checklist_item = AuditChecklistItem.objects.filter(pk=item, checklist_id=audit.checklist_id).first()
    if checklist_item is None:
        raise Http404
    form = AnswerForm(request.POST, request.FILES, prefix=f"item-{checklist_item.pk}")
    saved = False
    if form.is_valid():
        try:
            services.audit_answer(
                audit=audit,
                by=request.user,
                item=checklist_item,
                result=form.cleaned_data["result"],
                note=form.cleaned_data["note"],
                photos=form.cleaned_data["photos"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            saved = True
    if not request.htmx:  # type: ignore[attr-defined]
        if saved:
            return redirect(fill_url(audit, f"item-{checklist_item.pk}"))
        return _page(request, audit, moves, errors={checklist_item.pk: form}, status=400)
    state = selectors_pages.fill_state(audit)
    return render(
        request,
        "audits/partials/answer_saved.html",
        {
            "audit": audit,
            "card": _card(audit, checklist_item, state, {} if saved else {checklist_item.pk: form}),
            "state": state,
            "may_answer": True,
            "saved": saved,
        },
        # htmx swaps only a 2xx answer: the refused card (its message next to the field) comes back as 200.
        status=200,
    )


@require_POST
def audit_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit: the score is computed and the failed items become findings; the store sees the audit from now on."""
    audit = audit_for(request, pk)
    moves = audit_moves(audit, request.user)
    _refuse_unless("submit", moves)
    form = SubmitForm(request.POST, kind=audit.kind)
    if form.is_valid():
        try:
            services.audit_submit(audit=audit, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Audit submitted."))
            return redirect(audit_url(audit))
    return _page(request, audit, moves, submit_form=form, status=400)


@require_POST
def audit_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    audit = audit_for(request, pk)
    moves = audit_moves(audit, request.user)
    _refuse_unless("cancel", moves)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.audit_cancel(audit=audit, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Audit cancelled."))
            return redirect(audit_url(audit))
    return _page(request, audit, moves, cancel_form=form, status=400)
