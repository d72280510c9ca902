"""The care pages: per store, the care actions taken this month and the win-back rate; the group's playbook with
its service-suggestion table (read with VIEW_CARE, changed with MANAGE_CARE in the group)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from aftersales.care import selectors, services
from aftersales.care.forms import PlaybookForm, SuggestionRuleForm
from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability as C

STATUS_BADGE = {"green": "text-bg-success", "amber": "text-bg-warning", "red": "text-bg-danger"}


def _month(request: HttpRequest) -> dt.date:
    """`?month=YYYY-MM`; a bad or missing value is the current month."""
    raw = request.GET.get("month", "")
    year, _sep, month = raw.partition("-")
    if len(year) == 4 and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12 and int(year) >= 2000:
        return dt.date(int(year), int(month), 1)
    return clock.today().replace(day=1)


def care_overview(request: HttpRequest) -> HttpResponse:
    """One card per store the user may read: actions by kind this month, the win-back rate, pending recalls."""
    require(request.user, C.VIEW_CARE)
    ids = sorted(current_store_ids(request) & store_ids_where(request.user, C.VIEW_CARE))
    month = _month(request)
    cards: list[dict[str, Any]] = []
    for store in Store.objects.filter(pk__in=ids).order_by("code"):
        overview = selectors.care_overview(store_ids=[store.pk], month=month)
        cards.append(
            {"store": store, "overview": overview, "badge": STATUS_BADGE.get(overview.win_back.status or "", "")}
        )
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = selectors.next_month(month)
    return render(
        request,
        "care/overview.html",
        {
            "cards": cards,
            "month": month,
            "previous": previous,
            "following": following if following <= clock.today() else None,
        },
    )


def _group(request: HttpRequest) -> DealerGroup:
    """The group whose playbook is shown: the current store's, else that of the first store the user may read."""
    store = current_store(request)
    if store is not None and can(request.user, C.VIEW_CARE, C.MANAGE_CARE, store_id=store.pk):
        return store.group
    ids = sorted(store_ids_where(request.user, C.VIEW_CARE) | store_ids_where(request.user, C.MANAGE_CARE))
    if not ids:
        raise PermissionDenied(_("Your role may not do this."))
    return Store.objects.select_related("group").get(pk=ids[0]).group


def _may_manage(request: HttpRequest, group: DealerGroup) -> bool:
    """MANAGE_CARE is a group role's: held in any store of the group, it covers the group's playbook."""
    group_stores = set(group.stores.values_list("pk", flat=True))
    return bool(group_stores & store_ids_where(request.user, C.MANAGE_CARE))


def care_playbook(request: HttpRequest) -> HttpResponse:
    """The group's playbook (a form) and the service-suggestion table (add, change, delete a line)."""
    require(request.user, C.VIEW_CARE, C.MANAGE_CARE)
    group = _group(request)
    may_manage = _may_manage(request, group)
    services.suggestion_rules_ensure_defaults(group_id=group.pk)
    playbook = selectors.playbook_for_group(group.pk)
    rules = selectors.suggestion_rules(group.pk)
    editing = None
    raw = request.GET.get("edit") or request.POST.get("rule") or ""
    if raw.isdigit():
        editing = get_object_or_404(rules, pk=int(raw))
    what = request.POST.get("form", "")
    playbook_form = PlaybookForm(
        request.POST if what == "playbook" else None,
        initial={name: getattr(playbook, name) for name in services.PLAYBOOK_FIELDS},
    )
    rule_form = SuggestionRuleForm(
        request.POST if what == "rule" else None,
        initial={name: getattr(editing, name) for name in services.RULE_FIELDS} if editing else {"is_active": True},
    )
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(_("Your role may not do this."))
        back = reverse("care:playbook")
        if what == "playbook" and playbook_form.is_valid():
            try:
                services.care_playbook_save(group=group, by=request.user, **playbook_form.cleaned_data)
            except ValidationError as exc:
                playbook_form.apply_service_errors(exc)
            else:
                messages.success(request, _("Playbook saved."))
                return redirect(back)
        elif what == "rule" and request.POST.get("delete") and editing is not None:
            services.suggestion_rule_delete(rule=editing, by=request.user)
            messages.success(request, _("Rule deleted."))
            return redirect(back)
        elif what == "rule" and rule_form.is_valid():
            try:
                services.suggestion_rule_save(group=group, by=request.user, rule=editing, **rule_form.cleaned_data)
            except ValidationError as exc:
                rule_form.apply_service_errors(exc)
            else:
                messages.success(request, _("Rule saved."))
                return redirect(back)
    invalid = bool(playbook_form.errors or rule_form.errors)
    return render(
        request,
        "care/playbook.html",
        {
            "group": group,
            "may_manage": may_manage,
            "playbook_form": playbook_form,
            "rule_form": rule_form,
            "rules": rules,
            "editing": editing,
        },
        status=400 if invalid else 200,
    )


urlpatterns: list[URLPattern] = [
    path("care/", care_overview, name="overview"),
    path("care/playbook/", care_playbook, name="playbook"),
]
