"""API for customers and vehicles.  Handlers parse, call one selector or service, and answer."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue

from aftersales.core.api import ObjectId, OneLine
from aftersales.core.api_schema import choices_of
from aftersales.core.external_refs import filter_by_external_ref
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.customers import selectors, services
from aftersales.customers.choices import ConsentChannel, Tier
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.validators import mask_mobile, mask_plate
from aftersales.organisation.access import require, store_by_code, store_ids_for
from aftersales.organisation.permissions import Capability, user_can

router = Router(tags=["customers"])


class _DayInSchema:
    """Declares `format: date` for a text field that holds a day: the service reads it as ISO 8601 (YYYY-MM-DD);
    '' or null means none.  The field stays text, so what is accepted does not change."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["format"] = "date"
        return schema


DayText = Annotated[OneLine, _DayInSchema()]
# The expiry days are not bounded ahead yet (a year 9999 is taken): declared as text until they are.
LATER_DAY = "A day, YYYY-MM-DD (ISO 8601); empty or null for none"


class VehicleOut(Schema):
    """A customer's vehicle: VIN, plate (masked for roles that do not see plates), model and powertrain."""

    id: int
    customer: int = Field(..., alias="customer_id")
    store: str
    vin: str
    plate: str
    brand: str
    model_name: str = Field(..., description="The model as the dealer writes it, e.g. 帕萨特 330TSI (free text)")
    powertrain: choices_of(Vehicle, "powertrain")  # type: ignore[valid-type]
    is_nev: bool
    purchase_date: dt.date | None
    purchase_price: Decimal | None
    mileage_km: int
    mileage_recorded_on: dt.date | None

    @staticmethod
    def resolve_store(obj: Vehicle) -> str:
        return obj.store.code

    @staticmethod
    def resolve_plate(obj: Vehicle, context: dict[str, Any]) -> str:
        """As stored (沪A12345) for roles that see plates; masked (京A·***45) for roles whose pages mask it."""
        if not obj.plate or user_can(context["request"].auth, Capability.SEE_PLATES, obj.store_id):
            return obj.plate
        return mask_plate(obj.plate)


class TierOut(Schema):
    """The customer's RFM tier as the crm app last computed it (SPEC §5); code null: no closed visit yet."""

    code: Literal[tuple(Tier.values)] | None = Field(  # type: ignore[valid-type]
        ..., description="A, B, C or D; null without a closed visit"
    )
    rule: str = Field(..., description="the rule that put the customer in the tier, e.g. R ≤ 90 ∧ F ≥ 4 ∧ M ≥ 15000.00")
    r_days: int | None = Field(..., description="days since the last closed visit")
    f: int = Field(..., description="closed visits in the window")
    m: str = Field(..., description="amount paid in the window (CNY), a decimal string")


class CustomerOut(Schema):
    """A customer of the dealer group: the stores that deal with them, masked phone, vehicles and RFM tier."""

    id: int
    store: str = Field(..., description="The store where the customer's file was opened")
    stores: list[str] = Field(..., description="Codes of the group's stores that deal with the customer")
    name: str
    gender: choices_of(Customer, "gender")  # type: ignore[valid-type]
    phone_masked: str
    is_priority: bool
    created_at: dt.datetime
    vehicles: list[VehicleOut]
    tier: TierOut
    external_source: str = Field(..., description="The system `external_ref` comes from; empty without one")
    external_ref: str = Field(..., description="The customer's id in that system; empty without one")

    @staticmethod
    def resolve_store(obj: Customer) -> str:
        return obj.store.code

    @staticmethod
    def resolve_stores(obj: Customer) -> list[str]:
        return sorted(link.store.code for link in obj.store_links.all())

    @staticmethod
    def resolve_phone_masked(obj: Customer) -> str:
        return mask_mobile(obj.phone)

    @staticmethod
    def resolve_vehicles(obj: Customer) -> list[Vehicle]:
        return list(obj.vehicles.all())

    @staticmethod
    def resolve_tier(obj: Customer) -> dict[str, Any]:
        return {
            "code": obj.tier or None,
            "rule": obj.tier_rule,
            "r_days": obj.tier_recency_days,
            "f": obj.tier_frequency,
            "m": f"{obj.tier_monetary:.2f}",
        }


class CustomerVehicleIn(Schema):
    """A vehicle registered with its owner: `vehicles` of POST /customers, or POST /vehicles with `customer`."""

    vin: OneLine
    plate: OneLine | None = None
    brand: OneLine
    model_name: OneLine
    powertrain: OneLine | None = None
    purchase_date: DayText | None = None
    purchase_price: OneLine | float | int | None = None
    mileage_km: int | None = None
    insurance_expires_on: OneLine | None = Field(None, description=LATER_DAY)
    inspection_due_on: OneLine | None = Field(None, description=LATER_DAY)

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "vin": "LFV2A21K8P4012345",
                "plate": "沪A12345",
                "brand": "大众",
                "model_name": "帕萨特 330TSI",
                "powertrain": "petrol",
                "purchase_date": "2023-06-18",
                "purchase_price": "189900.00",
                "mileage_km": 35820,
                "insurance_expires_on": "2027-06-17",
                "inspection_due_on": "2027-06-30",
            }
        }
    )


