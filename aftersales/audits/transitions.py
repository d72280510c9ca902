"""The lifecycles of an audit and of its findings as data (issue 16): which move leads from which state to which,
and who may make it.  `audits.services` enforces these tables; pages and the API ask `audit_moves_for` /
`finding_moves_for` what to offer.

Who: the group's quality department (MANAGE_AUDITS) plans audits, assigns auditors, and may fill in, submit or
cancel any audit; an auditor (PERFORM_AUDITS: the quality department, or an external mystery shopper) fills in
and submits only the audits they are the auditor of (own record).  The audited store reads an audit only once it
is submitted (VIEW_AUDITS, see `selectors.audits_for`) and makes none of its moves.

A finding is put right by its owner (by default the store's manager), or closed by whoever runs CAPAs in the store
(MANAGE_CAPA: the store manager, the group manager, the quality department); a finding (or several alike) opens a
CAPA (MANAGE_CAPA).  The daily sweep tells the owner and the store's managers when one falls due still open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from aftersales.audits.choices import AuditStatus as A
from aftersales.audits.choices import FindingStatus as F
from aftersales.organisation.permissions import ROLE_CAPABILITIES
from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import Actor, Lifecycle, Move, Party, move

if TYPE_CHECKING:
    from aftersales.audits.models import Audit, Finding

INTAKE = "intake"  # creates the record (no state before it)
ACTION = "action"  # keeps the state: an answer, a new auditor, a CAPA from findings
SWEEP = "sweep"  # the system's daily work: findings falling due
RECORD = "record"  # the one-shot record of a whole audit (POST /api/v1/audits)

# States in which an audit is still being worked on (hidden from the audited store).
AUDIT_OPEN_STATES = frozenset({A.PLANNED, A.IN_PROGRESS})
_MANAGE = (Cap.MANAGE_AUDITS,)
_PERFORM = (Cap.PERFORM_AUDITS,)

AUDIT = Lifecycle(
    "audit",
    states=tuple(A.values),
    moves=(
        move("plan", (), A.PLANNED, capabilities=_MANAGE, via=INTAKE, label=_("Plan an audit")),
        # The auditor (or the quality department) records a whole audit at once: it is submitted as it is created.
        move("record", (), A.SUBMITTED, capabilities=[*_MANAGE, *_PERFORM], via=RECORD, label=_("Record an audit")),
        move("assign", AUDIT_OPEN_STATES, None, capabilities=_MANAGE, via=ACTION, label=_("Assign the auditor")),
        move("start", [A.PLANNED], A.IN_PROGRESS, capabilities=_MANAGE, own=_PERFORM, label=_("Start the audit")),
        move("answer", [A.IN_PROGRESS], None, capabilities=_MANAGE, own=_PERFORM, via=ACTION, label=_("Answer")),
        move("submit", [A.IN_PROGRESS], A.SUBMITTED, capabilities=_MANAGE, own=_PERFORM, label=_("Submit the audit")),
        move(
            "cancel",
            AUDIT_OPEN_STATES,
            A.CANCELLED,
            capabilities=_MANAGE,
            needs_reason=True,
            label=_("Cancel the audit"),
        ),
    ),
)
AUDIT_FLOW: dict[str, frozenset[str]] = AUDIT.flow

_CAPA = (Cap.MANAGE_CAPA,)
FINDING = Lifecycle(
    "audit_finding",
    states=tuple(F.values),
    moves=(
        # Raised by the submission of the audit (one per failed item), by whoever submits it.
        move(
            "raise",
            (),
            F.OPEN,
            capabilities=[*_MANAGE, *_PERFORM],
            via=INTAKE,
        ),
        # The owner closes their own finding (they read it through the audit or their inbox); whoever runs CAPAs
        # in the store closes any.
        move(
            "close",
            [F.OPEN],
            F.CLOSED,
            capabilities=_CAPA,
            own=[Cap.VIEW_AUDITS, Cap.VIEW_FEEDBACK],
            needs_reason=True,
            label=_("Close: put right"),
        ),
        move("open_capa", [F.OPEN], None, capabilities=_CAPA, via=ACTION, label=_("Open a CAPA")),
        move("overdue", [F.OPEN], None, parties=[Party.SYSTEM], via=SWEEP),
    ),
)
FINDING_FLOW: dict[str, frozenset[str]] = FINDING.flow

LIFECYCLES = (AUDIT, FINDING)

# Who may be named a finding's owner: whoever may close their own finding.
FINDING_OWNER_ROLES = [
    role for role, held in ROLE_CAPABILITIES.items() if held & set(FINDING.get("close").own_capabilities)
]


def audit_moves_for(*, audit: Audit, user: Actor, via: str | None = None) -> list[Move]:
    """The moves of the audit `user` may make now (the auditor's own moves count on their own audit only)."""
    return AUDIT.offered(actor=user, state=audit.status, store_id=audit.store_id, assignee_id=audit.auditor_id, via=via)


def finding_moves_for(*, finding: Finding, user: Actor, via: str | None = None) -> list[Move]:
    """The moves of the finding `user` may make now (its owner closes their own)."""
    return FINDING.offered(
        actor=user, state=finding.status, store_id=finding.store_id, assignee_id=finding.owner_id, via=via
    )
