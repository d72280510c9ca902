"""The reports page (/numbers/reports/): ask for a store's or a group's monthly, quarterly or yearly report as XLSX
or PDF, watch it being produced (the list polls while a run is queued or running), download it through a view
that checks the reader's right to the figures (never a public media URL)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.analytics.models import ReportFormat, ReportStatus
from aftersales.analytics.periods import Period
from aftersales.analytics.reports import selectors, services
from aftersales.core import clock
from aftersales.organisation.access import require
from aftersales.organisation.current import current_store
from aftersales.organisation.permissions import Capability as C

GROUP_PREFIX = "group:"


class ReportRequestForm(forms.Form):
    """Shape only: the service checks the period, the right to the scope and the rest, naming the field."""

    period = forms.CharField(
        label=gettext_lazy("Period"),
        max_length=8,
        help_text=gettext_lazy("YYYY-MM, YYYY-Qn or YYYY (e.g. 2026-05, 2026-Q2, 2026)."),
    )
    store = forms.ChoiceField(label=gettext_lazy("Store or group"))
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=ReportFormat.choices)
    language = forms.ChoiceField(label=gettext_lazy("Language"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.conf import settings

        self.stores, self.groups = selectors.report_scopes_for_user(user=user)
        choices = [(store.code, f"{store.code} · {store.name}") for store in self.stores]
        choices += [
            (f"{GROUP_PREFIX}{group.code}", _("Whole group: %(name)s") % {"name": group.name}) for group in self.groups
        ]
        self.fields["store"].choices = choices  # type: ignore[attr-defined]
        self.fields["language"].choices = settings.LANGUAGES  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"

    def scope(self) -> dict[str, Any]:
        value = self.cleaned_data["store"]
        if value.startswith(GROUP_PREFIX):
            code = value.removeprefix(GROUP_PREFIX)
            return {"group": next(group for group in self.groups if group.code == code)}
        return {"store": next(store for store in self.stores if store.code == value)}


def _initial(request: HttpRequest) -> dict[str, Any]:
    last_month = Period.containing(timezone.localtime(clock.now()).date()).previous()
    store = current_store(request)
    return {
        "period": str(last_month),
        "store": store.code if store is not None else "",
        "format": ReportFormat.XLSX,
        "language": translation.get_language(),
    }


def report_list(request: HttpRequest) -> HttpResponse:
    """The request form and the latest runs."""
    require(request.user, C.VIEW_KPIS)
    if request.method == "POST":
        form = ReportRequestForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.report_request(
                    user=request.user,
                    period=form.cleaned_data["period"],
                    format=form.cleaned_data["format"],
                    language=form.cleaned_data["language"],
                    **form.scope(),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The report is being produced; it appears below when ready."))
                return redirect("analytics:reports")
    else:
        form = ReportRequestForm(initial=_initial(request), user=request.user)
    return render(request, "analytics/report_list.html", {"form": form, **_runs_context(request)})


def report_runs(request: HttpRequest) -> HttpResponse:
    """The list of runs alone (what the page polls while a run is being produced)."""
    require(request.user, C.VIEW_KPIS)
    return render(request, "analytics/report_runs.html", _runs_context(request))


def _runs_context(request: HttpRequest) -> dict[str, Any]:
    runs = list(selectors.report_run_list_for_user(user=request.user))
    for run in runs:  # a file with plates in full only for who may see them; the others get their own copy
        run.downloadable = services.may_download(request.user, run=run)  # type: ignore[attr-defined]
    active = any(run.status in (ReportStatus.QUEUED, ReportStatus.RUNNING) for run in runs)
    return {"runs": runs, "active": active, "statuses": ReportStatus}


def report_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file, to a reader with the right to the figures and, for a file with plates in full, to the plates
    (404 for another store's run or a file the reader may not read, like a missing one)."""
    run = selectors.report_run_get_for_user(user=request.user, pk=pk)
    try:
        handle, name, content_type = services.report_file_for_user(user=request.user, run=run)
    except PermissionDenied as exc:
        raise Http404("No report matches the given query.") from exc
    except ValidationError as exc:  # not ready (or failed): nothing to download
        raise Http404(exc.messages[0]) from exc
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
