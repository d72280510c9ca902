"""CAPA pages (纠正预防措施): the list, opening one from a complaint or a frequent-issue cluster, and the page
that walks it through 问题反馈 → 根源分析 → 措施制定 → 效果验证 → 流程固化."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import page_of
from aftersales.core.scoping import store_ids_where
from aftersales.feedback import selectors, services
from aftersales.feedback.choices import CAPA_BADGES, CapaStatus, ComplaintCategory
from aftersales.feedback.forms_capa import (
    KPI_SUGGESTIONS,
    CapaActionForm,
    CapaOpenForm,
    CapaProcedureForm,
    CapaTransitionForm,
    CapaUpdateForm,
    parse_month,
)
from aftersales.feedback.models import Capa, CapaAction, Complaint
from aftersales.feedback.transitions import (
    CAPA,
    CAPA_ACTION_OWNER_ROLES,
    CAPA_EDITABLE,
    TRANSITION,
    capa_action_moves_for,
    capa_moves_for,
    capa_step,
    offers,
)
from aftersales.organisation.access import require, staff_member
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.service.forms import staff_choices
from aftersales.standards import selectors as standards_selectors
from aftersales.standards.models import ProcedureVersion

C = Capability
S = CapaStatus
# The five steps of SPEC §4, one per status; the current one is highlighted on the detail page.
STEPS = (
    (S.OPEN, gettext_lazy("Report the problem")),
    (S.ANALYSING, gettext_lazy("Analyse the root cause")),
    (S.ACTING, gettext_lazy("Plan and act")),
    (S.VERIFYING, gettext_lazy("Verify the effect")),
    (S.CLOSED, gettext_lazy("Fix the procedure")),
)
BUTTON_LABELS = {
    S.ANALYSING: gettext_lazy("Start the root-cause analysis"),
    S.ACTING: gettext_lazy("Root cause found: start the actions"),
    S.VERIFYING: gettext_lazy("Actions done: verify the effect"),
    S.CLOSED: gettext_lazy("Effect verified: close with the procedure change"),
}
# The cards of the detail page that post to capa-update, each with its own fields.
UPDATE_SECTIONS = {
    "analysis": ("root_cause",),
    "verification": ("kpi_name", "kpi_before", "kpi_after"),
    "procedure": ("procedure_change",),
}
BACK_LABEL = gettext_lazy("Not improved: back to the actions")
# Roles that may own a corrective action (the rulebook's: whoever may mark their own action done).
OWNER_ROLES = CAPA_ACTION_OWNER_ROLES


# --------------------------------------------------------------------------------------------- helpers


def _capa(request: HttpRequest, pk: int) -> Capa:
    """Store-scoped first (another store's CAPA is 404 for everyone), then the role in its store."""
    capa = selectors.capa_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_FEEDBACK, store_id=capa.store_id)
    return capa


def _detail_url(capa: Capa, anchor: str = "") -> str:
    return reverse("feedback:capa-detail", args=[capa.pk]) + (f"#{anchor}" if anchor else "")


def _complaint_url(complaint_id: int | None) -> str:
    return "" if complaint_id is None else reverse("feedback:complaint-detail", args=[complaint_id])


def _manage_stores(request: HttpRequest) -> list[Store]:
    """The stores where the user may open a CAPA: the chosen store, or each of theirs that allows it."""
    chosen = current_store(request)
    stores = [chosen] if chosen else list(Store.objects.for_user(request.user).filter(is_active=True).order_by("code"))
    opening = CAPA.get("open")
    return [store for store in stores if CAPA.may(opening, actor=request.user, store_id=store.pk)]


def _action_rows(capa: Capa) -> list[dict[str, Any]]:
    today = clock.today()
    return [
        {"action": a, "overdue": a.done_at is None and a.due_date < today}
        for a in capa.actions.all()  # prefetched by the selector, with the owners
    ]


