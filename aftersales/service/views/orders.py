"""The repair order page and its actions, from inspection to delivery."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.access import require
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Bay
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service import selectors, services, transitions
from aftersales.service.choices import (
    DAMAGE_KINDS,
    DAMAGE_ZONES,
    STATUS_BADGES,
    AttachmentPurpose,
    EstimateStatus,
    LineDecision,
    LineKind,
)
from aftersales.service.forms import (
    AttachmentForm,
    DeliveryForm,
    DispatchForm,
    EstimateLineForm,
    InspectionForm,
    LineDecisionForm,
    OrderFactsForm,
    PartTraceForm,
    QualityCheckForm,
    TransitionForm,
    staff_choices,
)
from aftersales.service.models import Attachment, Estimate, EstimateLine, RepairOrder
from aftersales.service.services.links import order_link_token
from aftersales.service.services.orders import (
    bay_equipment_gaps,
    clock_state,
    eligible_technician_ids,
    qc_by_worker_refused,
)
from aftersales.service.transitions import DEFERRED_WORK, ESTIMATE_LINE, REPAIR_ORDER
from aftersales.service.views._common import (
    C,
    S,
    _field_errors,
    _next_or,
    _order_url,
    _require_move,
    transition_moves,
)
from aftersales.standards import selectors as standards_selectors
from aftersales.standards.choices import ProcedureStep


def _order(request: HttpRequest, pk: int) -> RepairOrder:
    order = selectors.order_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_SERVICE, store_id=order.store_id)
    return order


def _line(request: HttpRequest, pk: int) -> EstimateLine:
    return EstimateLine.objects.select_related(
        "estimate__order__store", "estimate__order__vehicle"
    ).get_for_user_or_404(request.user, pk=pk)


def _order_context(request: HttpRequest, order: RepairOrder, bound: dict[str, Any]) -> dict[str, Any]:
    """Everything the order page shows, in a fixed number of queries whatever the number of lines."""
    user, store_id = request.user, order.store_id
    # What the page offers comes from the rulebook the services enforce (state aside: the sections show by state).
    can = {
        m.name: REPAIR_ORDER.may(m, actor=user, store_id=store_id, assignee_id=order.technician_id)
        for m in REPAIR_ORDER.moves
    }
    can["decide"] = ESTIMATE_LINE.may(ESTIMATE_LINE.get("approve"), actor=user, store_id=store_id)
    can["deferred"] = DEFERRED_WORK.may(DEFERRED_WORK.get("dismiss"), actor=user, store_id=store_id)
    can["evidence"] = can["evidence"] and order.status in transitions.OPEN_STATES
    page = selectors.order_page(order, include_drafts=True)
    draft = next((view for view in page.estimates if view.estimate.status == EstimateStatus.DRAFT), None)
    sent = [view for view in page.estimates if view.estimate.status != EstimateStatus.DRAFT]
    draft_parts = [lv.line for lv in draft.lines if lv.line.kind == LineKind.PART] if draft else []
    all_lines = [lv.line for view in page.estimates for lv in view.lines]
    editable = order.status in transitions.ESTIMATE_EDITABLE
    now = clock.now()
    values = setting_values_for_store(order.store)
    clocks = clock_state(order, now, values)
    on_site = None
    if order.delivered_at is not None:  # the clock stops at delivery: the time the car spent with us
        minutes = int((order.delivered_at - order.arrived_at).total_seconds() // 60)
        on_site = {"hours": minutes // 60, "minutes": minutes % 60}
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
    if can["assign"] and order.status in transitions.OPEN_STATES:
        technicians = staff_choices({store_id}, [Role.TECHNICIAN, Role.FOREMAN])[store_id]
        # Offered: those the job may go to by grade and HV certificate (staff records), and the one assigned.
        allowed = eligible_technician_ids(order, [pk for pk, _label in technicians])
        technicians = [(pk, label) for pk, label in technicians if pk == order.technician_id or pk in allowed]
        bays = list(Bay.objects.for_stores([store_id]).filter(is_active=True).order_by("code"))
    transition_forms = []
    for m in transition_moves(order, user):
        form = bound.get("transition_form")
        if form is None or form.data.get("to") != m.target:
            form = TransitionForm(initial={"to": m.target})
        transition_forms.append({"target": m.target, "label": m.label, "needs_reason": m.needs_reason, "form": form})
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
    # The SOP versions whose checklists this state of the order shows (read only where a form needs them).
    reception_sop = _sop(order, ProcedureStep.RECEPTION) if order.status == S.RECEPTION else None
    qc_sop = _sop(order, ProcedureStep.QC) if order.status == S.QC and can.get("qc_pass") else None
    delivery_sop = _sop(order, ProcedureStep.DELIVERY) if order.status == S.READY and can.get("deliver") else None
    inspection_form = bound.get("inspection_form") or InspectionForm(
        initial=InspectionForm.initial_for(order), items=_sop_items(reception_sop)
    )
    facts_form = bound.get("facts_form") or OrderFactsForm(
        store=order.store,
        initial={
            "concern_category": order.concern_category.code if order.concern_category else "",
            "waits_on_site": order.waits_on_site,
            "arrived_at": timezone.localtime(order.arrived_at),
        },
    )
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
        "on_site": on_site,
        "now": now,
        "is_open": order.status in transitions.OPEN_STATES,
        "bay_warnings": bay_equipment_gaps(order.bay, all_lines) if order.status in transitions.OPEN_STATES else [],
        "qc_own_work": order.status == S.QC and qc_by_worker_refused(order, user),
        "batch_pending": [line for line in page.parts if not line.batch_number] if order.status == S.READY else [],
        "customer_link": request.build_absolute_uri(reverse("service:customer-order", args=[order_link_token(order)]))
        if can["send_link"]
        else "",
        "draft": draft,
        "sent": sent,
        "editable": editable,
        "line_forms": line_forms,
        "alternatives": alternatives,
        "attachment_form": bound.get("attachment_form")
        or AttachmentForm(initial={"purpose": AttachmentPurpose.INSPECTION}, lines=all_lines),
        "evidence_lines": all_lines,
        "inspection_form": inspection_form,
        "facts_form": facts_form,
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
        "qc_form": bound.get("qc_form") or QualityCheckForm(items=_sop_items(qc_sop)),
        "reception_sop": reception_sop,
        "qc_sop": qc_sop,
        "delivery_sop": delivery_sop,
        "quality_checks": list(order.quality_checks.select_related("by__staff_profile").order_by("at", "id")),
        "trace_forms": trace_forms,
        "delivery_form": bound.get("delivery_form") or DeliveryForm(items=_sop_items(delivery_sop)),
        "decision_form": LineDecisionForm(),
        "deferred": [
            item for item in deferred if item.source_line is None or item.source_line.estimate.order_id != order.pk
        ],
        "S": S,
        "LineDecision": LineDecision,
        "LineKind": LineKind,
    }


def _sop(order: RepairOrder, step: str) -> Any:
    """The standard operating procedure version in force for `step` in the order's store (standards)."""
    return standards_selectors.current_version(store=order.store, step=step)


