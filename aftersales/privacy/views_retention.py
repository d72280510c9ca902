"""The retention page (/privacy/retention/, MANAGE_RETENTION in every store of the group): the policy in force,
the latest dry run's report, a button to make one and one to carry it out (with a confirmation), and the past
runs.  Thin: the service decides and checks; the page asks `retention_moves_for` what to offer."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.privacy import retention
from aftersales.privacy.models import RetentionRun

SAMPLE = 50  # ids shown per category; the whole list stays in the run's report


def _group(request: HttpRequest, user: User) -> Any:
    groups = retention.groups_for(user)
    if not groups:
        raise PermissionDenied(_("Your role may not do this."))
    wanted = request.POST.get("group") or request.GET.get("group")
    return next((g for g in groups if str(g.pk) == wanted), groups[0]), groups


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for category in retention.POLICY:
        entry = report.get(category.key) or {}
        ids = entry.get("ids", [])
        rows.append(
            {
                "category": category,
                "action": retention.ACTION_LABELS.get(entry.get("action", category.action), category.action),
                "count": entry.get("count", 0),
                "sample": ids[:SAMPLE],
                "more": max(0, len(ids) - SAMPLE),
            }
        )
    return rows


def retention_page(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    group, groups = _group(request, user)
    confirm_error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "dry_run":
                run = retention.retention_dry_run(group=group, by=user)
                messages.success(request, _("Dry run made: %(count)s records listed.") % {"count": _total(run)})
                return HttpResponseRedirect(f"{reverse('privacy:retention')}?group={group.pk}")
            if action == "purge":
                dry = RetentionRun.objects.filter(
                    pk=request.POST.get("dry_run") or 0, group=group, dry_run=True
                ).first()
                if dry is None:
                    raise ValidationError({"dry_run": [_("Choose a dry run of this dealer group.")]})
                if not request.POST.get("confirm"):
                    confirm_error = _("Tick the box to confirm: this cannot be undone.")
                else:
                    run = retention.retention_purge(group=group, by=user, dry_run=dry)
                    messages.success(request, _("Purge carried out: %(count)s records.") % {"count": _total(run)})
                    return HttpResponseRedirect(f"{reverse('privacy:retention')}?group={group.pk}")
        except ValidationError as error:
            for problems in error.message_dict.values():
                for problem in problems:
                    messages.error(request, problem)
    latest = retention.latest_dry_run(group=group)
    moves = retention.retention_moves_for(group=group, user=user, run=latest)
    lengths = retention.policy_lengths(group)
    policy = [
        {"category": c, "length": lengths[c.key], "action": retention.ACTION_LABELS[c.action]} for c in retention.POLICY
    ]
    return render(
        request,
        "privacy/retention.html",
        {
            "group": group,
            "groups": groups,
            "policy": policy,
            "latest": latest,
            "latest_rows": _rows(latest.report) if latest else [],
            "latest_total": _total(latest) if latest else 0,
            "moves": moves,
            "confirm_error": confirm_error,
            "runs": retention.run_list(group=group),
        },
        status=200,
    )


def _total(run: RetentionRun) -> int:
    return sum(int(entry.get("count", 0)) for entry in run.report.values())
