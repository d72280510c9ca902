"""Scorecard, early-warning and CAPA-verification pages: the store's scorecards of a period (reviewers), one
scorecard with its components, chart and review form, the advisor's own scorecards, the warnings of the user's
stores, and the page that computes a CAPA's KPI before and after from the catalogue.  Views parse, call one service
or selector, render."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales.analytics import capa_verification, scorecards, warnings
from aftersales.analytics.catalogue import REGISTRY, all_kpis
from aftersales.analytics.models import KpiAlertKind, Scorecard, ScorecardStatus
from aftersales.analytics.periods import Period, PeriodError
from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.forms import StyledForm
from aftersales.core.pagination import page_of
from aftersales.core.scoping import store_ids_where
from aftersales.feedback import selectors as feedback_selectors
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C

# ------------------------------------------------------------------------------------------------- helpers


def _period(request: HttpRequest, default_kind: str = "month") -> Period:
    """`?period=…`; missing or bad: the last closed month (scorecards are of closed periods)."""
    try:
        return Period.parse(request.GET.get("period", ""))
    except PeriodError:
        return Period.containing(clock.today()).previous()


def _review_store(request: HttpRequest) -> Store:
    """`?store=CODE` among the stores where the user reviews scorecards, else the chosen store, else the first."""
    allowed = store_ids_where(request.user, C.REVIEW_SCORECARDS)
    if not allowed:
        raise PermissionDenied(_("Your role may not do this."))
    code = request.GET.get("store", "")
    stores = Store.objects.filter(pk__in=sorted(allowed)).order_by("code")
    if code:
        store = stores.filter(code=code[:16]).first()
        if store is None:
            raise Http404(_("No store with this code whose scorecards you may see."))
        return store
    chosen = current_store(request)
    if chosen is not None and chosen.pk in allowed:
        return chosen
    first = stores.first()
    if first is None:
        raise Http404
    return first


def _name(user: Any) -> str:
    profile = getattr(user, "staff_profile", None)
    return getattr(profile, "display_name", "") or user.get_username()


def _chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """ECharts options: each component's attainment (bars, 0–100 %) beside its effective weight."""
    labels = [str(row["label"]) for row in rows]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [str(_("Attainment (%)")), str(_("Points"))]},
        "grid": {"left": 8, "right": 16, "bottom": 8, "top": 36, "containLabel": True},
        "xAxis": {"type": "value", "max": 100},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "series": [
            {
                "name": str(_("Attainment (%)")),
                "type": "bar",
                "data": [None if row["attainment"] is None else float(row["attainment"]) for row in rows],
                "label": {"show": True, "position": "right"},
            },
            {
                "name": str(_("Points")),
                "type": "bar",
                "data": [None if row["points"] is None else float(row["points"]) for row in rows],
            },
        ],
    }


