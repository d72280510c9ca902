"""API: token auth and the stores a user may see."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.security import HttpBearer

from aftersales.organisation.api_lookup import router as lookup_router
from aftersales.organisation.selectors import store_list_for_user
from aftersales.organisation.services import api_token_authenticate


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


router = Router(tags=["organisation"])


class StoreOut(Schema):
    """A store (4S dealership) the caller may see, with its place, rescue capacity and time zone."""

    id: int
    code: str
    name: str
    city: str
    address: str
    latitude: float
    longitude: float
    rescue_capacity: int
    time_zone: str = Field(
        ..., description="IANA time zone of the store's times; every time in this API carries its offset (+08:00)"
    )

    @staticmethod
    def resolve_time_zone(obj: Any) -> str:
        return str(settings.TIME_ZONE)


@router.get("/stores", response=list[StoreOut], summary="Stores the caller may see")
def stores(request: HttpRequest) -> Any:
    return list(store_list_for_user(user=request.auth))


# The look-ups (/me, /staff, /bays): their own module, mounted on this router.
router.add_router("", lookup_router)
