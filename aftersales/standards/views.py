"""The SOP pages: the library (steps × group default and store variants, the version in force, its effective date
and acknowledgement share), one procedure with every version (author, approver, change note, the CAPAs that
produced it, the items' difference from the version before), the draft / edit / publish forms for those the
rulebook allows (MANAGE_SOPS), the Acknowledge button, and "My SOPs to read"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import DealerGroup, Store
from aftersales.organisation.permissions import Capability
from aftersales.standards import selectors, services
from aftersales.standards.choices import VersionStatus
from aftersales.standards.forms import PublishForm, VariantForm, VersionForm
from aftersales.standards.models import Procedure, ProcedureVersion


def _require_staff(request: HttpRequest) -> None:
    if not store_ids_where(request.user):
        raise PermissionDenied(_("Your role may not do this."))


def _variant_stores(request: HttpRequest) -> list[Store]:
    return list(Store.objects.filter(pk__in=store_ids_where(request.user, Capability.MANAGE_SOPS)).order_by("code"))


def sop_library(request: HttpRequest) -> HttpResponse:
    """The library of the user's groups; managers may open a store's variant or install the built-in defaults."""
    _require_staff(request)
    stores = _variant_stores(request)
    variant_form = VariantForm(request.POST or None, stores=stores, prefix="variant")
    if request.method == "POST":
        what = request.POST.get("form", "")
        try:
            if what == "install":
                group = (
                    DealerGroup.objects.filter(pk__in=selectors.visible_group_ids(request.user))
                    .filter(pk=request.POST.get("group") if str(request.POST.get("group", "")).isdigit() else None)
                    .first()
                )
                if group is None:
                    raise PermissionDenied(_("Your role may not do this."))
                made = services.procedures_install_defaults(group=group, by=request.user)
                messages.success(request, _("%(n)s built-in procedures installed.") % {"n": made})
                return redirect("standards:library")
            if what == "variant" and variant_form.is_valid():
                store = next(s for s in stores if s.code == variant_form.cleaned_data["store"])
                procedure = services.procedure_ensure(
                    group=store.group, store=store, step=variant_form.cleaned_data["step"], by=request.user
                )
                return redirect("standards:draft", pk=procedure.pk)
            if what == "variant" and not stores:
                raise PermissionDenied(_("Your role may not do this."))
        except ValidationError as exc:
            variant_form.apply_service_errors(exc)
    libraries = selectors.library_for(request.user)
    return render(
        request,
        "standards/library.html",
        {
            "libraries": libraries,
            "variant_form": variant_form if stores else None,
            "pending": selectors.pending_acknowledgements(request.user),
            "today": clock.today(),
        },
        status=400 if variant_form.errors else 200,
    )


def sop_mine(request: HttpRequest) -> HttpResponse:
    """The versions the user was asked to read and has not acknowledged yet."""
    _require_staff(request)
    return render(request, "standards/mine.html", {"pending": selectors.pending_acknowledgements(request.user)})


def sop_procedure(request: HttpRequest, pk: int) -> HttpResponse:
    procedure = selectors.procedure_get_for_user_or_404(request.user, pk)
    today = clock.today()
    versions = selectors.procedure_versions(procedure, on=today)
    may_manage = selectors.may_manage(request.user, group_id=procedure.group_id, store_id=procedure.store_id)
    pending = {ack.version_id for ack in selectors.pending_acknowledgements(request.user)}
    if may_manage:
        by_store = selectors.shares_by_store(
            [v.version.pk for v in versions if v.version.status == VersionStatus.PUBLISHED]
        )
        for view in versions:
            view.store_shares = by_store.get(view.version.pk, [])
    built_in = None if versions else selectors.built_in_version(group_id=procedure.group_id, step=procedure.step)
    return render(
        request,
        "standards/procedure.html",
        {
            "procedure": procedure,
            "versions": versions,
            "may_manage": may_manage,
            "pending": pending,
            "has_draft": any(v.version.status == VersionStatus.DRAFT for v in versions),
            "publish_form": PublishForm(initial={"effective_from": today}),
            "today": today,
            "built_in": built_in,
            "built_in_items": selectors.version_items(built_in) if built_in else [],
        },
    )


def _procedure_managed(request: HttpRequest, pk: int) -> Procedure:
    procedure = selectors.procedure_get_for_user_or_404(request.user, pk)
    if not selectors.may_manage(request.user, group_id=procedure.group_id, store_id=procedure.store_id):
        raise PermissionDenied(_("Your role may not do this."))
    return procedure


def sop_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """Draft a new version (based on the latest) or edit the draft that is waiting."""
    procedure = _procedure_managed(request, pk)
    draft = procedure.versions.filter(status=VersionStatus.DRAFT).prefetch_related("items").first()
    base: ProcedureVersion = draft or services.base_version(procedure)
    initial_items = services.items_of(base)
    form = VersionForm(
        request.POST or None,
        items=initial_items,
        initial={"text": base.text, "change_note": draft.change_note if draft else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            fields: dict[str, Any] = {
                "text": form.cleaned_data["text"],
                "change_note": form.cleaned_data["change_note"],
                "items": form.items(),
            }
            if draft is None:
                draft = services.version_draft(procedure=procedure, by=request.user, **fields)
            else:
                services.version_edit(version=draft, by=request.user, **fields)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("standards:procedure", pk=procedure.pk)
        else:
            messages.success(request, _("Draft saved. Publish it when it is approved."))
            return redirect(reverse("standards:procedure", args=[procedure.pk]) + f"#v{draft.number}")
    return render(
        request,
        "standards/draft.html",
        {"procedure": procedure, "form": form, "draft": draft, "base": base},
        status=400 if form.errors else 200,
    )


def _version(request: HttpRequest, pk: int, version_pk: int) -> tuple[Procedure, ProcedureVersion]:
    procedure = selectors.procedure_get_for_user_or_404(request.user, pk)
    return procedure, selectors.version_get(procedure, version_pk)


@require_POST
def sop_publish(request: HttpRequest, pk: int, version_pk: int) -> HttpResponse:
    procedure, version = _version(request, pk, version_pk)
    if not selectors.may_manage(request.user, group_id=procedure.group_id, store_id=procedure.store_id):
        raise PermissionDenied(_("Your role may not do this."))
    form = PublishForm(request.POST)
    back = reverse("standards:procedure", args=[procedure.pk]) + f"#v{version.number}"
    if form.is_valid():
        try:
            services.version_publish(
                version=version, by=request.user, effective_from=form.cleaned_data["effective_from"]
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        else:
            messages.success(request, _("Version published; the staff concerned are asked to read it."))
            return redirect(back)
    for error in form.errors.get("effective_from", []) + form.non_field_errors():
        messages.error(request, error)
    return redirect(back)


@require_POST
def sop_acknowledge(request: HttpRequest, pk: int, version_pk: int) -> HttpResponse:
    procedure, version = _version(request, pk, version_pk)
    try:
        services.version_acknowledge(version=version, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you: acknowledged."))
    target = request.POST.get("next", "")
    if target == "mine":
        return redirect("standards:mine")
    return redirect(reverse("standards:procedure", args=[procedure.pk]) + f"#v{version.number}")


urlpatterns: list[URLPattern] = [
    path("sops/", sop_library, name="library"),
    path("sops/mine/", sop_mine, name="mine"),
    path("sops/<int:pk>/", sop_procedure, name="procedure"),
    path("sops/<int:pk>/draft/", sop_draft, name="draft"),
    path("sops/<int:pk>/versions/<int:version_pk>/publish/", sop_publish, name="publish"),
    path("sops/<int:pk>/versions/<int:version_pk>/acknowledge/", sop_acknowledge, name="acknowledge"),
]
