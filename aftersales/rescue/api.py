"""The rescue endpoints of /api/v1/ (public contract, issue 14): a member of staff (or an integration user) posts a
request and learns at once which store takes it, how far away it is by road and by when the crew should be on
site; the request can then be read back.  An expressway request is answered with the 12122 hand-over (no store is
dispatched; `respond_by` is null); a request no store can take now waits (`status` "requested") and the group's
managers are told."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import AfterValidator

from aftersales.core.api import OneLine
from aftersales.core.api_schema import choices_of
from aftersales.customers.choices import ConsentChannel
from aftersales.organisation.permissions import Capability
from aftersales.rescue import services
from aftersales.rescue.choices import RescueSource, RescueStatus, RoadType
from aftersales.rescue.models import RescueRequest

router = Router(tags=["rescue"])

RoadTypeName = Literal["city", "county", "expressway"]
StatusName = Literal["requested", "matched", "dispatched", "on_site", "completed", "cancelled", "handed_12122"]
assert set(RoadTypeName.__args__) == set(RoadType.values)  # noqa: S101 - the contract follows the model
assert set(StatusName.__args__) == set(RescueStatus.values)  # noqa: S101


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(_local)]


class RescueRequestIn(Schema):
    """A roadside rescue request: where (coordinates or an address), the road and what happened."""

    lat: float | None = Field(None, ge=-90, le=90, description="WGS-84 latitude (with the customer's consent)")
    lon: float | None = Field(None, ge=-180, le=180, description="WGS-84 longitude")
    road_type: RoadTypeName
    fault: OneLine = Field(..., min_length=1, max_length=500, description="what happened, in the caller's words")
    vin: OneLine = Field("", max_length=17)
    plate: OneLine = Field("", max_length=12)
    address: OneLine = Field("", max_length=200, description="the place described, when there are no coordinates")


class RescueRequestOut(Schema):
    """A roadside rescue request as answered to the caller: the store that takes it and its state."""

    id: int
    store: str = Field(..., description="the store that takes the request (until matched: the responsible store)")
    distance_km: float | None = Field(None, description="estimated road distance from the store's rescue base")
    respond_by: LocalDateTime | None = Field(None, description="the crew should be on site by then")
    status: StatusName
    message: str = Field("", description="what to tell the caller (the 12122 hand-over on an expressway)")


class RescueRequestDetailOut(RescueRequestOut):
    """A roadside rescue request with its source, crew and the times of each step."""

    road_type: RoadTypeName
    source: choices_of(RescueRequest, "source")  # type: ignore[valid-type]
    created_at: LocalDateTime
    match_due_at: LocalDateTime
    matched_at: LocalDateTime | None
    dispatched_at: LocalDateTime | None
    on_site_at: LocalDateTime | None
    completed_at: LocalDateTime | None
    cancelled_at: LocalDateTime | None
    handed_off_at: LocalDateTime | None
    crew: str


def _out(rescue: RescueRequest) -> dict[str, Any]:
    return {
        "id": rescue.pk,
        "store": rescue.store.code,
        "distance_km": float(rescue.distance_km) if rescue.distance_km is not None else None,
        "respond_by": rescue.respond_by,
        "status": rescue.status,
        "message": services.expressway_message() if rescue.status == RescueStatus.HANDED_12122 else "",
    }


@router.post(
    "/rescue-requests",
    response={201: RescueRequestOut},
    summary="Request roadside rescue: matched at once to the nearest store of the group with a free crew",
)
def rescue_request_post(request: HttpRequest, payload: RescueRequestIn) -> Any:
    rescue = services.rescue_request_create(
        by=request.auth,
        lat=Decimal(str(payload.lat)) if payload.lat is not None else None,
        lon=Decimal(str(payload.lon)) if payload.lon is not None else None,
        road_type=payload.road_type,
        fault=payload.fault,
        vin=payload.vin,
        plate=payload.plate,
        address=payload.address,
        source=RescueSource.STAFF,
        consent_channel=ConsentChannel.API,
    )
    return 201, _out(rescue)


@router.get("/rescue-requests/{rescue_id}", response=RescueRequestDetailOut, summary="One rescue request")
def rescue_request_get(request: HttpRequest, rescue_id: int) -> Any:
    rescue = RescueRequest.objects.select_related("store").get_for_user_or_404(
        request.auth, Capability.HANDLE_RESCUE, pk=rescue_id
    )
    fields = (
        "road_type",
        "source",
        "created_at",
        "match_due_at",
        "matched_at",
        "dispatched_at",
        "on_site_at",
        "completed_at",
        "cancelled_at",
        "handed_off_at",
        "crew",
    )
    return {**_out(rescue), **{name: getattr(rescue, name) for name in fields}}
