"""The staff pages of the reminders: the list (upcoming, sent, snoozed) with the snooze action, and the service
interval rules of a store and its group."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of, search_param
from aftersales.organisation.access import can, require, store_by_code
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C
from aftersales.reminders import selectors, services
from aftersales.reminders.choices import ReminderKind, ReminderState
from aftersales.reminders.forms import ServiceIntervalForm
from aftersales.reminders.models import Reminder
from aftersales.reminders.transitions import REMINDER

# Who sees the list: the people who book visits (advisors, agents, the manager) and those who read the
# customers' feedback (also the group manager); snoozing is the booking staff's.
VIEW = C.BOOK
VIEW_ALSO = C.VIEW_FEEDBACK
SNOOZE_CHOICES = (3, 7, 30)
BADGES = {
    ReminderState.SCHEDULED: "text-bg-light border text-body",
    ReminderState.SENT: "text-bg-success",
    ReminderState.SUPPRESSED: "text-bg-secondary",
    ReminderState.SNOOZED: "text-bg-warning",
    ReminderState.CANCELLED: "text-bg-light text-muted border",
}


def reminder_list(request: HttpRequest) -> HttpResponse:
    """The reminders of the current store(s), next to go first; filters: search, state, kind, due dates."""
    require(request.user, VIEW, VIEW_ALSO)
    store_ids = current_store_ids(request)
    query, start, end = search_param(request), date_param(request, "from"), date_param(request, "to")
    state = choice_param(request, "state", ReminderState.values)
    kind = choice_param(request, "kind", ReminderKind.values)
    visible = selectors.reminder_list(
        user=request.user,
        store_ids=store_ids,
        capabilities=(VIEW, VIEW_ALSO),
        state=state,
        kind=kind,
        query=query,
        start=start,
        end=end,
    )
    page = page_of(request, visible)
    snooze = REMINDER.get("snooze")
    rows = [
        {
            "reminder": r,
            "badge": BADGES.get(r.state, "text-bg-light"),
            "can_snooze": r.state in snooze.sources and REMINDER.may(snooze, actor=request.user, store_id=r.store_id),
        }
        for r in page.object_list
    ]
    filters = [
        Filter("q", _("Customer, mobile or plate"), "search", query),
        Filter("state", _("State"), "select", state, list(ReminderState.choices)),
        Filter("kind", _("Kind"), "select", kind, list(ReminderKind.choices)),
        *date_range_filters(start, end),
    ]
    return render(
        request,
        "reminders/list.html",
        {
            "rows": rows,
            "page": page,
            "filters": filters,
            "today": clock.today(),
            "snooze_choices": SNOOZE_CHOICES,
            "can_rules": can(request.user, C.EDIT_STORE_SETTINGS, C.EDIT_GROUP_SETTINGS),
        },
    )


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if target and safe else default


@require_POST
def reminder_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = Reminder.objects.get_for_user_or_404(request.user, VIEW, pk=pk)
    raw = request.POST.get("days", "")
    try:
        services.reminder_snooze(reminder=reminder, days=int(raw) if raw.isdigit() else 0, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Snoozed: reminded again on {day}.").format(day=f"{reminder.snoozed_until:%Y-%m-%d}")
        )
    return redirect(_back(request, reverse("reminders:list")))


# ------------------------------------------------------------------------------------------- service intervals


def _rules_store(request: HttpRequest) -> Store:
    """The store whose rules are shown: `?store=CODE`, else the current store, else the first the user may set."""
    code = request.GET.get("store") or request.POST.get("store")
    if code:
        try:
            return store_by_code(request.user, code, capability=C.EDIT_STORE_SETTINGS)
        except ValidationError as exc:
            raise PermissionDenied(exc.messages[0]) from exc
    store = current_store(request)
    if store is not None and can(request.user, C.EDIT_STORE_SETTINGS, store_id=store.pk):
        return store
    from aftersales.core.scoping import store_ids_where

    ids = sorted(store_ids_where(request.user, C.EDIT_STORE_SETTINGS))
    if not ids:
        raise PermissionDenied(_("Your role may not do this."))
    return Store.objects.select_related("group").get(pk=ids[0])


def _may_edit(request: HttpRequest, store: Store, rule_store_id: int | None) -> bool:
    """A store's own rule: the store's settings role; a group's rule: the group's."""
    if rule_store_id is None:
        return can(request.user, C.EDIT_GROUP_SETTINGS, store_id=store.pk)
    return can(request.user, C.EDIT_STORE_SETTINGS, store_id=rule_store_id)


def interval_list(request: HttpRequest) -> HttpResponse:
    """The rules in force at a store (its group's and its own), and a form to add or change one."""
    require(request.user, C.EDIT_STORE_SETTINGS, C.EDIT_GROUP_SETTINGS)
    store = _rules_store(request)
    services.service_intervals_ensure_defaults(group_id=store.group_id)
    editing = None
    raw = request.GET.get("edit") or request.POST.get("rule") or ""
    if raw.isdigit():
        editing = get_object_or_404(
            selectors.service_interval_list(group_id=store.group_id, store_id=store.pk), pk=int(raw)
        )
    form = ServiceIntervalForm(
        request.POST or None,
        initial={f: getattr(editing, f) for f in services.INTERVAL_FIELDS} if editing else {"scope": "all"},
    )
    if request.method == "POST":
        for_group = request.POST.get("level") == "group" if editing is None else editing.store_id is None
        if not _may_edit(request, store, None if for_group else store.pk):
            raise PermissionDenied(_("Your role may not do this."))
        if request.POST.get("delete") and editing is not None:
            services.service_interval_delete(rule=editing, by=request.user)
            messages.success(request, _("Rule deleted."))
            return redirect(f"{reverse('reminders:intervals')}?store={store.code}")
        if form.is_valid():
            try:
                services.service_interval_save(
                    group=store.group,
                    store=None if for_group else store,
                    by=request.user,
                    rule=editing,
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form.apply_service_errors(exc)
            else:
                messages.success(request, _("Rule saved."))
                return redirect(f"{reverse('reminders:intervals')}?store={store.code}")
    rules = [
        {"rule": rule, "may_edit": _may_edit(request, store, rule.store_id)}
        for rule in selectors.service_interval_list(group_id=store.group_id, store_id=store.pk).select_related("store")
    ]
    return render(
        request,
        "reminders/intervals.html",
        {
            "store": store,
            "rules": rules,
            "form": form,
            "editing": editing,
            "may_group": can(request.user, C.EDIT_GROUP_SETTINGS, store_id=store.pk),
        },
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern] = [
    path("reminders/", reminder_list, name="list"),
    path("reminders/<int:pk>/snooze/", reminder_snooze, name="snooze"),
    path("reminders/intervals/", interval_list, name="intervals"),
]
