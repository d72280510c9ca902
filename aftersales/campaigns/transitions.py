"""The campaign lifecycle as data (like service/transitions.py): which move leads from which state to which, and
who may make it.  `services.campaign_transition` enforces the table; pages and the API ask `campaign_moves_for`.

Staff holding MANAGE_CAMPAIGNS (the store manager) prepare, schedule, take back and cancel; only the system's
sweep starts the sending at the scheduled time and finishes it when every member is handled, so no page can
send a campaign half-way or twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from aftersales.campaigns.choices import CampaignStatus as S
from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import TRANSITION, Actor, Lifecycle, Move, Party, move

if TYPE_CHECKING:
    from aftersales.campaigns.models import Campaign

INTAKE = "intake"  # creates the campaign
ACTION = "action"  # keeps the state: edit the audience and the text
SWEEP = "sweep"  # the system's periodic work

# States in which the audience, the text and the time may still change.
CAMPAIGN_EDITABLE = frozenset({S.DRAFT})
_MANAGER = (Cap.MANAGE_CAMPAIGNS,)

CAMPAIGN = Lifecycle(
    "campaign",
    states=tuple(S.values),
    moves=(
        move("create", (), S.DRAFT, capabilities=_MANAGER, via=INTAKE, label=_("New campaign")),
        move("edit", CAMPAIGN_EDITABLE, None, capabilities=_MANAGER, via=ACTION, label=_("Edit")),
        move("schedule", [S.DRAFT], S.SCHEDULED, capabilities=_MANAGER, label=_("Schedule")),
        move("unschedule", [S.SCHEDULED], S.DRAFT, capabilities=_MANAGER, label=_("Back to draft")),
        move(
            "cancel",
            [S.DRAFT, S.SCHEDULED, S.SENDING],
            S.CANCELLED,
            capabilities=_MANAGER,
            needs_reason=True,
            label=_("Cancel the campaign"),
        ),
        move("start", [S.SCHEDULED], S.SENDING, parties=[Party.SYSTEM], via=SWEEP),
        move("finish", [S.SENDING], S.FINISHED, parties=[Party.SYSTEM], via=SWEEP),
    ),
)
CAMPAIGN_FLOW: dict[str, frozenset[str]] = CAMPAIGN.flow


def campaign_moves_for(*, campaign: Campaign, user: Actor, via: str | None = TRANSITION) -> list[Move]:
    """The moves of the campaign that `user` may make now (the generic transitions by default)."""
    return CAMPAIGN.offered(actor=user, state=campaign.status, store_id=campaign.store_id, via=via)


LIFECYCLES = (CAMPAIGN,)  # read by `aftersales rulebook` (docs/rulebook.md)
