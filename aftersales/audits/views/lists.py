"""The audit list (three views of it: the quality department's quarter by status, the audited store's submitted
audits with their scores, an external auditor's audits to do), a submitted audit with its findings, and the open
and overdue findings of the stores with the forms to close one or open a CAPA from several alike."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from aftersales.audits import selectors, selectors_pages, services
from aftersales.audits.choices import AuditKind, AuditStatus, FindingStatus
from aftersales.audits.forms import CapaFromFindingsForm, FindingCloseForm
from aftersales.audits.models import Audit, AuditPhoto, Finding
from aftersales.audits.views._common import (
    FINDING_BADGES,
    STATUS_BADGES,
    audit_for,
    audit_moves,
    finding_for,
    finding_moves,
)
from aftersales.core import clock
from aftersales.core.pagination import Filter, choice_param, page_of
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C

# "In progress" is a repair order's state too (维修中): an audit's has its own words.
STATUS_LABELS = {AuditStatus.IN_PROGRESS: pgettext_lazy("audit status", "In progress")}
QUARTER_STATUSES = (AuditStatus.PLANNED, AuditStatus.IN_PROGRESS, AuditStatus.SUBMITTED, AuditStatus.CANCELLED)


def _stores(request: HttpRequest, *capabilities: C) -> list[Store]:
    ids = frozenset[int]().union(*(store_ids_where(request.user, c) for c in capabilities))
    return list(Store.objects.filter(pk__in=ids & current_store_ids(request)).order_by("code"))


def _store_param(request: HttpRequest, stores: list[Store]) -> Store | None:
    code = request.GET.get("store", "")
    return next((s for s in stores if s.code == code), None)


def _quarter_param(request: HttpRequest) -> tuple[int, int]:
    raw = request.GET.get("quarter", "")
    year, quarter = selectors_pages.quarter_of(clock.today())
    if len(raw) == 6 and raw[:4].isdigit() and raw[4] == "Q" and raw[5] in "1234":
        year, quarter = int(raw[:4]), int(raw[5])
        year = min(max(year, 2000), 2100)
    return year, quarter


def audit_list(request: HttpRequest) -> HttpResponse:
    """The quality department: every audit of the quarter by status, filtered by store, kind and status; the
    audited store: its submitted audits with score and findings; an external auditor: their audits to do."""
    user = request.user
    require(user, C.MANAGE_AUDITS, C.PERFORM_AUDITS, C.VIEW_AUDITS)
    manages = can(user, C.MANAGE_AUDITS)
    reads = can(user, C.VIEW_AUDITS)
    mine = list(selectors.my_audits(user).select_related("store", "checklist", "order").order_by("due_date", "id")[:50])
    context: dict[str, Any] = {"mine": mine, "manages": manages, "badges": STATUS_BADGES, "today": clock.today()}
    if manages or reads:
        stores = _stores(request, C.MANAGE_AUDITS, C.VIEW_AUDITS)
        store = _store_param(request, stores)
        kind = choice_param(request, "kind", AuditKind.values)
        status = choice_param(request, "status", AuditStatus.values) if manages else ""
        audits = selectors.audits_for(user, store=store, kind=kind or None, status=status or None).filter(
            store__in=stores
        )
        filters = [
            Filter("store", _("Store"), value=store.code if store else "", options=[(s.code, s.name) for s in stores]),
            Filter("kind", _("Kind"), value=kind, options=[(k, str(label)) for k, label in AuditKind.choices]),
        ]
        if manages:
            year, quarter = _quarter_param(request)
            audits = selectors_pages.in_quarter(audits, year, quarter)
            counts = selectors_pages.status_counts(
                selectors_pages.in_quarter(
                    selectors.audits_for(user, store=store, kind=kind or None).filter(store__in=stores), year, quarter
                )
            )
            before, after = selectors_pages.neighbour_quarters(year, quarter)
            context.update(
                {
                    "year": year,
                    "quarter": quarter,
                    "previous_quarter": f"{before[0]}Q{before[1]}",
                    "next_quarter": f"{after[0]}Q{after[1]}",
                    "tabs": [
                        {"value": s.value, "label": STATUS_LABELS.get(s, s.label), "count": counts.get(s.value, 0)}
                        for s in QUARTER_STATUSES
                    ],
                    "total": sum(counts.values()),
                    "status": status,
                }
            )
        audits = selectors_pages.with_findings_count(
            audits.select_related("store", "checklist", "auditor__staff_profile", "order")
        ).order_by("status", "due_date", "-submitted_at", "id")
        page = page_of(request, audits)
        context.update({"page": page, "listing": True, "filters": filters, "several_stores": len(stores) > 1})
    return render(request, "audits/list.html", context)


def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A submitted audit: the score, each item's result with its note and photos, the findings with owner, due
    date and state; the forms to close a finding and to open a CAPA from several, for those the rulebook allows."""
    audit = audit_for(request, pk)
    moves = audit_moves(audit, request.user)
    state = selectors_pages.fill_state(audit)
    today = clock.today()
    findings = list(audit.findings.select_related("owner__staff_profile", "capa", "answer").order_by("due_date", "id"))
    rows = [_finding_row(f, request.user, today) for f in findings]
    by_answer = {row["finding"].answer_id: row for row in rows}
    results = []
    for item in state.items:
        answer = state.answers.get(item.pk)
        results.append(
            {
                "item": item,
                "answer": answer,
                "photos": list(answer.photos.all()) if answer else [],
                "finding": by_answer.get(answer.pk) if answer else None,
            }
        )
    return render(
        request,
        "audits/detail.html",
        {
            "audit": audit,
            "moves": moves,
            "state": state,
            "rows": rows,
            "results": results,
            "badges": STATUS_BADGES,
            "capa_form": CapaFromFindingsForm(finding_ids=[]),
            "any_capa": any(row["may_capa"] for row in rows),
            "auditor_name": selectors_pages.person_name(audit.auditor),
        },
    )