def _sop_items(version: Any) -> list[Any] | None:
    return standards_selectors.version_items(version) if version is not None else None


def _order_page(request: HttpRequest, order: RepairOrder, status: int = 200, **bound: Any) -> HttpResponse:
    return render(request, "service/order_detail.html", _order_context(request, order, bound), status=status)


def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    return _order_page(request, order)


@require_POST
def order_inspection(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    _require_move(request, order, "inspect")
    form = InspectionForm(request.POST, items=_sop_items(_sop(order, ProcedureStep.RECEPTION)))
    if form.is_valid():
        try:
            services.inspection_record(
                order=order,
                by=request.user,
                checklist=form.sop_ticks(),
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
    _require_move(request, order, "evidence")
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
    _require_move(request, order, "estimate")
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
    _require_move(request, order, "estimate")
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
    _require_move(request, estimate.order, "estimate")
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
    if not ESTIMATE_LINE.may(ESTIMATE_LINE.get("approve"), actor=request.user, store_id=order.store_id):
        raise PermissionDenied(_("Your role may not do this."))
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
def estimate_choice_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """A choice between alternatives noted by the advisor: the option picked approved (the others declined), or
    every option declined ("neither for now")."""
    order = _order(request, pk)
    if not ESTIMATE_LINE.may(ESTIMATE_LINE.get("approve"), actor=request.user, store_id=order.store_id):
        raise PermissionDenied(_("Your role may not do this."))
    raw = request.POST.get("line", "")
    line = (
        EstimateLine.objects.filter(pk=int(raw), estimate__order=order).exclude(choice_group=None).first()
        if raw.isdigit() and len(raw) <= 12
        else None
    )
    form = LineDecisionForm(request.POST)
    if line is None:
        messages.error(request, _("Choose one of the options."))
        return redirect(_order_url(order, "estimate"))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.estimate_line_decide(
                line=line, by=request.user, whole_group=data["decision"] == LineDecision.DECLINED, **data
            )
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
    _require_move(request, order, "part_trace")
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
    _require_move(request, order, "assign")
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
            for warning in getattr(order, "dispatch_warnings", []):
                messages.warning(request, warning)
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
    _require_move(request, order, "qc_pass")
    form = QualityCheckForm(request.POST, items=_sop_items(_sop(order, ProcedureStep.QC)))
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
    _require_move(request, order, "deliver")
    form = DeliveryForm(request.POST, items=_sop_items(_sop(order, ProcedureStep.DELIVERY)))
    if form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if not name.startswith(form.sop_prefix)}
        try:
            services.repair_order_deliver(order=order, by=request.user, checklist=form.sop_ticks(), **fields)
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
    require(request.user, C.VIEW_SERVICE, store_id=attachment.order.store_id)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------------------------- workshop


# --------------------------------------------------------------------------------------------- the KPI facts


@require_POST
def order_facts(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the reception facts: concern category, waiting on site, the arrival (at reception)."""
    order = _order(request, pk)
    _require_move(request, order, "record_facts")
    form = OrderFactsForm(request.POST, store=order.store)
    if form.is_valid():
        values = form.fact_values()
        try:
            services.repair_order_facts_update(
                order=order,
                by=request.user,
                concern_category=values["concern_category"],
                waits_on_site=values["waits_on_site"],
                arrived_at=values["arrived_at"] if order.status == S.RECEPTION else None,
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_order_url(order, "facts"))
        else:
            messages.success(request, _("Reception facts saved."))
            return redirect(_order_url(order, "facts"))
    return _order_page(request, order, status=400, facts_form=form)


@require_POST
def order_receive(request: HttpRequest, pk: int) -> HttpResponse:
    """The advisor takes the customer now."""
    order = _order(request, pk)
    _require_move(request, order, "receive")
    try:
        services.repair_order_receive(order=order, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Reception started."))
    return redirect(_order_url(order, "facts"))


@require_POST
def order_comeback(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Confirm the suggested comeback link, or clear it (the advisor's decision is kept)."""
    order = _order(request, pk)
    _require_move(request, order, "comeback")
    try:
        if action == "confirm":
            services.repair_order_comeback_confirm(order=order, by=request.user)
        else:
            services.repair_order_comeback_clear(order=order, by=request.user)
    except ValidationError as exc:
        messages.error(request, _field_errors(exc))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as a comeback.") if action == "confirm" else _("Marked as not a comeback."))
    return redirect(_order_url(order, "facts"))
