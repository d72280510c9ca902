"""The group's audit checklists per kind, with their items and weights; the quality department (MANAGE_AUDITS)
edits them (a checklist an audit has answered is replaced by a new one, so past scores stand) and installs the
defaults when the group has none."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.audits import selectors_pages, services
from aftersales.audits.choices import AuditKind
from aftersales.audits.forms import ChecklistForm, ChecklistItemFormSet
from aftersales.audits.models import AuditChecklist
from aftersales.core.pagination import choice_param
from aftersales.organisation.access import can, require
from aftersales.organisation.permissions import Capability as C


def checklist_list(request: HttpRequest) -> HttpResponse:
    """Every checklist of the group per kind (those in use first), with items, weights and the n.a. rule."""
    require(request.user, C.MANAGE_AUDITS, C.VIEW_AUDITS)
    group = selectors_pages.reading_group(request.user)
    checklists = selectors_pages.checklists_with_items(group) if group else []
    sections = []
    for kind, label in AuditKind.choices:
        mine = [c for c in checklists if c.kind == kind]
        sections.append(
            {
                "kind": kind,
                "label": label,
                "active": [c for c in mine if c.is_active],
                "retired": [c for c in mine if not c.is_active],
            }
        )
    return render(
        request,
        "audits/checklists.html",
        {
            "sections": sections,
            "may_manage": can(request.user, C.MANAGE_AUDITS) and selectors_pages.managed_group(request.user),
            "empty": not checklists,
        },
    )


@require_POST
def checklists_defaults(request: HttpRequest) -> HttpResponse:
    require(request.user, C.MANAGE_AUDITS)
    group = selectors_pages.managed_group(request.user)
    if group is None:
        raise Http404
    services.checklists_install_defaults(group=group)
    messages.success(request, _("The default checklists are installed."))
    return redirect(reverse("audits:checklists"))


def _item_initial(checklist: AuditChecklist | None) -> list[dict[str, Any]]:
    if checklist is None:
        return []
    return [
        {
            "item_id": item.pk,
            "text": item.text,
            "text_en": item.text_en,
            "weight": item.weight,
            "allows_na": item.allows_na,
            "step": item.step,
        }
        for item in checklist.items.order_by("position", "id")
    ]


def _apply_errors(exc: ValidationError, form: ChecklistForm, rows: list[Any]) -> None:
    """The service names an item's field as items.<n>.<field> (n counts the filled rows): next to that field."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    for key, texts in errors.items():
        parts = key.split(".")
        if parts[0] == "items" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            row = rows[int(parts[1])]
            for text in texts:
                row.add_error(parts[2] if parts[2] in row.fields else None, text)
        else:
            for text in texts:
                form.add_error(key if key in form.fields else None, text)


def checklist_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A checklist's title and items (text, weight, whether n.a. is allowed); saving one some audit has answered
    makes its replacement."""
    require(request.user, C.MANAGE_AUDITS)
    group = selectors_pages.managed_group(request.user)
    if group is None:
        raise Http404
    checklist = None
    if pk is not None:
        checklist = AuditChecklist.objects.filter(pk=pk, group=group).first()
        if checklist is None:
            raise Http404
    kind = choice_param(request, "kind", AuditKind.values) or AuditKind.MYSTERY_SHOPPER
    initial = (
        {"kind": checklist.kind, "title": checklist.title, "description": checklist.description}
        if checklist
        else {"kind": kind}
    )
    posted = request.method == "POST"
    form = ChecklistForm(request.POST if posted else None, initial=initial)
    items = ChecklistItemFormSet(request.POST if posted else None, initial=_item_initial(checklist), prefix="items")
    if posted and form.is_valid() and items.is_valid():
        filled = [f for f in items.forms if f.cleaned_data and f.as_item() is not None]
        try:
            saved = services.checklist_save(
                by=request.user,
                group=group,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                items=[row for f in filled if (row := f.as_item()) is not None],
                checklist=checklist,
            )
        except ValidationError as exc:
            _apply_errors(exc, form, filled)
        else:
            messages.success(request, _("Checklist saved."))
            return redirect(reverse("audits:checklists") + f"#checklist-{saved.pk}")
    invalid = posted
    return render(
        request,
        "audits/checklist_edit.html",
        {"checklist": checklist, "form": form, "items": items},
        status=400 if invalid else 200,
    )