def _missing_for(capa: Capa, target: str, actions: list[CapaAction]) -> list[str]:
    """What the page can already say is missing for `target`, from the CAPA as loaded; it mirrors the guards of
    services.capa so the button can warn beforehand — the service still decides."""
    missing = []
    if target == S.ACTING:
        if not capa.root_cause.strip():
            missing.append(_("the root cause"))
        if not actions:
            missing.append(_("at least one corrective action"))
    elif target == S.VERIFYING:
        if any(a.done_at is None for a in actions):
            missing.append(_("every corrective action done"))
    elif target == S.CLOSED:
        named = capa.kpi_name.strip() or (capa.kpi_key and capa.kpi_verified_at)
        if not named or capa.kpi_before is None or capa.kpi_after is None:
            missing.append(_("the KPI with its figures before and after"))
        if not capa.procedure_change.strip() and capa.procedure_version_id is None:
            missing.append(_("the standard-procedure change"))
    return missing


# ------------------------------------------------------------------------------------------------ list


def capa_list(request: HttpRequest) -> HttpResponse:
    """Every CAPA of the user's stores, newest first: status, source, owner, actions done and overdue."""
    require(request.user, C.VIEW_FEEDBACK)
    user = request.user
    store_ids = current_store_ids(request) & store_ids_where(user, C.VIEW_FEEDBACK)
    status = request.GET.get("status", "")
    status = status if status in S.values else ""
    source = request.GET.get("source", "")
    source = source if source in ("complaint", "cluster") else ""
    capas = selectors.capa_list(user=user, store_ids=store_ids, status=status or None).select_related(
        "opened_by__staff_profile"
    )
    if source:
        # A CAPA opened from an early warning (a KPI) is neither.
        capas = (
            capas.filter(complaint__isnull=False)
            if source == "complaint"
            else capas.filter(complaint__isnull=True, cluster_month__isnull=False)
        )
    counts = dict(
        Capa.objects.for_user(user, store_ids=store_ids).order_by().values_list("status").annotate(n=Count("id"))
    )
    page = page_of(request, capas)
    today = clock.today()
    rows = []
    for capa in page:
        actions = list(capa.actions.all())
        rows.append(
            {
                "capa": capa,
                "badge": CAPA_BADGES[capa.status],
                "done": sum(1 for a in actions if a.done_at is not None),
                "total": len(actions),
                "overdue": sum(1 for a in actions if a.done_at is None and a.due_date < today),
                "complaint_url": _complaint_url(capa.complaint_id),
            }
        )
    return render(
        request,
        "feedback/capa/list.html",
        {
            "rows": rows,
            "page": page,
            "status": status,
            "source": source,
            "tabs": [{"value": value, "label": label, "count": counts.get(value, 0)} for value, label in S.choices],
            "total": sum(counts.values()),
            "can_open": bool(_manage_stores(request)),
            "several_stores": len(store_ids) > 1,
        },
    )


# ---------------------------------------------------------------------------------------------- create