def _finding_row(finding: Finding, user: Any, today: Any) -> dict[str, Any]:
    moves = finding_moves(finding, user)
    return {
        "finding": finding,
        "badge": FINDING_BADGES.get(finding.status, ""),
        "overdue": finding.status == FindingStatus.OPEN and finding.due_date < today,
        "may_close": "close" in moves,
        "may_capa": "open_capa" in moves,
        "owner": selectors_pages.person_name(finding.owner),
    }


def finding_list(request: HttpRequest) -> HttpResponse:
    """The findings of the user's stores: open first by due date, overdue ones highlighted (已超时)."""
    user = request.user
    require(user, C.MANAGE_AUDITS, C.VIEW_AUDITS)
    stores = _stores(request, C.MANAGE_AUDITS, C.VIEW_AUDITS)
    store = _store_param(request, stores)
    tab = choice_param(request, "status", [*FindingStatus.values, "overdue", "all"]) or FindingStatus.OPEN
    status = {"overdue": FindingStatus.OPEN, "all": None}.get(tab, tab)
    findings = (
        selectors.findings_for(user, store=store, status=status, overdue=True if tab == "overdue" else None)
        .filter(store__in=stores)
        .select_related("store", "owner__staff_profile", "audit", "capa")
        .order_by("status", "due_date", "id")
    )
    page = page_of(request, findings)
    today = clock.today()
    rows = [_finding_row(f, user, today) for f in page]
    filters = [
        Filter("store", _("Store"), value=store.code if store else "", options=[(s.code, s.name) for s in stores])
    ]
    tabs = [
        (FindingStatus.OPEN.value, FindingStatus.OPEN.label),
        ("overdue", _("Overdue")),
        (FindingStatus.CLOSED.value, FindingStatus.CLOSED.label),
        ("all", _("All")),
    ]
    return render(
        request,
        "audits/findings.html",
        {
            "rows": rows,
            "page": page,
            "filters": filters,
            "tabs": tabs,
            "tab": tab,
            "capa_form": CapaFromFindingsForm(finding_ids=[]),
            "any_capa": any(row["may_capa"] for row in rows),
            "several_stores": len(stores) > 1,
        },
    )


def _back(request: HttpRequest, fallback: str) -> str:
    back = request.POST.get("next", "")
    return back if back.startswith("/audits/") and "//" not in back else fallback


def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One finding (the inbox links here): its audit, owner, due date and state, and the form to close it."""
    finding = finding_for(request, pk)
    row = _finding_row(finding, request.user, clock.today())
    return render(
        request,
        "audits/finding_close.html",
        {"finding": finding, "row": row, "form": FindingCloseForm(prefix=f"close-{finding.pk}"), "next": ""},
    )


@require_POST
def finding_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a finding with what was done (its owner, or whoever runs CAPAs in the store)."""
    finding = finding_for(request, pk)
    if "close" not in finding_moves(finding, request.user):
        raise PermissionDenied(_("Your role may not do this."))
    form = FindingCloseForm(request.POST, prefix=f"close-{finding.pk}")
    if form.is_valid():
        try:
            services.finding_close(finding=finding, by=request.user, resolution=form.cleaned_data["resolution"])
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Finding closed."))
            return redirect(_back(request, reverse("audits:finding-detail", args=[finding.pk])))
    row = _finding_row(finding, request.user, clock.today())
    return render(
        request,
        "audits/finding_close.html",
        {"finding": finding, "row": row, "form": form, "next": _back(request, "")},
        status=400,
    )


@require_POST
def findings_capa(request: HttpRequest) -> HttpResponse:
    """Open one CAPA for the ticked findings (several alike, possibly of several audits)."""
    user = request.user
    require(user, C.MANAGE_CAPA)
    raw = [value for value in request.POST.getlist("findings") if value.isdigit() and len(value) < 12]
    visible = list(selectors.findings_for(user).filter(pk__in=[int(v) for v in raw]).select_related("audit"))
    allowed = [f for f in visible if "open_capa" in finding_moves(f, user)]
    form = CapaFromFindingsForm(request.POST, finding_ids=[f.pk for f in allowed])
    if form.is_valid():
        chosen = [f for f in allowed if f.pk in set(form.cleaned_data["findings"])]
        try:
            capa = services.findings_open_capa(by=user, findings=chosen, title=form.cleaned_data["title"])
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("CAPA opened for %(n)d findings.") % {"n": len(chosen)})
            return redirect(reverse("feedback:capa-detail", args=[capa.pk]))
    return render(
        request,
        "audits/capa_refused.html",
        {"form": form, "findings": visible, "next": _back(request, reverse("audits:findings"))},
        status=400,
    )


def audit_redirect_after(audit: Audit) -> str:
    return reverse("audits:audit-detail", args=[audit.pk])


def audit_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo of an answer, to whoever may see its audit now (404 otherwise, like a missing one)."""
    photo = AuditPhoto.objects.filter(pk=pk).values_list("answer__audit_id", flat=True).first()
    if photo is None:
        raise Http404
    audit_for(request, photo)
    record = AuditPhoto.objects.get(pk=pk)
    content_type = mimetypes.guess_type(record.file.name or "")[0] or "application/octet-stream"
    if not content_type.startswith("image/"):
        content_type = "application/octet-stream"
    response = FileResponse(record.file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
