"""API look-ups for integrators: the caller (`/me`), the staff and the bays of the caller's stores, so that the ids
that other requests name (advisor, technician, bay, transfer target, driver) can be found.  Scoped like everything
else: only stores where the caller holds the capability that reads them; another store's code is 422 naming it."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from aftersales.core.pagination import BoundedPagination
from aftersales.core.scoping import store_ids_where
from aftersales.organisation import selectors
from aftersales.organisation.access import store_by_code
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership
from aftersales.organisation.permissions import Capability

router = Router(tags=["organisation"])

RoleName = Literal[
    "advisor",
    "technician",
    "foreman",
    "agent",
    "parts_clerk",
    "driver",
    "manager",
    "group_manager",
    "quality",
    "auditor",
    "privacy_officer",
    "admin",
]
assert set(RoleName.__args__) == set(Role.values)  # noqa: S101 - the contract follows the model

# Who may look up colleagues and bays: whoever works with the records that name them (bookings and orders name an
# advisor, a technician, a bay; complaints a new owner; staff records a technician).  A pick-up driver does not.
STAFF_READERS = (Capability.VIEW_SERVICE, Capability.VIEW_FEEDBACK, Capability.VIEW_STAFF_RECORDS)
BAY_READERS = (Capability.VIEW_SERVICE,)


def _stores(user: Any, code: str | None, capabilities: tuple[Capability, ...]) -> frozenset[int]:
    allowed = frozenset().union(*(store_ids_where(user, c) for c in capabilities))
    if not code:
        return allowed
    return frozenset({store_by_code(user, code).pk}) & allowed


class StoreRolesOut(Schema):
    """The caller's roles and capabilities in one store."""

    store: str = Field(..., description="Store code")
    store_id: int
    store_name: str
    roles: list[RoleName] = Field(..., description="The caller's roles there (store and group-wide memberships)")
    capabilities: list[str] = Field(
        ..., description="What those roles may do there, from the rulebook (organisation/permissions.py)"
    )


class MeOut(Schema):
    """The caller: user, name and roles in every store they may see."""

    id: int
    username: str
    name: str
    is_superuser: bool
    stores: list[StoreRolesOut] = Field(..., description="Every store the caller may see, by code")


class StaffOut(Schema):
    """A staff member's membership of a store (or of the group): the id other endpoints take, role and state."""

    id: int = Field(..., description="The person's user id (what `advisor`, `technician`, `to`, `driver` name)")
    username: str
    name: str
    store: str | None = Field(..., description="Store code; null for a group-wide role (every store of the group)")
    group: str = Field(..., description="Dealer group code")
    role: RoleName
    is_active: bool
    since: dt.datetime = Field(..., description="When the membership was recorded")

    @staticmethod
    def resolve_id(row: Membership) -> int:
        return row.user_id

    @staticmethod
    def resolve_username(row: Membership) -> str:
        return row.user.get_username()

    @staticmethod
    def resolve_name(row: Membership) -> str:
        return selectors.display_name(row.user)

    @staticmethod
    def resolve_store(row: Membership) -> str | None:
        return row.store.code if row.store is not None else None

    @staticmethod
    def resolve_group(row: Membership) -> str:
        return row.group.code

    @staticmethod
    def resolve_is_active(row: Membership) -> bool:
        return row.user.is_active

    @staticmethod
    def resolve_since(row: Membership) -> dt.datetime:
        return timezone.localtime(row.created_at)


class StaffFilter(Schema):
    store: str | None = Field(None, description="A store code; every store where you may look staff up if omitted")
    role: RoleName | None = None
    active: bool | None = Field(None, description="Only active (true) or deactivated (false) logins")


class BayOut(Schema):
    """A workshop bay of a store and the work it is equipped for."""

    id: int
    store: str = Field(..., alias="store.code")
    code: str
    name: str
    capabilities: list[str] = Field(..., description="Kinds of work the bay is equipped for (e.g. nev_hv)")
    is_active: bool


class BayFilter(Schema):
    store: str | None = Field(None, description="A store code; every store whose workshop you see if omitted")
    active: bool | None = None


@router.get(
    "/me",
    response=MeOut,
    summary="The caller: roles and capabilities per store",
    description="Who the token belongs to and, for every store they may see, their roles and what the rulebook "
    "lets those roles do there.",
)
def me_get(request: HttpRequest) -> Any:
    return selectors.me_summary(user=request.auth)


@router.get(
    "/staff",
    response=list[StaffOut],
    summary="Staff of the caller's stores",
    description="One row per person, store and role (a person with two roles appears twice), by store code, role "
    "and id; group-wide roles (store null) of the stores' groups included. Stores where the caller works with "
    "service, feedback or staff records.",
)
@paginate(BoundedPagination)
def staff_list(request: HttpRequest, filters: Query[StaffFilter]) -> Any:
    store_ids = _stores(request.auth, filters.store, STAFF_READERS)
    return selectors.staff_list(store_ids=store_ids, role=filters.role, active=filters.active)


@router.get(
    "/bays",
    response=list[BayOut],
    summary="Workshop bays of the caller's stores",
    description="By store code and bay code. Stores whose workshop the caller sees.",
)
@paginate(BoundedPagination)
def bay_list(request: HttpRequest, filters: Query[BayFilter]) -> Any:
    store_ids = _stores(request.auth, filters.store, BAY_READERS)
    return selectors.bay_list(store_ids=store_ids, active=filters.active)
