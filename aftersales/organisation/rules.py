"""The rulebook: who may make which move in every lifecycle, declared once as data and enforced by the services.

Each lifecycle (repair order, appointment, estimate line, complaint, …) lists its `Move`s: the states it starts
from, the state it leads to (or none for an action that keeps the state, such as dispatching), the capabilities
that allow it in the record's store, the capabilities that allow it only on one's own record (the technician's
own job, the owner's own complaint), the parties other than staff that may make it (the customer through their
signed link, the system's sweeps), whether a reason is needed and which action makes it (`via`: the generic
transition, or a dedicated form such as the quality check or the delivery).

The service that makes a move calls `Lifecycle.require(...)`; pages, the API, job lists and the demo generator call
`Lifecycle.offered(...)` (wrapped per entity as `<entity>_moves_for(*, obj, user)`) to learn what to show. Because
both read the same table, no interface can allow what another refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.permissions import Capability, user_can

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:  # the user model is only needed for type hints; importing it at load time would touch the app registry
    User = object


class Party(StrEnum):
    """Who acts when no member of staff does."""

    CUSTOMER = "customer"  # through the customer's own signed link
    SYSTEM = "system"  # a periodic sweep (escalations, no-shows, follow-ups falling due)


Actor: TypeAlias = "User | Party"
TRANSITION = "transition"  # the generic "move to state X" action of pages and the API


@dataclass(frozen=True)
class Move:
    """One allowed move of a lifecycle."""

    name: str
    sources: frozenset[str]
    target: str | None  # None: an action that keeps the state (dispatch, transfer …)
    capabilities: frozenset[Capability] = frozenset()  # any one of these, held in the record's store
    own_capabilities: frozenset[Capability] = frozenset()  # these count only on one's own record
    parties: frozenset[Party] = frozenset()
    needs_reason: bool = False
    via: str = TRANSITION
    label: str | Promise = ""

    def staff_may(self, user: User, *, store_id: int, assignee_id: int | None = None) -> bool:
        """Whether this member of staff may make the move on a record of `store_id` assigned to `assignee_id`."""
        if any(user_can(user, capability, store_id) for capability in self.capabilities):
            return True
        own = assignee_id is not None and assignee_id == getattr(user, "pk", None)
        return own and any(user_can(user, capability, store_id) for capability in self.own_capabilities)


def move(
    name: str,
    sources: Iterable[str],
    target: str | None,
    *,
    capabilities: Iterable[Capability] = (),
    own: Iterable[Capability] = (),
    parties: Iterable[Party] = (),
    needs_reason: bool = False,
    via: str = TRANSITION,
    label: str | Promise = "",
) -> Move:
    return Move(
        name=name,
        sources=frozenset(sources),
        target=target,
        capabilities=frozenset(capabilities),
        own_capabilities=frozenset(own),
        parties=frozenset(parties),
        needs_reason=needs_reason,
        via=via,
        label=label,
    )


@dataclass(frozen=True)
class Lifecycle:
    """A lifecycle's moves, with the transition table (`flow`) derived from them."""

    name: str
    states: tuple[str, ...]
    moves: tuple[Move, ...]
    flow: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [m.name for m in self.moves]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: move names must be unique")
        flow: dict[str, set[str]] = {state: set() for state in self.states}
        for m in self.moves:
            unknown = (m.sources | ({m.target} if m.target else set())) - set(self.states)
            if unknown:
                raise ValueError(f"{self.name}.{m.name}: unknown states {sorted(unknown)}")
            if m.target is not None:
                for source in m.sources:
                    flow[source].add(m.target)
        object.__setattr__(self, "flow", {state: frozenset(targets) for state, targets in flow.items()})

    def get(self, name: str) -> Move:
        for m in self.moves:
            if m.name == name:
                return m
        raise KeyError(f"{self.name} has no move {name!r}")

    def find(self, source: str, target: str, *, via: str = TRANSITION) -> Move | None:
        """The move from `source` to `target` made through `via`, if the table has one."""
        for m in self.moves:
            if m.target == target and source in m.sources and m.via == via:
                return m
        return None

    def allows(self, source: str, target: str) -> bool:
        return target in self.flow.get(source, frozenset())

    def may(self, m: Move, *, actor: Actor, store_id: int, assignee_id: int | None = None) -> bool:
        if isinstance(actor, Party):
            return actor in m.parties
        return m.staff_may(actor, store_id=store_id, assignee_id=assignee_id)

    def authorise(self, m: Move, *, actor: Actor, store_id: int, assignee_id: int | None = None) -> Move:
        """PermissionDenied unless `actor` may make move `m` on a record of this store (whatever its state).
        Services call this first, so a role without the right learns nothing more about the record."""
        if not self.may(m, actor=actor, store_id=store_id, assignee_id=assignee_id):
            raise PermissionDenied(_("Your role may not do this."))
        return m

    def require(self, m: Move, *, actor: Actor, state: str, store_id: int, assignee_id: int | None = None) -> Move:
        """`authorise`, then the state: a move not allowed from `state` is an ApplicationError with code
        invalid_transition (answered 409)."""
        self.authorise(m, actor=actor, store_id=store_id, assignee_id=assignee_id)
        if state not in m.sources:
            raise ApplicationError(
                _("This cannot be done in the record's present state."), {"code": "invalid_transition"}
            )
        return m

    def offered(
        self,
        *,
        actor: Actor,
        state: str,
        store_id: int,
        assignee_id: int | None = None,
        via: str | None = None,
    ) -> list[Move]:
        """The moves `actor` may make from `state`, in the table's order (optionally only those made `via`)."""
        return [
            m
            for m in self.moves
            if state in m.sources
            and (via is None or m.via == via)
            and self.may(m, actor=actor, store_id=store_id, assignee_id=assignee_id)
        ]

    def as_rows(self) -> list[dict[str, str]]:
        """The table for docs and the note: one row per move."""
        return [
            {
                "move": m.name,
                "from": ", ".join(s for s in self.states if s in m.sources) or "(new)",
                "to": m.target or "(same)",
                "who": ", ".join(sorted(m.capabilities)) or "-",
                "own record": ", ".join(sorted(m.own_capabilities)) or "-",
                "parties": ", ".join(sorted(m.parties)) or "-",
                "reason": "yes" if m.needs_reason else "",
                "via": m.via,
            }
            for m in self.moves
        ]


def actor_user(actor: Actor | None) -> User | None:
    """The member of staff behind an actor (for the audit trail), or None for the customer or the system."""
    return None if actor is None or isinstance(actor, Party) else actor