class CustomerIn(Schema):
    """A new customer's file in a store, with their consents and, optionally, their vehicles (all or nothing)."""

    store: OneLine
    name: OneLine
    phone: OneLine
    gender: OneLine | None = None
    birthday: DayText | None = None
    id_number: OneLine | None = None
    address: OneLine | None = None
    is_priority: bool = False
    referred_by_phone: OneLine | None = Field(None, description="Mobile number of the customer who referred them")
    referred_by_staff: OneLine | None = Field(None, description="Username of the staff member who referred them")
    consents: dict[str, bool] = Field(
        default_factory=dict,
        description="Only purposes the customer answered: marketing, surveys, "
        "vehicle_data → true/false. Nothing is assumed.",
    )
    consent_channel: OneLine = ConsentChannel.API
    external_source: OneLine | None = Field(
        None, max_length=40, description="The system the customer comes from, e.g. callcenter (with external_ref)"
    )
    external_ref: OneLine | None = Field(
        None,
        max_length=100,
        description="The customer's id in that system: unique per source in the dealer group; a second customer "
        "with the same pair is 409 duplicate_external_ref naming `existing_id`",
    )
    vehicles: list[CustomerVehicleIn] | None = Field(
        None,
        description="The customer's vehicles, registered in the same call: all or nothing (a bad field is 422 "
        "naming e.g. vehicles.1.vin, and nothing is written)",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "store": "SH01",
                "name": "王伟",
                "phone": "13812345678",
                "gender": "male",
                "birthday": "1988-04-12",
                "address": "上海市浦东新区张江路 88 号",
                "consents": {"marketing": True, "surveys": True},
                "external_source": "callcenter",
                "external_ref": "CC-20261205-0042",
                "vehicles": [
                    {
                        "vin": "LFV2A21K8P4012345",
                        "plate": "沪A12345",
                        "brand": "大众",
                        "model_name": "帕萨特 330TSI",
                        "powertrain": "petrol",
                        "purchase_date": "2023-06-18",
                        "purchase_price": "189900.00",
                        "mileage_km": 35820,
                        "insurance_expires_on": "2027-06-17",
                        "inspection_due_on": "2027-06-30",
                    }
                ],
            }
        }
    )


class CustomerPatch(Schema):
    """A change to a customer's file: PATCH changes the fields sent; PUT sets them."""

    name: OneLine | None = None
    phone: OneLine | None = None
    gender: OneLine | None = None
    birthday: DayText | None = None
    id_number: OneLine | None = None
    address: OneLine | None = None
    is_priority: bool | None = None


class VehicleIn(CustomerVehicleIn):
    """A vehicle registered to an existing customer."""

    customer: int = Field(..., description="The owner's customer id")

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "customer": 3001,
                "vin": "LGXCE4CB2N0123456",
                "plate": "沪AD67890",
                "brand": "比亚迪",
                "model_name": "汉 EV",
                "powertrain": "bev",
                "purchase_date": "2024-03-09",
                "mileage_km": 18600,
            }
        }
    )


class VehiclePatch(Schema):
    """A change to a vehicle: PATCH changes the fields sent; PUT sets them."""

    vin: OneLine | None = None
    plate: OneLine | None = None
    brand: OneLine | None = None
    model_name: OneLine | None = None
    powertrain: OneLine | None = None
    purchase_date: DayText | None = None
    purchase_price: OneLine | float | int | None = None
    mileage_km: int | None = None
    insurance_expires_on: OneLine | None = Field(None, description=LATER_DAY)
    inspection_due_on: OneLine | None = Field(None, description=LATER_DAY)


class ListFilter(SyncFilter):
    q: str = Field("", description="Name, full mobile, its last four digits, plate or VIN")
    store: str | None = Field(None, description="A store code; all visible stores when omitted")


class CustomerFilter(ListFilter):
    external_source: str | None = Field(None, max_length=40, description="Only customers from this source")
    external_ref: str | None = Field(None, max_length=100, description="Only the customer with this reference")


class VehicleFilter(ListFilter):
    customer: ObjectId | None = Field(None, description="Only this customer's vehicles (a customer id)")


def _require_on(request: HttpRequest, capability: Capability, customer: Customer) -> None:
    """The capability in a store that deals with the customer (a group customer may deal with several)."""
    store_id = selectors.acting_store_id(request.auth, capability, customer)
    require(request.auth, capability, store_id=store_id if store_id is not None else customer.store_id)


