"""The e-health record pages: the uploads not (yet) accepted with the platform's reason and a resend action, and
the endpoint settings (store or group; the secret is never shown).  Thin: resolve, ask, call one service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core.pagination import Filter, choice_param, page_of, search_param
from aftersales.core.scoping import store_ids_where
from aftersales.ehr import selectors, services
from aftersales.ehr.choices import OPEN_STATUSES, STATUS_BADGES, SubmissionStatus
from aftersales.ehr.forms import SCOPE_GROUP, SCOPE_STORE, EndpointForm
from aftersales.ehr.models import EhrEndpoint, EhrSubmission
from aftersales.ehr.transitions import submission_moves_for
from aftersales.organisation.access import can, require
from aftersales.organisation.current import current_store, current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.permissions import Capability as C


def submission_list(request: HttpRequest) -> HttpResponse:
    """What is pending, retrying, rejected or failed (filter by status; accepted ones on request), oldest first."""
    require(request.user, C.MANAGE_EHR)
    query = search_param(request)
    status = choice_param(request, "status", SubmissionStatus.values)
    statuses = (status,) if status else OPEN_STATUSES
    page = page_of(
        request,
        selectors.submission_list(
            user=request.user, store_ids=current_store_ids(request), statuses=statuses, search=query
        ),
    )
    rows = [
        {
            "submission": s,
            "badge": STATUS_BADGES.get(s.status, "secondary"),
            "moves": submission_moves_for(obj=s, user=request.user),
        }
        for s in page.object_list
    ]
    filters = [
        Filter("q", _("Order number or VIN"), "search", query),
        Filter("status", _("Status"), "select", status, list(SubmissionStatus.choices)),
    ]
    return render(
        request,
        "ehr/submissions.html",
        {"rows": rows, "page": page, "filters": filters, "store": _endpoint_store(request)},
    )


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if target and safe else default


@require_POST
def submission_resend(request: HttpRequest, pk: int) -> HttpResponse:
    submission = EhrSubmission.objects.get_for_user_or_404(request.user, C.MANAGE_EHR, pk=pk)
    try:
        services.ehr_resend(submission=submission, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Queued again: the record goes with the next upload."))
    return redirect(_back(request, reverse("ehr:submissions")))


def _endpoint_store(request: HttpRequest) -> Store | None:
    """The store whose endpoint the page shows: the current one, else the first where the user holds MANAGE_EHR."""
    store = current_store(request)
    if store is not None and can(request.user, C.MANAGE_EHR, store_id=store.pk):
        return store
    ids = sorted(store_ids_where(request.user, C.MANAGE_EHR))
    return Store.objects.select_related("group").filter(pk=ids[0]).first() if ids else None


def _masked(endpoint: EhrEndpoint | None) -> dict[str, Any] | None:
    if endpoint is None:
        return None
    return {"endpoint": endpoint, "secret_set": bool(endpoint.secret_encrypted)}


def endpoint_settings(request: HttpRequest) -> HttpResponse:
    """The endpoint in force at the store (its own, else the group's) and the form to change either."""
    require(request.user, C.MANAGE_EHR)
    store = _endpoint_store(request)
    if store is None:
        raise PermissionDenied(_("Your role may not do this."))
    own = selectors.endpoint_of_scope(group_id=store.group_id, store=store)
    group_wide = selectors.endpoint_of_scope(group_id=store.group_id, store=None)
    shown = own or group_wide
    initial: dict[str, Any] = {"scope": SCOPE_STORE if own or not group_wide else SCOPE_GROUP, "enabled": True}
    if shown is not None:
        initial.update({name: getattr(shown, name) for name in services.ENDPOINT_FIELDS})
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        scope = data.pop("scope")
        try:
            services.ehr_endpoint_save(
                by=request.user, group=store.group, store=store if scope == SCOPE_STORE else None, **data
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("E-health endpoint saved."))
            return redirect(reverse("ehr:endpoint"))
    return render(
        request,
        "ehr/endpoint.html",
        {
            "store": store,
            "own": _masked(own),
            "group_wide": _masked(group_wide),
            "form": form,
            "may_group": can(request.user, C.EDIT_GROUP_SETTINGS, store_id=store.pk),
        },
        status=400 if form.errors else 200,
    )


urlpatterns: list[URLPattern] = [
    path("ehr/", submission_list, name="submissions"),
    path("ehr/submissions/<int:pk>/resend/", submission_resend, name="submission-resend"),
    path("ehr/endpoint/", endpoint_settings, name="endpoint"),
]
