"""Stores, settings and the audit trail for managers."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator

import xlsxwriter
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.audit import ACTION_LABELS, audited_model
from aftersales.core.models import AuditEntry
from aftersales.core.pagination import Filter, choice_param, date_param, date_range_filters, page_of
from aftersales.core.scoping import store_ids_where
from aftersales.organisation import audit_trail, selectors, services
from aftersales.organisation.calendar_services import calendar_banner
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.forms import SettingsForm, WeComRobotForm
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability, user_can
from aftersales.organisation.settings_catalogue import sections


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
            "calendar_banner": calendar_banner(user=user, today=clock.today()),
        },
    )


def audit_list(request: HttpRequest) -> HttpResponse:
    """Who did what, newest first, a page at a time; the action and the changed fields in the reader's words."""
    if not user_can(request.user, Capability.VIEW_AUDIT):
        raise PermissionDenied(_("Your role may not do this."))
    entries, filters, scope = _audit_filtered(request)
    page = page_of(request, entries.select_related("actor__staff_profile").order_by("-at", "-id"))
    entries_shown = list(page.object_list)
    rows = [
        {"entry": entry, "view": view}
        for entry, view in zip(entries_shown, audit_trail.describe(entries_shown, user=request.user), strict=True)
    ]
    return render(
        request,
        "organisation/audit_list.html",
        {"page": page, "rows": rows, "filters": filters, "filtered": bool(scope), "query": request.GET.urlencode()},
    )


def _audit_filtered(request: HttpRequest) -> tuple[QuerySet[AuditEntry], list[Filter], dict[str, str]]:
    """The list's entries narrowed by ?action=, ?from=, ?to=, ?type= (record type) and ?record= (record id)."""
    action = choice_param(request, "action", ACTION_LABELS)
    start, end = date_param(request, "from"), date_param(request, "to")
    types = dict(_record_type_options())
    object_type = request.GET.get("type", "").strip()
    if object_type and object_type not in types:
        object_type = object_type if audited_model(object_type) is not None else ""
        if object_type:
            types[object_type] = audit_trail.record_label(object_type)
    record_id = request.GET.get("record", "").strip()[:64]
    entries = audit_trail.audit_entries_for_user(request.user, store_ids=current_store_ids(request))
    scope: dict[str, str] = {}
    if action:
        entries = entries.filter(action=action)
        scope["action"] = action
    if start is not None:
        entries = entries.filter(at__date__gte=start)
        scope["from"] = start.isoformat()
    if end is not None:
        entries = entries.filter(at__date__lte=end)
        scope["to"] = end.isoformat()
    if object_type:
        entries = entries.filter(object_type=object_type)
        scope["type"] = object_type
    if record_id:
        entries = entries.filter(object_id=record_id)
        scope["record"] = record_id
    actions = sorted(((key, str(label)) for key, label in ACTION_LABELS.items()), key=lambda pair: pair[1])
    filters = [
        Filter("action", _("Action"), "select", action, actions),
        Filter("type", _("Record type"), "select", object_type, sorted(types.items(), key=lambda pair: pair[1])),
        Filter("record", _("Record id"), "search", record_id),
        *date_range_filters(start, end),
    ]
    return entries, filters, scope


# The record types offered in the list's filter (any other audited type is accepted from the address).
_RECORD_TYPES = (
    "service.repairorder",
    "service.appointment",
    "feedback.complaint",
    "feedback.suggestion",
    "customers.customer",
    "customers.vehicle",
    "crm.tierchange",
    "organisation.settings",
    "organisation.store",
    "privacy.rightsrequest",
    "core.auditentry",
)


def _record_type_options() -> list[tuple[str, str]]:
    return [
        (t, audit_trail.record_label(t))
        for t in _RECORD_TYPES
        if t == audit_trail.SETTINGS_TYPE or audited_model(t) is not None
    ]


def audit_export(request: HttpRequest, file_format: str) -> HttpResponseBase:
    """The filtered list for an auditor, as CSV (streamed) or XLSX; the export itself is recorded."""
    if not user_can(request.user, Capability.VIEW_AUDIT):
        raise PermissionDenied(_("Your role may not do this."))
    entries, _filters, scope = _audit_filtered(request)
    stores = store_ids_where(request.user, Capability.VIEW_AUDIT) & current_store_ids(request)
    services.audit_export_record(by=request.user, store_ids=stores, file_format=file_format, scope={"filters": scope})
    lines = audit_trail.export_lines(entries, user=request.user)
    return _export_response(lines, file_format, "audit-trail")


def audit_record_history(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    """Every change of one record (and of the records that belong to it), newest first, in the reader's words.
    The record decides: VIEW_AUDIT in its store, 404 outside the reader's stores (`record_history`)."""
    history = audit_trail.record_history(user=request.user, object_type=object_type, object_id=object_id)
    rows = audit_trail.history_rows(history, user=request.user)
    return render(
        request,
        "organisation/audit_record.html",
        {"history": history, "rows": rows, "truncated": len(rows) >= audit_trail.HISTORY_MAX},
    )


def audit_record_export(request: HttpRequest, object_type: str, object_id: str, file_format: str) -> HttpResponseBase:
    history = audit_trail.record_history(user=request.user, object_type=object_type, object_id=object_id)
    if file_format not in EXPORT_FORMATS:
        raise Http404("No such format.")
    if history.store_id is not None:
        stores = frozenset({history.store_id})
    else:
        stores = store_ids_where(request.user, Capability.VIEW_AUDIT)
    services.audit_export_record(
        by=request.user, store_ids=stores, file_format=file_format, scope={"record": f"{object_type}#{object_id}"}
    )
    # One record's history is small (no more than the page shows): the rows in memory, the tier changes included.
    lines = audit_trail.rows_lines(audit_trail.history_rows(history, user=request.user))
    return _export_response(lines, file_format, f"history-{object_type}-{object_id}")


EXPORT_FORMATS = ("csv", "xlsx")


class _Echo:
    """csv.writer writes into this and gets the line back, so a StreamingHttpResponse can send it."""

    def write(self, value: str) -> str:
        return value


def _export_response(lines: Iterator[list[str]], file_format: str, name: str) -> HttpResponseBase:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{name.replace('.', '-')}-{stamp}"
    if file_format == "csv":
        writer = csv.writer(_Echo())

        def stream() -> Iterator[str]:
            yield "\ufeff"  # the BOM: Excel then reads the file as UTF-8 (Chinese names and actions)
            yield writer.writerow(audit_trail.export_headers())
            for line in lines:
                yield writer.writerow(line)

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    # XLSX: written row by row in constant-memory mode to a temporary file, then sent from it.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    book = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet(_("Audit trail")[:31])
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, audit_trail.export_headers(), bold)
    sheet.set_column(0, 0, 19)
    sheet.set_column(1, 9, 16)
    for index, line in enumerate(lines, start=1):
        sheet.write_row(index, 0, line)
    book.close()
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{filename}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


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
