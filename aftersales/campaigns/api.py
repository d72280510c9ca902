"""API of the care campaigns: the list and one campaign with its results per arm and the uplift.  Read-only
(campaigns are prepared on the pages); each handler scopes to the stores where the caller manages campaigns."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import AfterValidator

from aftersales.campaigns import selectors
from aftersales.campaigns.choices import CampaignStatus
from aftersales.campaigns.models import Campaign, CampaignMember
from aftersales.core.api_schema import choices_of
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.organisation.access import store_ids_for

router = Router(tags=["campaigns"])

StatusName = Literal["draft", "scheduled", "sending", "finished", "cancelled"]
assert set(StatusName.__args__) == set(CampaignStatus.values)  # noqa: S101 - the contract follows the model


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(_local)]


class CampaignFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; all stores where you manage campaigns when omitted")
    status: StatusName | None = None


class CampaignOut(Schema):
    """A marketing or service campaign of a store: its audience, schedule and state."""

    id: int
    store: str = Field(..., alias="store.code")
    name: str
    purpose: choices_of(Campaign, "purpose")  # type: ignore[valid-type]
    status: choices_of(Campaign, "status")  # type: ignore[valid-type]
    audience: dict[str, Any]
    scheduled_at: LocalDateTime | None
    started_at: LocalDateTime | None
    finished_at: LocalDateTime | None
    control_share_percent: int | None
    members: int = Field(0, alias="member_count")


class ArmOut(Schema):
    """One arm of a campaign (treatment or control): members, deliveries, bookings, returns and revenue."""

    arm: choices_of(CampaignMember, "arm")  # type: ignore[valid-type]
    members: int
    delivered: int
    opened: int
    booked: int
    returned: int
    return_rate: float | None
    revenue: Decimal


class UpliftOut(Schema):
    """The campaign's uplift: treatment's return rate minus control's, with its 95% confidence interval."""

    estimate: float = Field(..., description="return rate treatment − control (a proportion, 0.05 = 5 points)")
    lower: float
    upper: float
    confidence: float = 0.95
    method: str = Field(..., description="newcombe_hybrid_score_95: Newcombe (1998) method 10, Wilson intervals")


class ResultsOut(Schema):
    """A campaign's results over its window: both arms and the uplift."""

    window_days: int
    window_start: LocalDateTime | None
    window_end: LocalDateTime | None
    treatment: ArmOut
    control: ArmOut
    uplift: UpliftOut | None


class CampaignDetailOut(CampaignOut):
    """A campaign with its message text and its results."""

    text_zh: str
    text_en: str
    results: ResultsOut


@router.get(
    "/campaigns",
    response=list[CampaignOut],
    summary="Campaigns of the stores where you manage them",
    description="Newest first (by creation) unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def campaign_list(request: HttpRequest, filters: Query[CampaignFilter]) -> Any:
    store_ids = store_ids_for(request.auth, filters.store, capability=selectors.READ)
    campaigns = selectors.campaign_list(user=request.auth, store_ids=store_ids, status=filters.status or "")
    return sync_apply(campaigns, filters, default=("-created_at", "-pk"))


@router.get("/campaigns/{campaign_id}", response=CampaignDetailOut, summary="One campaign with its results per arm")
def campaign_detail(request: HttpRequest, campaign_id: int) -> Any:
    campaign = selectors.campaign_get_for_user(user=request.auth, pk=campaign_id)
    results = selectors.campaign_results(campaign=campaign)
    uplift = None
    if results.uplift is not None:
        uplift = {
            "estimate": results.uplift.estimate,
            "lower": results.uplift.lower,
            "upper": results.uplift.upper,
            "method": results.method,
        }
    campaign.results = {  # type: ignore[attr-defined]
        "window_days": results.window_days,
        "window_start": results.window_start,
        "window_end": results.window_end,
        "treatment": results.treatment.__dict__ | {"return_rate": results.treatment.return_rate},
        "control": results.control.__dict__ | {"return_rate": results.control.return_rate},
        "uplift": uplift,
    }
    return campaign
