"""The repair order's lifecycle as data: which state may follow which (SPEC §3.4)."""

from aftersales.service.choices import RepairOrderStatus as S

REPAIR_ORDER_FLOW: dict[str, frozenset[str]] = {
    S.RECEPTION: frozenset({S.WAITING, S.CANCELLED}),
    S.WAITING: frozenset({S.IN_BAY, S.CANCELLED}),
    S.IN_BAY: frozenset({S.IN_PROGRESS, S.WAITING, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.WAITING_PARTS, S.QC}),
    S.WAITING_PARTS: frozenset({S.IN_PROGRESS}),
    S.QC: frozenset({S.WASHING, S.READY, S.IN_PROGRESS}),  # back to work when QC fails
    S.WASHING: frozenset({S.READY}),
    S.READY: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}

# States in which the estimate may still get new lines (a supplementary estimate is allowed while work goes on).
ESTIMATE_EDITABLE = frozenset({S.RECEPTION, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS})
# States that count as "in the workshop" for the board and the technician's list.
WORKSHOP_STATES = (S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS, S.QC, S.WASHING, S.READY)
# States in which the clock of work time runs (for the efficiency warning).
WORK_CLOCK_STATES = frozenset({S.IN_PROGRESS})
OPEN_STATES = frozenset(set(REPAIR_ORDER_FLOW) - {S.DELIVERED, S.CANCELLED})


def allowed(current: str, target: str) -> bool:
    return target in REPAIR_ORDER_FLOW.get(current, frozenset())


def as_mermaid() -> str:
    """The table as a Mermaid state diagram, for docs/service.md."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.RECEPTION}"]
    for source, targets in REPAIR_ORDER_FLOW.items():
        lines.extend(f"    {source} --> {target}" for target in sorted(targets))
    lines.extend(f"    {s} --> [*]" for s in (S.DELIVERED, S.CANCELLED))
    return "\n".join(lines)
