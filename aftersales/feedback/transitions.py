"""The lifecycles of the voice of the customer as data: which state may follow which (SPEC §4)."""

from aftersales.feedback.choices import CapaStatus as C
from aftersales.feedback.choices import ComplaintStatus as S
from aftersales.feedback.choices import FollowUpStatus as F
from aftersales.feedback.choices import SuggestionStatus as G

COMPLAINT_FLOW: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED}),
    S.ACKNOWLEDGED: frozenset({S.CONTACTED}),
    S.CONTACTED: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.ACKNOWLEDGED}),  # back to acknowledged = reopened
    S.CLOSED: frozenset({S.ACKNOWLEDGED}),  # reopened: the customer came back with the same problem
}
# Moves that count as reopening.
COMPLAINT_REOPEN = frozenset({(S.RESOLVED, S.ACKNOWLEDGED), (S.CLOSED, S.ACKNOWLEDGED)})
# States in which the owner still works on the complaint (clocks can be breached, it can be transferred).
COMPLAINT_OPEN_STATES = frozenset({S.NEW, S.ACKNOWLEDGED, S.CONTACTED})
# States in which a complaint may be handed to another owner.
COMPLAINT_TRANSFERABLE = frozenset({S.NEW, S.ACKNOWLEDGED, S.CONTACTED, S.RESOLVED})

FOLLOW_UP_FLOW: dict[str, frozenset[str]] = {
    F.OPEN: frozenset({F.DONE, F.REFUSED, F.UNREACHABLE}),
    F.DONE: frozenset(),
    F.REFUSED: frozenset(),
    F.UNREACHABLE: frozenset(),
}

SUGGESTION_FLOW: dict[str, frozenset[str]] = {
    G.OPEN: frozenset({G.DECIDED}),
    G.DECIDED: frozenset({G.CLOSED}),
    G.CLOSED: frozenset(),
}

CAPA_FLOW: dict[str, frozenset[str]] = {
    C.OPEN: frozenset({C.ANALYSING}),
    C.ANALYSING: frozenset({C.ACTING}),
    C.ACTING: frozenset({C.VERIFYING}),
    C.VERIFYING: frozenset({C.CLOSED, C.ACTING}),  # back to acting when the figures did not improve
    C.CLOSED: frozenset(),
}
# States in which the analysis, the actions and the verification may still be edited.
CAPA_EDITABLE = frozenset({C.OPEN, C.ANALYSING, C.ACTING, C.VERIFYING})

FLOWS: dict[str, dict[str, frozenset[str]]] = {
    "complaint": COMPLAINT_FLOW,
    "follow_up": FOLLOW_UP_FLOW,
    "suggestion": SUGGESTION_FLOW,
    "capa": CAPA_FLOW,
}


def allowed(flow: dict[str, frozenset[str]], current: str, target: str) -> bool:
    return target in flow.get(current, frozenset())


def as_mermaid(flow: dict[str, frozenset[str]]) -> str:
    """A table as a Mermaid state diagram, for docs/feedback.md."""
    lines = ["stateDiagram-v2", f"    [*] --> {next(iter(flow))}"]
    for source, targets in flow.items():
        lines.extend(f"    {source} --> {target}" for target in sorted(targets))
    lines.extend(f"    {s} --> [*]" for s, targets in flow.items() if not targets)
    return "\n".join(lines)