@router.get(
    "/customers",
    response=list[CustomerOut],
    summary="Customers of the caller's stores",
    description="Newest first (by creation) unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def customer_list(request: HttpRequest, filters: Query[CustomerFilter]) -> Any:
    customers = selectors.customer_list(
        user=request.auth, store_ids=store_ids_for(request.auth, filters.store), query=filters.q
    )
    customers = filter_by_external_ref(customers, source=filters.external_source, ref=filters.external_ref)
    return sync_apply(customers, filters, default=("-created_at", "-id"))


@router.get("/customers/{customer_id}", response=CustomerOut, summary="A customer with their vehicles")
def customer_detail(request: HttpRequest, customer_id: int) -> Any:
    return selectors.customer_get_for_user(user=request.auth, pk=customer_id)


@router.post("/customers", response={201: CustomerOut}, summary="Open a customer's file (with vehicles)")
def customer_create(request: HttpRequest, payload: CustomerIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    require(request.auth, Capability.EDIT_CUSTOMERS, store_id=store.pk)
    data = payload.dict(exclude={"store", "consents", "consent_channel"}, exclude_none=True)
    customer = services.customer_create(
        store=store,
        by=request.auth,
        consents=payload.consents,
        consent_channel=payload.consent_channel,
        **data,
    )
    return 201, selectors.customer_get_for_user(user=request.auth, pk=customer.pk)


def _customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    customer = selectors.customer_get_for_user(user=request.auth, pk=customer_id)
    _require_on(request, Capability.EDIT_CUSTOMERS, customer)
    services.customer_update(customer=customer, by=request.auth, **payload.dict(exclude_unset=True))
    return selectors.customer_get_for_user(user=request.auth, pk=customer.pk)


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change some fields of a customer")
def customer_patch(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    return _customer_update(request, customer_id, payload)


@router.put("/customers/{customer_id}", response=CustomerOut, summary="Update a customer (fields sent are set)")
def customer_put(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    return _customer_update(request, customer_id, payload)


@router.get(
    "/vehicles",
    response=list[VehicleOut],
    summary="Vehicles of the caller's stores",
    description="Newest first (by creation) unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def vehicle_list(request: HttpRequest, filters: Query[VehicleFilter]) -> Any:
    vehicles = selectors.vehicle_list(
        user=request.auth, store_ids=store_ids_for(request.auth, filters.store), query=filters.q
    )
    if filters.customer is not None:
        vehicles = vehicles.filter(customer_id=filters.customer)
    return sync_apply(vehicles, filters, default=("-created_at", "-id"))


@router.get("/vehicles/{vehicle_id}", response=VehicleOut, summary="A vehicle")
def vehicle_detail(request: HttpRequest, vehicle_id: int) -> Any:
    return selectors.vehicle_get_for_user(user=request.auth, pk=vehicle_id)


@router.post("/vehicles", response={201: VehicleOut}, summary="Register a vehicle to a customer")
def vehicle_create(request: HttpRequest, payload: VehicleIn) -> Any:
    try:
        customer = selectors.customer_get_for_user(user=request.auth, pk=payload.customer)
    except Exception as exc:  # another store's customer looks exactly like a missing one
        raise ValidationError({"customer": [_("No customer with this id that you may see.")]}) from exc
    _require_on(request, Capability.EDIT_CUSTOMERS, customer)
    vehicle = services.vehicle_create(
        customer=customer, by=request.auth, **payload.dict(exclude={"customer"}, exclude_none=True)
    )
    return 201, selectors.vehicle_get_for_user(user=request.auth, pk=vehicle.pk)


def _vehicle_update(request: HttpRequest, vehicle_id: int, payload: VehiclePatch) -> Any:
    vehicle = selectors.vehicle_get_for_user(user=request.auth, pk=vehicle_id)
    _require_on(request, Capability.EDIT_CUSTOMERS, vehicle.customer)
    services.vehicle_update(vehicle=vehicle, by=request.auth, **payload.dict(exclude_unset=True))
    return selectors.vehicle_get_for_user(user=request.auth, pk=vehicle.pk)


@router.patch("/vehicles/{vehicle_id}", response=VehicleOut, summary="Change some fields of a vehicle")
def vehicle_patch(request: HttpRequest, vehicle_id: int, payload: VehiclePatch) -> Any:
    return _vehicle_update(request, vehicle_id, payload)


@router.put("/vehicles/{vehicle_id}", response=VehicleOut, summary="Update a vehicle (fields sent are set)")
def vehicle_put(request: HttpRequest, vehicle_id: int, payload: VehiclePatch) -> Any:
    return _vehicle_update(request, vehicle_id, payload)
