"""The telematics pages: a vehicle's connected-car page (events timeline, alerts raised and by which rule), the
staff list of recent alerts, and the group's rule table (read by the workshop, changed by a manager)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from aftersales.core.scoping import store_ids_where
from aftersales.customers.choices import ConsentPurpose
from aftersales.customers.models import Consent, Vehicle
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability as C
from aftersales.telematics import selectors, services
from aftersales.telematics.choices import ALARM_FLAGS
from aftersales.telematics.forms import AlertRuleForm


def vehicle_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One vehicle's connected-car page: its alerts (with the rule) and its latest events."""
    vehicle = Vehicle.objects.select_related("customer").get_for_user_or_404(request.user, C.VIEW_SERVICE, pk=pk)
    events = list(selectors.vehicle_events(vehicle_id=vehicle.pk))
    for event in events:
        event.flag_labels = [str(ALARM_FLAGS.get(flag, flag)) for flag in event.alarm_flags]  # type: ignore[attr-defined]
    consent = Consent.objects.filter(customer_id=vehicle.customer_id, purpose=ConsentPurpose.VEHICLE_DATA).first()
    return render(
        request,
        "telematics/vehicle.html",
        {
            "vehicle": vehicle,
            "alerts": selectors.vehicle_alerts(vehicle_id=vehicle.pk),
            "events": events,
            "consent": consent,
            "limit": selectors.TIMELINE_LIMIT,
        },
    )


def alert_list(request: HttpRequest) -> HttpResponse:
    """Recent alerts of the current stores, newest first; `?open=1` only the open ones."""
    require(request.user, C.VIEW_SERVICE)
    open_only = request.GET.get("open") == "1"
    rows = selectors.alert_list(user=request.user, store_ids=current_store_ids(request), open_only=open_only)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "telematics/alerts.html", {"page": page, "open_only": open_only})


def _group(request: HttpRequest) -> DealerGroup:
    store = current_store(request)
    if store is not None and store.pk in store_ids_where(request.user, C.VIEW_SERVICE):
        return store.group
    ids = sorted(store_ids_where(request.user, C.VIEW_SERVICE))
    if not ids:
        raise PermissionDenied(_("Your role may not do this."))
    return Store.objects.select_related("group").get(pk=ids[0]).group


def rules_page(request: HttpRequest) -> HttpResponse:
    """The group's rule table; a manager adds, changes and deletes lines."""
    require(request.user, C.VIEW_SERVICE)
    group = _group(request)
    may_manage = bool(
        set(group.stores.values_list("pk", flat=True)) & store_ids_where(request.user, C.MANAGE_VEHICLE_RULES)
    )
    services.alert_rules_ensure_defaults(group_id=group.pk)
    rules = selectors.alert_rules(group_id=group.pk)
    editing = None
    raw = request.GET.get("edit") or request.POST.get("rule") or ""
    if raw.isdigit():
        editing = get_object_or_404(rules, pk=int(raw))
    initial = {name: getattr(editing, name) for name in services.RULE_FIELDS} if editing else {"is_active": True}
    form = AlertRuleForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(_("Your role may not do this."))
        back = reverse("telematics:rules")
        if request.POST.get("delete") and editing is not None:
            services.alert_rule_delete(rule=editing, by=request.user)
            messages.success(request, _("Rule deleted."))
            return redirect(back)
        if form.is_valid():
            try:
                services.alert_rule_save(group=group, by=request.user, rule=editing, **form.cleaned_data)
            except ValidationError as exc:
                form.apply_service_errors(exc)
            else:
                messages.success(request, _("Rule saved."))
                return redirect(back)
    return render(
        request,
        "telematics/rules.html",
        {"group": group, "may_manage": may_manage, "rules": rules, "form": form, "editing": editing},
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern] = [
    path("telematics/alerts/", alert_list, name="alerts"),
    path("telematics/rules/", rules_page, name="rules"),
    path("telematics/vehicles/<int:pk>/", vehicle_page, name="vehicle"),
]
