"""The lifecycle of a customer's rights request (PIPL arts. 44-47): which move leads from which state to which,
and who may make it.  The services (`privacy.services`) enforce it; pages and the API ask
`rights_request_moves_for` what to offer.  `aftersales rulebook` prints it.

Who: anyone who meets customers (LOG_RIGHTS_REQUESTS: advisors, agents, the manager, the privacy officer) logs a
request and records that the customer withdrew it; the customer files one through their signed link.  The
handlers (HANDLE_RIGHTS_REQUESTS: the manager, the group's privacy officer, the administrator) check the
identity, take or give ownership, answer or refuse.  Identity first: `answer` starts only from in_progress, which
only the identity check reaches, so nothing is exported or erased for someone whose identity nobody checked.
The customer's link is itself the identity check (IdentityMethod.SIGNED_LINK), made by the customer party."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import Actor, Lifecycle, Move, Party, move
from aftersales.privacy.choices import OPEN_STATUSES
from aftersales.privacy.choices import RequestStatus as S

if TYPE_CHECKING:
    from aftersales.privacy.models import RightsRequest

INTAKE = "intake"  # creates the record
ACTION = "action"  # keeps the state: assign an owner
SWEEP = "sweep"  # the periodic escalation
IDENTITY = "identity"  # the identity-check form
ANSWER = "answer"  # the answer form (export / erasure / consent withdrawal happen here)

_LOG = (Cap.LOG_RIGHTS_REQUESTS,)
_HANDLE = (Cap.HANDLE_RIGHTS_REQUESTS,)
_OPEN = tuple(str(s) for s in OPEN_STATUSES)

RIGHTS_REQUEST = Lifecycle(
    "rights_request",
    states=tuple(S.values),
    moves=(
        move(
            "log",
            (),
            S.RECEIVED,
            capabilities=_LOG,
            parties=[Party.CUSTOMER],
            via=INTAKE,
            label=_("Log a rights request"),
        ),
        move(
            "verify_identity",
            [S.RECEIVED],
            S.IN_PROGRESS,
            capabilities=_HANDLE,
            parties=[Party.CUSTOMER],  # the signed link, recorded at intake
            via=IDENTITY,
            label=_("Record the identity check"),
        ),
        move("assign", _OPEN, None, capabilities=_HANDLE, via=ACTION, label=_("Give to an owner")),
        move("answer", [S.IN_PROGRESS], S.DONE, capabilities=_HANDLE, via=ANSWER, label=_("Answer")),
        move(
            "refuse",
            _OPEN,
            S.REFUSED,
            capabilities=_HANDLE,
            needs_reason=True,
            label=_("Refuse, with the legal reason"),
        ),
        move(
            "withdraw",
            _OPEN,
            S.WITHDRAWN,
            capabilities=_LOG,
            parties=[Party.CUSTOMER],
            label=_("The customer withdrew the request"),
        ),
        move("escalate", _OPEN, None, parties=[Party.SYSTEM], via=SWEEP),
    ),
)
RIGHTS_REQUEST_FLOW: dict[str, frozenset[str]] = RIGHTS_REQUEST.flow
LIFECYCLES = (RIGHTS_REQUEST,)


def rights_request_moves_for(*, obj: RightsRequest, user: Actor, via: str | None = None) -> list[Move]:
    """The moves `user` may make on the request now (pages and the API offer exactly these)."""
    return RIGHTS_REQUEST.offered(actor=user, state=obj.status, store_id=obj.store_id, via=via)


def offers(moves: list[Move], name: str) -> bool:
    return any(m.name == name for m in moves)
