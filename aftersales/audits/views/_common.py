"""What the audit pages share: the look-ups that answer 404 for what the user may not see, the names of the moves
the rulebook offers, the badges."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse

from aftersales.audits import selectors
from aftersales.audits.choices import AuditStatus, FindingStatus
from aftersales.audits.models import Audit, Finding
from aftersales.audits.transitions import audit_moves_for, finding_moves_for

STATUS_BADGES = {
    AuditStatus.PLANNED: "text-bg-secondary",
    AuditStatus.IN_PROGRESS: "text-bg-primary",
    AuditStatus.SUBMITTED: "text-bg-success",
    AuditStatus.CANCELLED: "text-bg-light border text-muted",
}
FINDING_BADGES = {FindingStatus.OPEN: "text-bg-warning", FindingStatus.CLOSED: "text-bg-success"}


def audit_for(request: HttpRequest, pk: int) -> Audit:
    """The audit if the user may see it now (an audit in progress is 404 for the audited store)."""
    return selectors.audit_detail(user=request.user, pk=pk)


def audit_moves(audit: Audit, user: Any) -> set[str]:
    return {m.name for m in audit_moves_for(audit=audit, user=user)}


def finding_moves(finding: Finding, user: Any) -> set[str]:
    return {m.name for m in finding_moves_for(finding=finding, user=user)}


def finding_for(request: HttpRequest, pk: int) -> Finding:
    finding = selectors.findings_for(request.user).filter(pk=pk).select_related("audit").first()
    if finding is None:
        raise Http404
    return finding


def audit_url(audit: Audit, anchor: str = "") -> str:
    return reverse("audits:audit-detail", args=[audit.pk]) + (f"#{anchor}" if anchor else "")


def fill_url(audit: Audit, anchor: str = "") -> str:
    return reverse("audits:fill", args=[audit.pk]) + (f"#{anchor}" if anchor else "")