class ReviewForm(StyledForm):
    explanation = forms.CharField(
        label=gettext_lazy("Explanation to the advisor"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What went well, what to improve; the advisor reads it with the score."),
    )


# ---------------------------------------------------------------------------------------------- scorecards


def scorecard_list(request: HttpRequest) -> HttpResponse:
    """The store's scorecards of a period, best first, with the quarter's service star."""
    require(request.user, C.REVIEW_SCORECARDS)
    store = _review_store(request)
    period = _period(request)
    cards = list(scorecards.scorecard_list(user=request.user, store=store, period=period))
    stars, provisional = scorecards.star_candidates(cards) if period.kind == "quarter" else ([], False)
    star_ids = {c.pk for c in stars}
    rows = [
        {"card": c, "name": _name(c.advisor), "star": c.pk in star_ids, "rows": scorecards.component_rows(c)}
        for c in cards
    ]
    stores = Store.objects.filter(pk__in=sorted(store_ids_where(request.user, C.REVIEW_SCORECARDS))).order_by("code")
    return render(
        request,
        "analytics/scorecard_list.html",
        {
            "store": store,
            "stores": stores,
            "period": period,
            "previous": period.previous(),
            "next": period.shift(1) if period.shift(1).is_closed(clock.now()) else None,
            "rows": rows,
            "provisional_star": provisional and bool(stars),
            "closed": period.is_closed(clock.now()),
            "labels": [c.label for c in scorecards.COMPONENTS],
        },
    )


@require_POST
def scorecard_compute(request: HttpRequest) -> HttpResponse:
    """Compute (or recompute) the drafts of a store's advisors for a period (finals stay as reviewed)."""
    require(request.user, C.REVIEW_SCORECARDS)
    allowed = store_ids_where(request.user, C.REVIEW_SCORECARDS)
    store = Store.objects.filter(pk__in=sorted(allowed), code=request.POST.get("store", "")[:16]).first()
    if store is None:
        raise Http404
    try:
        period = Period.parse(request.POST.get("period", ""))
    except PeriodError as exc:
        messages.error(request, str(exc))
        return redirect("analytics:scorecards")
    if period.kind == "year":
        messages.error(request, _("Scorecards are computed per month or per quarter."))
    else:
        cards = scorecards.scorecards_compute(store=store, period=period, by=request.user)
        messages.success(request, _("Scorecards computed: %(n)s.") % {"n": len(cards)})
    return redirect(f"{_url('analytics:scorecards')}?store={store.code}&period={period}")


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    card = scorecards.scorecard_get_for_user(user=request.user, pk=pk)
    return _detail_page(request, card, ReviewForm())


def _detail_page(request: HttpRequest, card: Scorecard, form: ReviewForm, status: int = 200) -> HttpResponse:
    rows = scorecards.component_rows(card)
    period = Period.parse(card.period)
    can_review = (
        card.status == ScorecardStatus.DRAFT
        and card.advisor_id != request.user.pk
        and scorecards.SCORECARD.may(scorecards.SCORECARD.get("review"), actor=request.user, store_id=card.store_id)
    )
    return render(
        request,
        "analytics/scorecard_detail.html",
        {
            "card": card,
            "name": _name(card.advisor),
            "rows": rows,
            "chart": _chart(rows),
            "form": form,
            "can_review": can_review,
            "period_closed": period.is_closed(clock.now()),
            "own": card.advisor_id == request.user.pk,
            "reweighted": any(r["attainment"] is None for r in rows),
        },
        status=status,
    )


@require_POST
def scorecard_review(request: HttpRequest, pk: int) -> HttpResponse:
    card = scorecards.scorecard_get_for_user(user=request.user, pk=pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            scorecards.scorecard_review(scorecard=card, user=request.user, explanation=form.cleaned_data["explanation"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Scorecard reviewed: it is final."))
            return redirect("analytics:scorecard-detail", pk=card.pk)
    return _detail_page(request, card, form, status=400)


def my_scorecards(request: HttpRequest) -> HttpResponse:
    """The advisor's own scorecards: drafts too, marked "not reviewed" (they may still change)."""
    cards = list(scorecards.own_scorecards(user=request.user))
    return render(request, "analytics/scorecard_mine.html", {"cards": cards})


# ------------------------------------------------------------------------------------------------ warnings


def warning_list(request: HttpRequest) -> HttpResponse:
    """The early warnings of the user's stores (and groups), newest first, with the links to act on them."""
    require(request.user, C.VIEW_KPIS)
    kind = request.GET.get("kind", "")
    alerts = warnings.alert_list(user=request.user)
    if kind in KpiAlertKind.values:
        alerts = alerts.filter(kind=kind)
    page = page_of(request, alerts)
    all_kpis()
    can_capa = store_ids_where(request.user, C.MANAGE_CAPA)
    rows = []
    for alert in page:
        kpi = REGISTRY.get(alert.key)
        label = kpi.label if kpi else alert.key
        period = Period.parse(alert.period)
        rows.append(
            {
                "alert": alert,
                "label": label,
                "drilldown": warnings.drilldown_url(alert.key, period, store=alert.store, group=alert.group),
                "capa_url": warnings.capa_open_url(alert, str(label))
                if alert.store_id is None or alert.store_id in can_capa
                else "",
                "capa_detail": _url("feedback:capa-detail", alert.capa_id) if alert.capa_id else "",
            }
        )
    return render(
        request,
        "analytics/warning_list.html",
        {"rows": rows, "page": page, "kind": kind, "kinds": KpiAlertKind.choices},
    )


# ------------------------------------------------------------------------------------------- CAPA verification


def capa_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """The CAPA's KPI before (the month before it was opened) and after (the latest settled month after its
    actions were done), computed from the catalogue for its store; posting records them on the CAPA.  The
    figures are the store's KPIs: reading them needs VIEW_KPIS in its store (VIEW_FEEDBACK reads the CAPA only),
    recording them MANAGE_CAPA too — both checked again by the service."""
    capa = feedback_selectors.capa_get_for_user(user=request.user, pk=pk)
    require(request.user, C.VIEW_FEEDBACK, store_id=capa.store_id)
    require(request.user, C.VIEW_KPIS, store_id=capa.store_id)
    all_kpis()
    key = request.POST.get("kpi") or request.GET.get("kpi") or capa.kpi_key
    if key and key not in REGISTRY:
        key = ""
    plan = capa_verification.verification_plan(capa=capa, key=key or None, user=request.user)
    error = ""
    if request.method == "POST":
        if not capa_verification.may_record(capa=capa, user=request.user):
            raise PermissionDenied(_("Your role may not do this."))
        try:
            capa_verification.capa_verify_from_catalogue(capa=capa, key=key, by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, _("The verification is recorded from the KPI catalogue."))
            return redirect(_url("feedback:capa-detail", capa.pk) + "#verification")
    improvement: Decimal | None = None
    if (
        plan.before is not None
        and plan.after is not None
        and plan.before.value is not None
        and plan.after.value is not None
    ):
        improvement = plan.after.value - plan.before.value
    return render(
        request,
        "analytics/warning_capa_verify.html",
        {
            "capa": capa,
            "plan": plan,
            "key": key,
            "kpis": [(k.key, k.label) for k in all_kpis()],
            "improvement": improvement,
            "error": error,
            "can_record": capa_verification.may_record(capa=capa, user=request.user),
        },
        status=400 if error else 200,
    )
