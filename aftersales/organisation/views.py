"""Stores, settings and the audit trail for managers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core.audit import ACTION_LABELS, action_label, audited_model, field_label
from aftersales.core.models import AuditEntry
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of
from aftersales.organisation import selectors, services
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.forms import SettingsForm, WeComRobotForm
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.settings_catalogue import BY_KEY, sections


def store_list(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.EDIT_STORE_SETTINGS):
        raise PermissionDenied(_("Your role may not do this."))
    stores = (
        Store.objects.for_user(request.user, store_ids=current_store_ids(request))
        .select_related("group")
        .prefetch_related("bays", "opening_hours")
        .order_by("code")
    )
    page = page_of(request, stores)
    return render(request, "organisation/store_list.html", {"stores": page.object_list, "page": page})


def settings_edit(request: HttpRequest) -> HttpResponse:
    """Group defaults (group managers) or one store's overrides (store managers), chosen with ?scope=."""
    user = request.user
    stores = [
        s for s in selectors.store_list_for_user(user=user) if user_can(user, Capability.EDIT_STORE_SETTINGS, s.pk)
    ]
    groups = [
        g
        for g in selectors.group_list_for_user(user=user)
        if any(s.group_id == g.pk and user_can(user, Capability.EDIT_GROUP_SETTINGS, s.pk) for s in stores)
    ]
    editable: dict[str, tuple[DealerGroup, Store | None]] = {f"group-{g.pk}": (g, None) for g in groups}
    editable.update({f"store-{s.pk}": (s.group, s) for s in stores})
    if not editable:
        raise PermissionDenied(_("Your role may not change settings."))

    scope = request.POST.get("scope") if request.method == "POST" else request.GET.get("scope")
    if scope:
        if scope not in editable:  # never fall back to another scope: a form for B must not land in A
            raise PermissionDenied(_("Your role may not change these settings."))
    else:
        chosen = current_store(request)
        scope = f"store-{chosen.pk}" if chosen and f"store-{chosen.pk}" in editable else next(iter(editable))
    group, store = editable[scope]

    group_values = selectors.setting_values_for_group(group)
    overrides = selectors.setting_overrides_for_store(store) if store else {}
    initial = overrides if store else group_values
    form = SettingsForm(request.POST or None, initial_values=initial, for_store=store is not None)
    if request.method == "POST" and form.is_valid():
        if store is None:
            changes = dict(form.cleaned_data)
            cleared: frozenset[str] = frozenset()
        else:
            changes = {k: v for k, v in form.cleaned_data.items() if str(v).strip() != ""}
            cleared = frozenset(k for k, v in form.cleaned_data.items() if str(v).strip() == "" and k in overrides)
        try:
            recorded = services.settings_update(
                group=group, store=store, changes=changes, by=user, clear_overrides=cleared
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            messages.error(request, _("Nothing was saved: please correct the values marked below."))
        else:
            messages.success(request, _("{count} settings changed.").format(count=len(recorded)))
            return redirect(f"{request.path}?scope={scope}")

    rows = []
    for section in sections():
        rows.append(
            {
                "section": section,
                "items": [
                    {
                        "setting": s,
                        "field": form[s.key],
                        "group_value": group_values[s.key],
                        "overridden": s.key in overrides,
                    }
                    for s in section.settings
                ],
            }
        )
    return render(
        request,
        "organisation/settings.html",
        {
            "form": form,
            "sections": rows,
            "store": store,
            "group": group,
            "scope": scope,
            "scopes": [(f"group-{g.pk}", _("{group} (group defaults)").format(group=g.name)) for g in groups]
            + [(f"store-{s.pk}", str(s)) for s in stores],
            "history": selectors.setting_change_list(group=group, store=store),
        },
    )


def audit_list(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.VIEW_AUDIT):
        raise PermissionDenied(_("Your role may not do this."))
    """Who did what, newest first, a page at a time; the action and the changed fields in the reader's words."""
    action = choice_param(request, "action", ACTION_LABELS)
    start, end = date_param(request, "from"), date_param(request, "to")
    entries = AuditEntry.objects.for_user(request.user, store_ids=current_store_ids(request)).select_related(
        "actor__staff_profile"
    )
    if action:
        entries = entries.filter(action=action)
    if start is not None:
        entries = entries.filter(at__date__gte=start)
    if end is not None:
        entries = entries.filter(at__date__lte=end)
    page = page_of(request, entries.order_by("-at", "-id"))
    rows = [
        {
            "entry": e,
            "action": action_label(e.action),
            "record": _record_label(e.object_type),
            "fields": [_changed_field_label(e.object_type, key) for key in e.changes],
        }
        for e in page.object_list
    ]
    actions = sorted(((key, str(label)) for key, label in ACTION_LABELS.items()), key=lambda pair: pair[1])
    filters = [Filter("action", _("Action"), "select", action, actions), *date_range_filters(start, end)]
    return render(request, "organisation/audit_list.html", {"page": page, "rows": rows, "filters": filters})


def _record_label(object_type: str) -> str:
    if object_type == "organisation.settings":
        return _("settings")
    model = audited_model(object_type)
    return str(model._meta.verbose_name) if model is not None else object_type


def _changed_field_label(object_type: str, key: str) -> str:
    if object_type == "organisation.settings" and key in BY_KEY:
        return str(BY_KEY[key].label)
    return field_label(object_type, key)


@require_POST
def store_wecom_robot(request: HttpRequest, pk: int) -> HttpResponse:
    """Save or remove a store's WeCom group robot (from the store's settings page); the service decides who may."""
    store = Store.objects.get_for_user_or_404(request.user, pk=pk)
    form = WeComRobotForm(request.POST)
    back = f"{reverse('organisation:settings')}?scope=store-{store.pk}"
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return redirect(back)
    url = "" if form.cleaned_data["remove"] else form.cleaned_data["wecom_webhook_url"]
    try:
        services.store_wecom_robot_set(store=store, url=url, by=request.user)
    except ValidationError as exc:
        label = form.fields["wecom_webhook_url"].label
        for errors in exc.message_dict.values():
            messages.error(request, f"{label}: {' '.join(errors)}")
        return redirect(back)
    messages.success(request, _("The WeCom robot was removed.") if not url else _("The WeCom robot is saved."))
    return redirect(back)
