"""Pages of the care campaigns: the list, the form with the live audience preview (htmx), the detail with the
results per arm and the uplift chart, the staff moves, and the customer's tracked link."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.campaigns import selectors, services
from aftersales.campaigns.audience import AudienceFilter, audience_clean
from aftersales.campaigns.choices import BADGES, CampaignStatus
from aftersales.campaigns.forms import AUDIENCE_FIELDS, CampaignForm, initial_from
from aftersales.campaigns.models import Campaign
from aftersales.campaigns.transitions import CAMPAIGN, CAMPAIGN_EDITABLE, campaign_moves_for
from aftersales.core.exceptions import ApplicationError
from aftersales.core.language import customer_page
from aftersales.core.pagination import page_of
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C

MANAGE = C.MANAGE_CAMPAIGNS


def _stores(request: HttpRequest) -> list[tuple[int, str]]:
    """The stores where the user may run campaigns (the one chosen in the top bar first)."""
    ids = store_ids_where(request.user, MANAGE) & current_store_ids(request)
    return list(Store.objects.filter(pk__in=ids).order_by("code").values_list("pk", "name"))


def campaign_list(request: HttpRequest) -> HttpResponse:
    require(request.user, selectors.READ)
    page = page_of(request, selectors.campaign_list(user=request.user, store_ids=current_store_ids(request)))
    return render(
        request,
        "campaigns/list.html",
        {"page": page, "campaigns": list(page.object_list), "badges": BADGES, "can_create": bool(_stores(request))},
    )


def _form_page(request: HttpRequest, form: CampaignForm, campaign: Campaign | None) -> HttpResponse:
    return render(request, "campaigns/form.html", {"form": form, "campaign": campaign})


def campaign_create(request: HttpRequest) -> HttpResponse:
    require(request.user, *CAMPAIGN.get("create").capabilities)
    stores = _stores(request)
    if not stores:
        raise Http404
    form = CampaignForm(request.POST or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        store = Store.objects.get(pk=form.cleaned_data["store"])  # one of `stores`: the choices are checked
        try:
            campaign = services.campaign_create(store=store, data=form.as_input(), by=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            messages.success(request, _("Campaign saved as a draft. Check the audience, then schedule it."))
            return redirect("campaigns:campaign-detail", campaign.pk)
    return _form_page(request, form, None)


def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get_for_user(user=request.user, pk=pk)
    CAMPAIGN.authorise(CAMPAIGN.get("edit"), actor=request.user, store_id=campaign.store_id)
    if campaign.status not in CAMPAIGN_EDITABLE:
        messages.warning(request, _("Only a draft campaign can be edited."))
        return redirect("campaigns:campaign-detail", campaign.pk)
    stores = [(campaign.store_id, campaign.store.name)]
    form = CampaignForm(request.POST or None, stores=stores, initial=initial_from(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign=campaign, data=form.as_input(), by=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:campaign-detail", campaign.pk)
    return _form_page(request, form, campaign)


def campaign_preview(request: HttpRequest) -> HttpResponse:
    """The audience preview for the form (htmx, on every change): counts, split, skips, a masked sample."""
    require(request.user, MANAGE)
    data = request.POST if request.method == "POST" else request.GET
    campaign_id = data.get("campaign") or ""
    stores = _stores(request)
    if campaign_id.isdigit():
        campaign = selectors.campaign_get_for_user(user=request.user, pk=int(campaign_id))
        CAMPAIGN.authorise(CAMPAIGN.get("edit"), actor=request.user, store_id=campaign.store_id)
        stores = [(campaign.store_id, campaign.store.name)]
    form = CampaignForm(data, stores=stores)
    form.is_valid()  # the audience fields are read even when the text is not written yet
    context: dict[str, Any] = {"errors": {k: v for k, v in form.errors.items() if k in ("store", *AUDIENCE_FIELDS)}}
    store_id = form.cleaned_data.get("store")
    if store_id is None and not context["errors"]:
        context["errors"] = {"store": [_("Choose a store.")]}
    if context["errors"]:
        return render(request, "campaigns/partials/_preview.html", context)
    raw = {k: form.cleaned_data.get(k) for k in ("tiers", "nev", "model_contains", "mileage_min", "mileage_max")}
    raw |= {k: data.get(k) for k in ("last_visit_from", "last_visit_to")}
    raw["open_deferred"] = bool(form.cleaned_data.get("open_deferred"))
    audience = AudienceFilter()
    try:
        audience = audience_clean(raw)
    except ValidationError as exc:
        context["errors"] = exc.message_dict
        return render(request, "campaigns/partials/_preview.html", context)
    store = Store.objects.get(pk=store_id)
    context["preview"] = selectors.campaign_preview(
        store=store,
        audience=audience,
        campaign_id=int(campaign_id) if campaign_id.isdigit() else None,
    )
    return render(request, "campaigns/partials/_preview.html", context)


def _labels() -> dict[str, str]:
    return {
        "treatment": _("Treatment"),
        "control": _("Control"),
        "uplift": _("Uplift"),
        "return_rate": _("Return rate"),
        "interval": _("95 percent confidence interval"),
    }


def _uplift_text(results: selectors.Results) -> str:
    u = results.uplift
    if u is None:
        return ""
    return _("{estimate:+.1f} percentage points (95 % CI {lower:+.1f} to {upper:+.1f})").format(
        estimate=100 * u.estimate, lower=100 * u.lower, upper=100 * u.upper
    )


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get_for_user(user=request.user, pk=pk)
    results = selectors.campaign_results(campaign=campaign)
    preview = None
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        preview = selectors.campaign_preview(
            store=campaign.store,
            audience=audience_clean(campaign.audience),
            campaign_id=campaign.pk,
        )
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "badges": BADGES,
            "results": results,
            "preview": preview,
            "chart": selectors.uplift_chart(results, labels=_labels()) if campaign.started_at else None,
            "moves": campaign_moves_for(campaign=campaign, user=request.user),
            "can_edit": campaign.status in CAMPAIGN_EDITABLE
            and CAMPAIGN.may(CAMPAIGN.get("edit"), actor=request.user, store_id=campaign.store_id),
            "uplift_pp": _uplift_text(results),
        },
    )


@require_POST
def campaign_move(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    campaign = selectors.campaign_get_for_user(user=request.user, pk=pk)
    offered = {m.name: m for m in campaign_moves_for(campaign=campaign, user=request.user)}
    step = offered.get(move)
    if step is None or step.target is None:
        messages.error(request, _("This cannot be done in the record's present state."))
        return redirect("campaigns:campaign-detail", campaign.pk)
    try:
        services.campaign_transition(
            campaign=campaign, to=step.target, by=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    except ApplicationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Campaign: {status}.").format(status=campaign.get_status_display()))
    return redirect("campaigns:campaign-detail", campaign.pk)


@login_not_required
@customer_page
def campaign_link(request: HttpRequest, token: str) -> HttpResponse:
    """Count the opening, then the store's online booking page; any other token is the friendly 404 page."""
    member = services.campaign_link_open(token=token)
    if member is None:
        raise Http404
    return redirect("service:customer-book", member.campaign.store.code)
