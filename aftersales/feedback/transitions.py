"""The lifecycles of the voice of the customer as data (SPEC §4): which move leads from which state to which, and
who may make it.  The rulebook (`organisation.rules`) enforces these tables in the services; pages and the API ask
`complaint_moves_for` / `capa_moves_for` / `suggestion_moves_for` / `follow_up_moves_for` / `recovery_moves_for`
what to offer.  The transition tables other code reads (`COMPLAINT_FLOW`, `CAPA_FLOW` …) are derived from them.

Who: complaints, suggestions and service recovery belong to the store's complaint desk (HANDLE_COMPLAINTS:
advisors, agents, the manager), the follow-up calls to the agents (FOLLOW_UP), CAPA to the manager (MANAGE_CAPA).
A complaint's owner (首问负责制) answers for it — the "mine" list, the escalation messages and the transfer trail
name them — but the moves are not the owner's alone: the 2-hour acknowledge clock cannot wait for an owner who
is off shift, and the store manager who receives the escalation must be able to act at once (no capability tells
the manager from an advisor).  The same holds for a recovery task: it is the order's advisor's call, and the
manager's once the clock has run out.  The corrective action of a CAPA is the exception: its owner (any member
of the store's staff who can read feedback) marks their own action done."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from aftersales.feedback.choices import CapaStatus as C
from aftersales.feedback.choices import ComplaintStatus as S
from aftersales.feedback.choices import FollowUpStatus as F
from aftersales.feedback.choices import RecoveryStatus as R
from aftersales.feedback.choices import SuggestionStatus as G
from aftersales.feedback.choices import SurveyChannel
from aftersales.organisation.permissions import ROLE_CAPABILITIES
from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import TRANSITION, Actor, Lifecycle, Move, Party, move

if TYPE_CHECKING:
    from aftersales.feedback.models import Capa, CapaAction, Complaint, FollowUp, RecoveryTask, Suggestion

# Moves that are not a change of state from one to another.
INTAKE = "intake"  # creates the record (no state before it)
ACTION = "action"  # keeps the state: transfer, edit the analysis …
SWEEP = "sweep"  # the system's periodic work: escalations

# States in which the owner still works on the complaint (clocks can be breached, it can be transferred).
COMPLAINT_OPEN_STATES = frozenset({S.NEW, S.ACKNOWLEDGED, S.CONTACTED})
# States in which a complaint may be handed to another owner.
COMPLAINT_TRANSFERABLE = frozenset({S.NEW, S.ACKNOWLEDGED, S.CONTACTED, S.RESOLVED})
_DESK = (Cap.HANDLE_COMPLAINTS,)

COMPLAINT = Lifecycle(
    "complaint",
    states=tuple(S.values),
    moves=(
        # Staff log what reaches them by any channel; the customer reports through their survey link.
        move("log", (), S.NEW, capabilities=_DESK, parties=[Party.CUSTOMER], via=INTAKE, label=_("Log a complaint")),
        # Acknowledging takes a new complaint (and owns it when nobody does).  Only from new: a resolved or
        # closed complaint comes back through `reopen`, with its reason and its count.
        move("acknowledge", [S.NEW], S.ACKNOWLEDGED, capabilities=_DESK, label=_("Acknowledge")),
        move("contact", [S.ACKNOWLEDGED], S.CONTACTED, capabilities=_DESK, label=_("Customer contacted")),
        move("resolve", [S.CONTACTED], S.RESOLVED, capabilities=_DESK, label=_("Record the resolution")),
        move("close", [S.RESOLVED], S.CLOSED, capabilities=_DESK, label=_("Close with the customer's confirmation")),
        move(
            "reopen",
            [S.RESOLVED, S.CLOSED],
            S.ACKNOWLEDGED,
            capabilities=_DESK,
            needs_reason=True,
            label=_("Reopen"),
        ),
        move(
            "transfer",
            COMPLAINT_TRANSFERABLE,
            None,
            capabilities=_DESK,
            needs_reason=True,
            via=ACTION,
            label=_("Hand over"),
        ),
        move("escalate", COMPLAINT_OPEN_STATES, None, parties=[Party.SYSTEM], via=SWEEP),
    ),
)
COMPLAINT_FLOW: dict[str, frozenset[str]] = COMPLAINT.flow
# Moves that count as reopening.
COMPLAINT_REOPEN = frozenset((source, S.ACKNOWLEDGED) for source in COMPLAINT.get("reopen").sources)

# A follow-up is opened by the sweep for each delivered order; an agent calls (each attempt is a move: a
# failed one keeps it open until the last); the customer's own answer through the link closes it too.
_CALLER = (Cap.FOLLOW_UP,)
ATTEMPT = "attempt"  # the call-script screen / the attempts endpoint
FOLLOW_UP = Lifecycle(
    "follow_up",
    states=tuple(F.values),
    moves=(
        move("open", (), F.OPEN, parties=[Party.SYSTEM], via=INTAKE),
        move("no_answer", [F.OPEN], None, capabilities=_CALLER, via=ATTEMPT, label=_("No answer: try again later")),
        move("reached", [F.OPEN], F.DONE, capabilities=_CALLER, via=ATTEMPT, label=_("Reached: record the survey")),
        move("refused", [F.OPEN], F.REFUSED, capabilities=_CALLER, via=ATTEMPT, label=_("Customer declined")),
        move("unreachable", [F.OPEN], F.UNREACHABLE, capabilities=_CALLER, via=ATTEMPT, label=_("Unreachable")),
        move("answered_by_link", [F.OPEN], F.DONE, parties=[Party.CUSTOMER], via="survey"),
    ),
)
FOLLOW_UP_FLOW: dict[str, frozenset[str]] = FOLLOW_UP.flow

# A survey is recorded once per visit and channel: at the delivery desk or for a campaign by staff who meet the
# customer or call them; on the follow-up call by the agent (through the call's attempt); on the link by the
# customer only — a member of staff never answers as the customer.
SURVEY_MOVE_FOR_CHANNEL: dict[str, str] = {
    SurveyChannel.DELIVERY: "record_at_desk",
    SurveyChannel.CAMPAIGN: "record_at_desk",
    SurveyChannel.FOLLOW_UP_CALL: "record_on_call",
    SurveyChannel.CUSTOMER_LINK: "record_by_link",
}
SURVEY = Lifecycle(
    "survey",
    states=("answered",),
    moves=(
        move("record_at_desk", (), "answered", capabilities=[Cap.RECEIVE, Cap.FOLLOW_UP], via=INTAKE),
        move("record_on_call", (), "answered", capabilities=[Cap.FOLLOW_UP], via=ATTEMPT),
        move("record_by_link", (), "answered", parties=[Party.CUSTOMER], via=INTAKE),
    ),
)

# A recovery task opens by itself when a survey scores low (whoever recorded the survey); the desk records the
# outcome; the sweep escalates (store manager, then the group).
RECOVERY = Lifecycle(
    "recovery",
    states=tuple(R.values),
    moves=(
        move("open", (), R.OPEN, parties=[Party.SYSTEM], via=INTAKE),
        move("record", [R.OPEN], R.DONE, capabilities=_DESK, label=_("Record the outcome")),
        move("escalate", [R.OPEN], None, parties=[Party.SYSTEM], via=SWEEP),
    ),
)

SUGGESTION = Lifecycle(
    "suggestion",
    states=tuple(G.values),
    moves=(
        move("log", (), G.OPEN, capabilities=_DESK, via=INTAKE, label=_("Log a suggestion")),
        move("decide", [G.OPEN], G.DECIDED, capabilities=_DESK, label=_("Adopt or not")),
        move("close", [G.DECIDED], G.CLOSED, capabilities=_DESK, label=_("The customer has been told")),
        move("escalate", [G.OPEN], None, parties=[Party.SYSTEM], via=SWEEP),
    ),
)
SUGGESTION_FLOW: dict[str, frozenset[str]] = SUGGESTION.flow

# States in which the analysis, the actions and the verification may still be edited.
CAPA_EDITABLE = frozenset({C.OPEN, C.ANALYSING, C.ACTING, C.VERIFYING})
_CAPA = (Cap.MANAGE_CAPA,)
CAPA = Lifecycle(
    "capa",
    states=tuple(C.values),
    moves=(
        move("open", (), C.OPEN, capabilities=_CAPA, via=INTAKE, label=_("Open a CAPA")),
        move("analyse", [C.OPEN], C.ANALYSING, capabilities=_CAPA, label=_("Start the root-cause analysis")),
        move("act", [C.ANALYSING], C.ACTING, capabilities=_CAPA, label=_("Root cause found: start the actions")),
        move("verify", [C.ACTING], C.VERIFYING, capabilities=_CAPA, label=_("Actions done: verify the effect")),
        move(
            "close",
            [C.VERIFYING],
            C.CLOSED,
            capabilities=_CAPA,
            label=_("Effect verified: close with the procedure change"),
        ),
        # Back to acting when the figures did not improve.
        move(
            "back_to_acting", [C.VERIFYING], C.ACTING, capabilities=_CAPA, label=_("Not improved: back to the actions")
        ),
        # The analysis, the KPI figures, the procedure change and the corrective actions.
        move("edit", CAPA_EDITABLE, None, capabilities=_CAPA, via=ACTION),
        # A corrective action is marked done by the manager, or by the action's own owner.
        move("action_done", CAPA_EDITABLE, None, capabilities=_CAPA, own=[Cap.VIEW_FEEDBACK], via=ACTION),
    ),
)
CAPA_FLOW: dict[str, frozenset[str]] = CAPA.flow


def roles_holding(*capabilities: Cap) -> list[str]:
    """The roles that hold one of `capabilities` (who may be named as the new owner of a record)."""
    return [role for role, held in ROLE_CAPABILITIES.items() if held & set(capabilities)]


# Who may be handed a complaint: whoever may work on one.  Who may own a corrective action: whoever may mark
# their own action done.
COMPLAINT_HANDLER_ROLES = roles_holding(*COMPLAINT.get("acknowledge").capabilities)
CAPA_ACTION_OWNER_ROLES = roles_holding(*CAPA.get("action_done").own_capabilities)

LIFECYCLES = (COMPLAINT, FOLLOW_UP, SURVEY, RECOVERY, SUGGESTION, CAPA)
FLOWS: dict[str, dict[str, frozenset[str]]] = {
    "complaint": COMPLAINT_FLOW,
    "follow_up": FOLLOW_UP_FLOW,
    "suggestion": SUGGESTION_FLOW,
    "capa": CAPA_FLOW,
}


def allowed(flow: dict[str, frozenset[str]], current: str, target: str) -> bool:
    return target in flow.get(current, frozenset())


def complaint_moves_for(*, complaint: Complaint, user: Actor, via: str | None = None) -> list[Move]:
    """The moves of the complaint that `user` may make now."""
    return COMPLAINT.offered(actor=user, state=complaint.status, store_id=complaint.store_id, via=via)


def suggestion_moves_for(*, suggestion: Suggestion, user: Actor, via: str | None = None) -> list[Move]:
    return SUGGESTION.offered(actor=user, state=suggestion.status, store_id=suggestion.store_id, via=via)


def capa_moves_for(*, capa: Capa, user: Actor, via: str | None = None) -> list[Move]:
    """The CAPA's moves `user` may make now (`action_done` here is the manager's; an action's owner asks
    `capa_action_moves_for`)."""
    return CAPA.offered(actor=user, state=capa.status, store_id=capa.store_id, via=via)


def capa_action_moves_for(*, capa: Capa, action: CapaAction, user: Actor) -> list[Move]:
    """May `user` mark this corrective action of `capa` done (the manager, or the action's owner)?"""
    if action.done_at is not None:
        return []
    return [
        m
        for m in CAPA.offered(actor=user, state=capa.status, store_id=capa.store_id, assignee_id=action.owner_id)
        if m.name == "action_done"
    ]


def capa_step(state: str, to: object) -> Move:
    """The step of the CAPA from `state` to `to`; when none leads there, the first step: every step has the same
    rule, so a role refused the steps is refused before the state is looked at."""
    step = CAPA.find(state, to) if isinstance(to, str) else None
    return step if step is not None else CAPA.get("analyse")


def follow_up_moves_for(*, follow_up: FollowUp, user: Actor) -> list[Move]:
    return FOLLOW_UP.offered(actor=user, state=follow_up.status, store_id=follow_up.store_id, via=ATTEMPT)


def recovery_moves_for(*, task: RecoveryTask, user: Actor) -> list[Move]:
    return RECOVERY.offered(actor=user, state=task.status, store_id=task.store_id, via=TRANSITION)


def offers(moves: list[Move], name: str) -> bool:
    return any(m.name == name for m in moves)


def as_mermaid(flow: dict[str, frozenset[str]]) -> str:
    """A table as a Mermaid state diagram, for docs/feedback.md."""
    lines = ["stateDiagram-v2", f"    [*] --> {next(iter(flow))}"]
    for source, targets in flow.items():
        lines.extend(f"    {source} --> {target}" for target in sorted(targets))
    lines.extend(f"    {s} --> [*]" for s, targets in flow.items() if not targets)
    return "\n".join(lines)
