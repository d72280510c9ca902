"""The rescue request's lifecycle as data (docs/rulebook.md).

requested → matched → dispatched → on site → completed; cancelled from any open state; an expressway request is
handed to 12122 instead of being dispatched.  The system matches (at intake and in the retry sweep); staff who
handle rescues may match by hand (choosing a store), dispatch, record arrival and completion; the crew lead (a
technician) records arrival and completion on their own job; the customer may cancel through their link."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import Actor, Lifecycle, Move, Party, move
from aftersales.rescue.choices import RescueStatus as S

INTAKE = "intake"
MATCH = "match"
DISPATCH = "dispatch"
LOCATE = "locate"

OPEN_STATES = [S.REQUESTED, S.MATCHED, S.DISPATCHED, S.ON_SITE]

RESCUE = Lifecycle(
    "rescue_request",
    states=tuple(S.values),
    moves=(
        move(
            "request",
            (),
            S.REQUESTED,
            capabilities=[Cap.HANDLE_RESCUE],
            parties=[Party.CUSTOMER, Party.SYSTEM],
            via=INTAKE,
            label=_("Request rescue"),
        ),
        move(
            "locate",
            [S.REQUESTED],
            None,
            capabilities=[Cap.HANDLE_RESCUE],
            via=LOCATE,
            label=_("Correct the place and the road"),
        ),
        move(
            "match",
            [S.REQUESTED],
            S.MATCHED,
            capabilities=[Cap.HANDLE_RESCUE],
            parties=[Party.SYSTEM],
            via=MATCH,
            label=_("Match a store"),
        ),
        move(
            "hand_to_12122",
            [S.REQUESTED],
            S.HANDED_12122,
            capabilities=[Cap.HANDLE_RESCUE],
            parties=[Party.CUSTOMER, Party.SYSTEM],
            via=MATCH,
            label=_("Hand to 12122"),
        ),
        move(
            "dispatch",
            [S.MATCHED],
            S.DISPATCHED,
            capabilities=[Cap.HANDLE_RESCUE],
            via=DISPATCH,
            label=_("Dispatch a crew"),
        ),
        move(
            "arrive",
            [S.DISPATCHED],
            S.ON_SITE,
            capabilities=[Cap.HANDLE_RESCUE],
            own=[Cap.WORK],
            label=_("Crew on site"),
        ),
        move(
            "complete",
            [S.ON_SITE],
            S.COMPLETED,
            capabilities=[Cap.HANDLE_RESCUE],
            own=[Cap.WORK],
            label=_("Rescue completed"),
        ),
        move(
            "cancel",
            OPEN_STATES,
            S.CANCELLED,
            capabilities=[Cap.HANDLE_RESCUE],
            parties=[Party.CUSTOMER],
            needs_reason=True,
            label=_("Cancel the rescue"),
        ),
    ),
)

LIFECYCLES = (RESCUE,)


def rescue_moves_for(*, obj: Any, user: Actor, via: str | None = None) -> list[Move]:
    """The moves `user` may make on the request now (what pages and the API offer)."""
    return RESCUE.offered(actor=user, state=obj.status, store_id=obj.store_id, assignee_id=obj.crew_lead_id, via=via)
