"""The advisor scorecard's lifecycle as data (SPEC §7, §10): the system (monthly job) or a manager computes a draft,
recomputing replaces a draft only; a manager of the store reviews it with an explanation, which makes it final.
Beyond the table, `scorecards.scorecard_review` refuses the advisor reviewing their own scorecard."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from aftersales.analytics.models import ScorecardStatus as S
from aftersales.organisation.permissions import Capability as Cap
from aftersales.organisation.rules import Lifecycle, Party, move

SCORECARD = Lifecycle(
    "scorecard",
    states=tuple(S.values),
    moves=(
        move(
            "compute",
            [S.DRAFT],
            S.DRAFT,
            capabilities=[Cap.REVIEW_SCORECARDS],
            parties=[Party.SYSTEM],
            via="compute",
            label=_("Compute"),
        ),
        move(
            "review",
            [S.DRAFT],
            S.FINAL,
            capabilities=[Cap.REVIEW_SCORECARDS],
            needs_reason=True,
            via="review",
            label=_("Explain and mark reviewed"),
        ),
    ),
)

LIFECYCLES = (SCORECARD,)
