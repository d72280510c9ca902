"""The quarter's audit plan (the quality department's): the planned audits per store × kind with their auditors,
the form to add one, and the spot-check draw (a store's orders of one month, drawn at random with a stored seed)
with the samples drawn so far."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.audits import selectors_pages, services
from aftersales.audits.forms import AuditPlanForm, SampleDrawForm
from aftersales.audits.models import AuditChecklist
from aftersales.audits.views._common import STATUS_BADGES
from aftersales.core import clock
from aftersales.organisation.access import require
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability as C


def plan_current(request: HttpRequest) -> HttpResponse:
    require(request.user, C.MANAGE_AUDITS)
    year, quarter = selectors_pages.quarter_of(clock.today())
    return redirect(reverse("audits:plan", args=[year, quarter]))


def _group(request: HttpRequest) -> DealerGroup:
    require(request.user, C.MANAGE_AUDITS)
    group = selectors_pages.managed_group(request.user)
    if group is None:
        raise Http404
    return group


def _forms(
    request: HttpRequest, group: DealerGroup, year: int, quarter: int, what: str
) -> tuple[AuditPlanForm, SampleDrawForm]:
    stores = [(s.pk, s.name) for s in selectors_pages.group_stores(group)]
    checklists = [(c.pk, f"{c.get_kind_display()} · {c.title}") for c in selectors_pages.active_checklists(group)]
    auditors = selectors_pages.auditor_choices(group)
    start, end = selectors_pages.quarter_bounds(year, quarter)
    plan_form = AuditPlanForm(
        request.POST if what == "plan" else None,
        stores=stores,
        checklists=checklists,
        auditors=auditors,
        initial={"due_date": end},
    )
    months = selectors_pages.quarter_months(year, quarter)
    # The orders a spot check looks at were delivered in a month already over: by default last month.
    last_month = max((m for m in months if m < clock.today().replace(day=1)), default=months[0])
    draw_form = SampleDrawForm(
        request.POST if what == "draw" else None,
        stores=stores,
        months=months,
        auditors=auditors,
        initial={"month": last_month.isoformat()},
    )
    return plan_form, draw_form


def audit_plan(request: HttpRequest, year: int, quarter: int) -> HttpResponse:
    """GET: the quarter's grid and samples; POST form=plan adds a planned audit, form=draw draws a sample."""
    group = _group(request)
    if not (2000 <= year <= 2100 and 1 <= quarter <= 4):
        raise Http404
    what = request.POST.get("form", "") if request.method == "POST" else ""
    plan_form, draw_form = _forms(request, group, year, quarter, what)
    here = reverse("audits:plan", args=[year, quarter])
    if what == "plan" and plan_form.is_valid():
        data = plan_form.cleaned_data
        try:
            plan = services.plan_for_quarter(by=request.user, group=group, year=year, quarter=quarter)
            services.audit_plan(
                by=request.user,
                store=Store.objects.get(pk=data["store"], group=group),
                kind=data["kind"],
                checklist=AuditChecklist.objects.get(pk=data["checklist"], group=group),
                auditor=_auditor(data["auditor"]),
                due_date=data["due_date"],
                plan=plan,
            )
        except ValidationError as exc:
            plan_form.apply_service_errors(exc)
        else:
            messages.success(request, _("Audit planned."))
            return redirect(here + "#grid")
    elif what == "draw" and draw_form.is_valid():
        data = draw_form.cleaned_data
        try:
            plan = services.plan_for_quarter(by=request.user, group=group, year=year, quarter=quarter)
            sample = services.sample_draw(
                by=request.user,
                plan=plan,
                store=Store.objects.get(pk=data["store"], group=group),
                kind=data["kind"],
                month=data["month"],
                size=data["size"],
                auditor=_auditor(data["auditor"]),
            )
        except ValidationError as exc:
            draw_form.apply_service_errors(exc)
        else:
            messages.success(
                request,
                _("%(n)d orders drawn (seed %(seed)s).") % {"n": len(sample.order_ids), "seed": sample.seed},
            )
            return redirect(here + f"#sample-{sample.pk}")
    plan, rows, total = selectors_pages.plan_grid(group, year, quarter)
    before, after = selectors_pages.neighbour_quarters(year, quarter)
    invalid = bool(plan_form.errors or draw_form.errors)
    return render(
        request,
        "audits/plan.html",
        {
            "group": group,
            "year": year,
            "quarter": quarter,
            "plan": plan,
            "rows": rows,
            "kinds": selectors_pages.KINDS,
            "total": total,
            "samples": selectors_pages.samples_of_quarter(group, year, quarter),
            "plan_form": plan_form,
            "draw_form": draw_form,
            "open_form": what if invalid else "",
            "previous": before,
            "next": after,
            "badges": STATUS_BADGES,
            "no_checklists": not plan_form.fields["checklist"].choices,  # type: ignore[attr-defined]
        },
        status=400 if invalid else 200,
    )


def _auditor(pk: int | None) -> Any:
    if pk is None:
        return None
    return get_user_model().objects.filter(pk=pk).first()