def capa_create(request: HttpRequest) -> HttpResponse:
    """Open a CAPA from one complaint (?complaint=<id>) or from a cluster (?category=…&month=YYYY-MM, optionally
    &title=…&store=<id>, as the frequent issues in comments send)."""
    opening = CAPA.get("open")
    require(request.user, *opening.capabilities)
    complaint: Complaint | None = None
    raw_complaint = request.GET.get("complaint", "")
    # From an early warning (?kpi=<catalogue key>&store=<id>&title=…): the KPI is the source.
    kpi_key = request.GET.get("kpi", "")
    kpi_label = services.capa_kpi_labels().get(kpi_key) if kpi_key and not raw_complaint else None
    if kpi_label is None:
        kpi_key = ""
    if raw_complaint:
        complaint = selectors.complaint_get_for_user(user=request.user, pk=raw_complaint)
        CAPA.authorise(opening, actor=request.user, store_id=complaint.store_id)
        stores = [complaint.store]
    else:
        stores = _manage_stores(request)
        if not stores:
            raise PermissionDenied(_("Your role may not open a CAPA in this store."))
    initial = _open_initial(request, complaint, stores, kpi_key)
    form = CapaOpenForm(
        request.POST or None,
        stores=stores,
        from_complaint=complaint is not None,
        from_kpi=bool(kpi_key),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        store = form.chosen_store()
        try:
            capa = services.capa_open(
                store=store,
                by=request.user,
                title=form.cleaned_data["title"],
                complaint=complaint,
                cluster_category=form.cleaned_data.get("cluster_category", ""),
                cluster_month=form.cleaned_data.get("cluster_month"),
                kpi_key=kpi_key,
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("CAPA opened. Next: find the root cause."))
            return redirect("feedback:capa-detail", pk=capa.pk)
    cluster = _cluster_preview(request, form, stores) if complaint is None and not kpi_key else None
    return render(
        request,
        "feedback/capa/form.html",
        {
            "form": form,
            "complaint": complaint,
            "complaint_url": _complaint_url(complaint.pk if complaint else None),
            "cluster": cluster,
            "kpi_label": kpi_label if kpi_key else None,
        },
        status=400 if form.errors else 200,
    )


def _open_initial(
    request: HttpRequest, complaint: Complaint | None, stores: list[Store], kpi_key: str
) -> dict[str, Any]:
    if complaint is not None:
        summary = " ".join(complaint.description.split())[:60]
        return {"title": f"{complaint.get_category_display()}: {summary}"}
    if kpi_key:
        initial: dict[str, Any] = {"title": " ".join(request.GET.get("title", "").split())[:200]}
        raw_store = request.GET.get("store", "")
        if raw_store.isdigit() and int(raw_store) in {store.pk for store in stores}:
            initial["store"] = int(raw_store)
        return initial
    category = request.GET.get("category", "")
    initial = {}
    if category in ComplaintCategory.values:
        initial["cluster_category"] = category
    try:
        month = parse_month(request.GET.get("month", ""))
    except ValueError:
        month = None
    if month is not None:
        initial["cluster_month"] = month.strftime("%Y-%m")
    if category in ComplaintCategory.values and month is not None:
        initial["title"] = _("Frequent issue: {category}, {month}").format(
            category=ComplaintCategory(category).label, month=month.strftime("%Y-%m")
        )
    # From an issue found in the customers' comments (analytics' frequent-issues page): its own title and store.
    title = " ".join(request.GET.get("title", "").split())[:200]
    if title:
        initial["title"] = title
    raw_store = request.GET.get("store", "")
    if raw_store.isdigit() and int(raw_store) in {store.pk for store in stores}:
        initial["store"] = int(raw_store)
    return initial


def _cluster_preview(request: HttpRequest, form: CapaOpenForm, stores: list[Store]) -> dict[str, Any] | None:
    """The complaints of the cluster being opened (category and month as chosen), so the manager sees what
    the CAPA is about; at most ten listed, all counted."""
    category = form["cluster_category"].value()
    try:
        month = parse_month(str(form["cluster_month"].value() or ""))
    except ValueError:
        return None
    if category not in ComplaintCategory.values:
        return None
    start, end = selectors.month_bounds(month)
    complaints = selectors.complaint_list(user=request.user, store_ids=frozenset(store.pk for store in stores)).filter(
        category=category, received_at__gte=start, received_at__lt=end
    )
    return {
        "category": ComplaintCategory(category).label,
        "month": month,
        "count": complaints.count(),
        "complaints": [{"complaint": c, "url": _complaint_url(c.pk)} for c in complaints[:10]],
    }


# ---------------------------------------------------------------------------------------------- detail


def _detail_context(request: HttpRequest, capa: Capa, bound: dict[str, Any]) -> dict[str, Any]:
    """The detail page in a fixed number of queries, whatever the number of actions and events."""
    user = request.user
    moves = capa_moves_for(capa=capa, user=user)
    can_edit = offers(moves, "edit")  # only while the CAPA is editable
    editable = capa.status in CAPA_EDITABLE
    rows = _action_rows(capa)
    actions = [row["action"] for row in rows]
    for row in rows:
        row["can_mark_done"] = offers(capa_action_moves_for(capa=capa, action=row["action"], user=user), "action_done")
    current = [value for value, _label in STEPS].index(capa.status)
    steps = [
        {"status": value, "label": label, "done": i < current or capa.status == S.CLOSED, "current": i == current}
        for i, (value, label) in enumerate(STEPS)
    ]
    transition_forms = []
    forward = [value for value, _label in STEPS]
    targets = [str(m.target) for m in moves if m.via == TRANSITION and m.target]
    if targets:
        for target in sorted(targets, key=lambda t: forward.index(t) < current):
            form = bound.get("transition_form")
            if form is None or form.data.get("to") != target:
                form = CapaTransitionForm(initial={"to": target}, auto_id=f"transition-{target}-%s")
            back = forward.index(target) < current
            transition_forms.append(
                {
                    "target": target,
                    "label": BACK_LABEL if back else BUTTON_LABELS[target],
                    "back": back,
                    "missing": [] if back else _missing_for(capa, target, actions),
                    "form": form,
                }
            )
    staff = staff_choices({capa.store_id}, OWNER_ROLES)[capa.store_id] if can_edit else []
    # Each card shows its own fields; only the card that was posted shows the posted values and errors.
    stored = CapaUpdateForm(
        initial={
            "root_cause": capa.root_cause,
            "kpi_name": capa.kpi_name,
            "kpi_before": capa.kpi_before,
            "kpi_after": capa.kpi_after,
            "procedure_change": capa.procedure_change,
        }
    )
    update_forms = dict.fromkeys(UPDATE_SECTIONS, stored)
    if "update_form" in bound:
        posted = bound["update_form"]
        for section, fields in UPDATE_SECTIONS.items():
            if any(name in posted.data for name in fields):
                update_forms[section] = posted
    sop_version = (
        ProcedureVersion.objects.select_related("procedure").prefetch_related("items").get(pk=capa.procedure_version_id)
        if capa.procedure_version_id
        else None
    )
    improvement = None
    if capa.kpi_before is not None and capa.kpi_after is not None:
        improvement = capa.kpi_after - capa.kpi_before
    catalogue = services.capa_kpi_labels()
    return {
        "capa": capa,
        "badge": CAPA_BADGES[capa.status],
        "steps": steps,
        "complaint_url": _complaint_url(capa.complaint_id),
        "can_manage": can_edit,
        "editable": editable,
        "action_rows": rows,
        "actions_done": sum(1 for a in actions if a.done_at is not None),
        "events": list(capa.events.select_related("by__staff_profile")),
        "update_forms": update_forms,
        "action_form": bound.get("action_form") or CapaActionForm(staff=staff),
        "transition_forms": transition_forms,
        "transition_error": bound.get("transition_error", ""),
        "kpi_suggestions": [str(kpi) for kpi in KPI_SUGGESTIONS],
        "procedure_form": bound.get("procedure_form") or CapaProcedureForm(auto_id="procedure-%s"),
        "sop_version": sop_version,
        "sop_items": standards_selectors.version_items(sop_version) if sop_version else [],
        "may_edit_sop": sop_version is not None
        and sop_version.status == "draft"
        and standards_selectors.may_manage(
            user, group_id=sop_version.procedure.group_id, store_id=sop_version.procedure.store_id
        ),
        "improvement": improvement,
        # The catalogue KPI verifying it (figures computed on the analytics page, never typed).
        "kpi_label": catalogue.get(capa.kpi_key, capa.kpi_key) if capa.kpi_key else capa.kpi_name,
        # Offered to those who may read the store's figures (the analytics page refuses anyone else).
        "kpi_verify_url": (
            services.capa_kpi_verify_url(capa)
            if catalogue and user_can(user, Capability.VIEW_KPIS, capa.store_id)
            else ""
        ),
        "S": S,
    }


def _detail_page(request: HttpRequest, capa: Capa, status: int = 200, **bound: Any) -> HttpResponse:
    return render(request, "feedback/capa/detail.html", _detail_context(request, capa, bound), status=status)


def capa_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _capa(request, pk))


@require_POST
def capa_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Root cause, the KPI with its figures, the procedure change: each card posts only its own fields."""
    capa = _capa(request, pk)
    CAPA.authorise(CAPA.get("edit"), actor=request.user, store_id=capa.store_id)
    form = CapaUpdateForm(request.POST)
    section = request.POST.get("section", "")
    anchor = section if section in UPDATE_SECTIONS else ""
    if form.is_valid():
        changes = form.changes(request.POST)
        try:
            services.capa_update(capa=capa, by=request.user, **changes)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(capa, anchor))
        else:
            messages.success(request, _("Saved."))
            return redirect(_detail_url(capa, anchor))
    return _detail_page(request, capa, status=400, update_form=form)


@require_POST
def capa_procedure(request: HttpRequest, pk: int) -> HttpResponse:
    """The procedure-change step: pick the SOP and draft its new version (then written in the SOP editor)."""
    capa = _capa(request, pk)
    CAPA.authorise(CAPA.get("edit"), actor=request.user, store_id=capa.store_id)
    form = CapaProcedureForm(request.POST, auto_id="procedure-%s")
    if form.is_valid():
        try:
            version = services.capa_procedure_draft(capa=capa, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except PermissionDenied:
            form.add_error(None, _("Your role may not change this procedure: choose this store's variant."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(capa, "procedure"))
        else:
            messages.success(
                request,
                _(
                    "Draft {code} v{number} linked: write the new text and items, then close the CAPA to publish it."
                ).format(code=version.procedure.code, number=version.number),
            )
            return redirect(reverse("standards:draft", args=[version.procedure_id]))
    return _detail_page(request, capa, status=400, procedure_form=form)


@require_POST
def capa_action_add(request: HttpRequest, pk: int) -> HttpResponse:
    capa = _capa(request, pk)
    CAPA.authorise(CAPA.get("edit"), actor=request.user, store_id=capa.store_id)
    staff = staff_choices({capa.store_id}, OWNER_ROLES)[capa.store_id]
    form = CapaActionForm(request.POST, staff=staff)
    if form.is_valid():
        try:
            owner = staff_member(
                int(form.cleaned_data["owner"]), store_id=capa.store_id, field="owner", roles=OWNER_ROLES
            )
            services.capa_action_add(
                capa=capa,
                by=request.user,
                description=form.cleaned_data["description"],
                owner=owner,
                due_date=form.cleaned_data["due_date"],
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(capa, "actions"))
        else:
            messages.success(request, _("Corrective action added."))
            return redirect(_detail_url(capa, "actions"))
    return _detail_page(request, capa, status=400, action_form=form)


@require_POST
def capa_action_done(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    """A manager, or the action's own owner, marks it done."""
    capa = _capa(request, pk)
    action = selectors.capa_action_get(capa=capa, pk=action_pk)
    CAPA.authorise(CAPA.get("action_done"), actor=request.user, store_id=capa.store_id, assignee_id=action.owner_id)
    try:
        services.capa_action_done(action=action, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Action marked done."))
    return redirect(_detail_url(capa, "actions"))


@require_POST
def capa_transition(request: HttpRequest, pk: int) -> HttpResponse:
    capa = _capa(request, pk)
    CAPA.authorise(capa_step(capa.status, request.POST.get("to")), actor=request.user, store_id=capa.store_id)
    form = CapaTransitionForm(request.POST)
    if not form.is_valid():
        return _detail_page(
            request, capa, status=400, transition_form=form, transition_error=_("Choose the next step.")
        )
    target = form.cleaned_data["to"]
    try:
        services.capa_transition(capa=capa, to=target, by=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        return _detail_page(request, capa, status=400, transition_form=form, transition_error=" ".join(exc.messages))
    except ApplicationError as exc:
        # The guards name what is missing ("Record the root cause first."); shown next to the buttons.
        return _detail_page(request, capa, status=400, transition_form=form, transition_error=exc.message)
    messages.success(request, _("The CAPA is now: {state}.").format(state=S(target).label))
    return redirect(_detail_url(capa))


urlpatterns: list[URLPattern] = [
    path("feedback/capa/", capa_list, name="capa-list"),
    path("feedback/capa/new/", capa_create, name="capa-create"),
    path("feedback/capa/<int:pk>/", capa_detail, name="capa-detail"),
    path("feedback/capa/<int:pk>/update/", capa_update, name="capa-update"),
    path("feedback/capa/<int:pk>/procedure/", capa_procedure, name="capa-procedure"),
    path("feedback/capa/<int:pk>/actions/", capa_action_add, name="capa-action-add"),
    path("feedback/capa/<int:pk>/actions/<int:action_pk>/done/", capa_action_done, name="capa-action-done"),
    path("feedback/capa/<int:pk>/transition/", capa_transition, name="capa-transition"),
]
