"""API of the service process: slots, appointments and repair orders (estimates, decisions, state changes,
quality checks, delivery).  Each handler parses, resolves the scoped object (404 for other stores), checks
the capability (403), calls one service and answers.

`/slots` and `/appointments` are a public contract (integrations rely on their names); the repair-order
endpoints follow the same rules.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import AfterValidator, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from aftersales.core import clock
from aftersales.core.api import (
    AnyDay,
    HappenedAt,
    MultiLine,
    ObjectId,
    OneLine,
    PlannedAt,
    PlannedDate,
    pydantic_message,
)
from aftersales.core.api_schema import choices_of
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.pagination import BoundedPagination, SyncFilter, sync_apply
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.selectors import plate_for
from aftersales.organisation.access import require, staff_member, store_by_code, store_ids_for
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Bay
from aftersales.organisation.permissions import Capability
from aftersales.organisation.rules import Move
from aftersales.service import selectors, selectors_pickups, services, transitions
from aftersales.service.choices import (
    AppointmentStatus,
    BookingChannel,
    EstimateStatus,
    RepairOrderStatus,
    ServiceType,
)
from aftersales.service.models import (
    Appointment,
    Attachment,
    Estimate,
    EstimateLine,
    RepairOrder,
    RepairOrderEvent,
)
from aftersales.service.services.links import appointment_link_token, order_link_token
from aftersales.service.services.orders import bay_equipment_gaps
from aftersales.service.services.pickups import DRIVER_ROLES
from aftersales.service.transitions import REPAIR_ORDER

router = Router(tags=["service"])
S = RepairOrderStatus

# How far back and ahead the slot list answers (slots are created on first request; see the note in the report).
SLOT_DAYS_BACK = 366
SLOT_DAYS_AHEAD = 366


# --------------------------------------------------------------------------------------------- input types


# Text and dates follow the project's rules (core/text.py, core/dates.py): OneLine, or MultiLine for what the
# pages take in a text area; PlannedAt/PlannedDate within a year back and five years ahead.
ServiceTypeName = Literal["maintenance", "repair", "inspection", "warranty", "bodywork", "nev_check"]
ChannelName = Literal["online", "phone", "wechat", "walk_in"]
StatusName = Literal[
    "reception", "waiting", "in_bay", "in_progress", "waiting_parts", "qc", "washing", "ready", "delivered", "cancelled"
]
AppointmentStatusName = Literal["booked", "arrived", "cancelled", "no_show"]

assert set(ServiceTypeName.__args__) == set(ServiceType.values)  # noqa: S101 - the contract follows the model
assert set(ChannelName.__args__) == set(BookingChannel.values)  # noqa: S101
assert set(StatusName.__args__) == set(S.values)  # noqa: S101
assert set(AppointmentStatusName.__args__) == set(AppointmentStatus.values)  # noqa: S101


def local(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes are answered in the store's time zone, with its offset (+08:00)."""
    return timezone.localtime(value) if value is not None else None


LocalDateTime = Annotated[dt.datetime, AfterValidator(local)]

# Closed sets in answers: each output enum is read from the model field's choices ("" when it may be blank).
AppointmentStatusOut = choices_of(Appointment, "status")
ServiceTypeOut = choices_of(Appointment, "service_type")
BookingChannelOut = choices_of(Appointment, "channel")
PickupStatusOut = choices_of(Appointment, "pickup_status")
OrderStatusOut = choices_of(RepairOrder, "status")
OrderEventFromOut = choices_of(RepairOrderEvent, "from_status")
OrderEventToOut = choices_of(RepairOrderEvent, "to_status")
EstimateStatusOut = choices_of(Estimate, "status")
LineKindOut = choices_of(EstimateLine, "kind")
LineMinGradeOut = choices_of(EstimateLine, "min_grade")
LineCapabilityOut = choices_of(EstimateLine, "capability")
PartGradeOut = choices_of(EstimateLine, "grade")
LineDecisionOut = choices_of(EstimateLine, "decision")
DecisionChannelOut = choices_of(EstimateLine, "decision_channel")
AttachmentPurposeOut = choices_of(Attachment, "purpose")


# --------------------------------------------------------------------------------------------- helpers


def _order(request: HttpRequest, order_id: int) -> RepairOrder:
    return selectors.order_get_for_user(user=request.auth, pk=order_id)


def _authorise(request: HttpRequest, order: RepairOrder, move: str) -> None:
    """Ask the rulebook before reading anything else from the request (the service asks it again)."""
    REPAIR_ORDER.authorise(
        REPAIR_ORDER.get(move), actor=request.auth, store_id=order.store_id, assignee_id=order.technician_id
    )


def _line_or_404(order: RepairOrder, line_id: int) -> EstimateLine:
    line = EstimateLine.objects.select_related("estimate").filter(pk=line_id, estimate__order=order).first()
    if line is None:
        raise Http404("No estimate line matches the given query.")
    line.estimate.order = order
    return line


def _absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


# --------------------------------------------------------------------------------------------- output schemas


class SlotOut(Schema):
    """A booking slot of a store with its remaining capacity."""

    start: LocalDateTime
    end: LocalDateTime
    capacity: int
    remaining: int


class AppointmentOut(Schema):
    """A service appointment: slot, customer, vehicle, channel, state and pick-up details."""

    id: int
    store: str
    start: LocalDateTime
    end: LocalDateTime
    status: AppointmentStatusOut
    service_type: ServiceTypeOut
    channel: BookingChannelOut
    customer: int = Field(..., alias="customer_id")
    vehicle: int = Field(..., alias="vehicle_id")
    advisor: int | None = Field(None, alias="advisor_id")
    customer_words: str
    pickup: bool
    pickup_from: LocalDateTime | None
    pickup_to: LocalDateTime | None
    driver: int | None = Field(None, alias="driver_id")
    pickup_status: PickupStatusOut = Field(..., description="'' without pick-up")
    cancelled_at: LocalDateTime | None
    cancel_reason: str

    @staticmethod
    def resolve_store(obj: Appointment) -> str:
        return obj.store.code

    @staticmethod
    def resolve_start(obj: Appointment) -> dt.datetime:
        return obj.slot.start

    @staticmethod
    def resolve_end(obj: Appointment) -> dt.datetime:
        return obj.slot.end


class PickupOut(Schema):
    """One job of the driver's list: the address and the phone in full for the job's driver, masked for others."""

    # Most fields are the appointment's own: read through dotted aliases rather than one resolver each.
    appointment: int = Field(..., alias="appointment.pk")
    kind: Literal["pickup", "drop_off"]
    store: str = Field(..., alias="appointment.store.code")
    start: LocalDateTime = Field(..., alias="appointment.slot.start")
    pickup_from: LocalDateTime | None = Field(..., alias="appointment.pickup_from")
    pickup_to: LocalDateTime | None = Field(..., alias="appointment.pickup_to")
    pickup_status: PickupStatusOut = Field(..., alias="appointment.pickup_status")
    customer_name: str = Field(..., alias="appointment.customer.name")
    vehicle: str
    address: str
    phone: str
    driver: int | None = Field(..., alias="appointment.driver_id")
    driver_name: str
    order_status: OrderStatusOut | None = Field(..., description="The repair order's status; null before arrival")
    collected_at: LocalDateTime | None = Field(..., alias="appointment.collected_at")
    delivered_back_at: LocalDateTime | None = Field(..., alias="appointment.delivered_back_at")
    moves: list[str] = Field(..., description="What the caller may do now: collect, deliver_back")

    @staticmethod
    def resolve_vehicle(row: Any, context: dict[str, Any]) -> str:
        vehicle = row.appointment.vehicle
        plate = plate_for(context["request"].auth, vehicle.plate, row.appointment.store_id) or vehicle.vin[-6:]
        return f"{plate} {vehicle.brand} {vehicle.model_name}".strip()

    @staticmethod
    def resolve_moves(row: Any) -> list[str]:
        return [m.name for m in row.moves]


class AppointmentCreated(AppointmentOut):
    """A booked appointment, with the customer's signed link for roles that book."""

    customer_link: str | None = Field(
        ..., description="The customer's signed link (confirmation, move, cancel); null for roles that do not book."
    )

    @staticmethod
    def resolve_customer_link(obj: Appointment, context: dict[str, Any]) -> str | None:
        request = context["request"]
        if not transitions.may_send_appointment_link(appointment=obj, user=request.auth):
            return None
        return _absolute(request, reverse("service:customer-appointment", args=[appointment_link_token(obj)]))


class EventOut(Schema):
    """A status change of a repair order: from, to, when, by whom and why."""

    from_status: OrderEventFromOut = Field(..., description="'' for the order's first event")
    to_status: OrderEventToOut
    at: LocalDateTime
    by: str | None
    reason: str

    @staticmethod
    def resolve_by(obj: Any) -> str | None:
        if obj.by is None:
            return None
        profile = getattr(obj.by, "staff_profile", None)
        return profile.display_name if profile else obj.by.get_username()


class LineOut(Schema):
    """A line of an estimate (labour, part or fee) with its price and the customer's decision."""

    id: int
    estimate: int = Field(..., alias="estimate_id")
    kind: LineKindOut
    description: str
    operation_code: str
    standard_hours: Decimal | None
    hourly_rate: Decimal | None
    min_grade: LineMinGradeOut
    high_voltage: bool = Field(..., description="Work on an NEV's high-voltage system: needs the HV certificate")
    capability: LineCapabilityOut = Field(
        ..., description="Bay equipment the labour needs (dispatch warns when the bay lacks it)"
    )
    part_number: str
    grade: PartGradeOut
    unit_price: Decimal | None
    quantity: Decimal
    amount: Decimal
    choice_group: int | None = Field(
        ..., description="Lines sharing it are alternatives (e.g. OEM or brand part): the customer approves one"
    )
    decision: LineDecisionOut
    decided_at: LocalDateTime | None
    decision_channel: DecisionChannelOut
    decided_by: int | None = Field(None, alias="decided_by_id")
    decline_reason: str
    batch_number: str
    origin: str
    production_date: dt.date | None
    warranty_months: int | None
    work_finished_at: LocalDateTime | None = Field(
        None, description="Labour: when the technician finished the job on the clock (null while not finished)."
    )


class EvidenceOut(Schema):
    """A photo or file attached to an estimate as evidence."""

    id: int
    line: int | None = Field(None, alias="line_id")
    purpose: AttachmentPurposeOut
    content_type: str = Field(..., description="The file's media type, e.g. image/jpeg")
    size: int
    caption: str


class EstimateOut(Schema):
    """An estimate of a repair order (the first or a supplementary one) with its lines and evidence."""

    id: int
    number: int
    status: EstimateStatusOut
    supplementary: bool
    sent_at: LocalDateTime | None
    total: Decimal = Field(
        ...,
        description="Every line not declined, counting ONE option per choice of alternatives: the approved one, "
        "else the first offered (recommended) one not declined.",
    )
    pending: int
    lines: list[LineOut]
    evidence: list[EvidenceOut]

    @staticmethod
    def resolve_id(view: Any) -> int:
        return view.estimate.pk

    @staticmethod
    def resolve_number(view: Any) -> int:
        return view.estimate.number

    @staticmethod
    def resolve_status(view: Any) -> str:
        return view.estimate.status

    @staticmethod
    def resolve_supplementary(view: Any) -> bool:
        return view.estimate.is_supplementary

    @staticmethod
    def resolve_sent_at(view: Any) -> dt.datetime | None:
        return view.estimate.sent_at

    @staticmethod
    def resolve_lines(view: Any) -> list[EstimateLine]:
        return [row.line for row in view.lines]

    @staticmethod
    def resolve_evidence(view: Any) -> list[Any]:
        return [attachment for row in view.lines for attachment in row.attachments]


class RepairOrderSummaryOut(Schema):
    """A repair order (工单) in a list: store, state, customer, vehicle, people and times."""

    id: int
    number: str
    store: str
    status: OrderStatusOut
    service_type: ServiceTypeOut
    customer: int = Field(..., alias="customer_id")
    vehicle: int = Field(..., alias="vehicle_id")
    appointment: int | None = Field(None, alias="appointment_id")
    advisor: int | None = Field(None, alias="advisor_id")
    technician: int | None = Field(None, alias="technician_id")
    bay: str | None
    walk_in: bool
    priority: bool
    arrived_at: LocalDateTime
    ready_at: LocalDateTime | None
    delivered_at: LocalDateTime | None
    qc_failures: int

    @staticmethod
    def resolve_store(obj: RepairOrder) -> str:
        return obj.store.code

    @staticmethod
    def resolve_bay(obj: RepairOrder) -> str | None:
        return obj.bay.code if obj.bay_id else None


class MoveOut(Schema):
    """A move the caller may make on the record now, from the rulebook."""

    name: str
    to: str | None = Field(None, alias="target")
    via: str
    needs_reason: bool
    label: str

    @staticmethod
    def resolve_label(obj: Move) -> str:
        return str(obj.label)


class RepairOrderOut(RepairOrderSummaryOut):
    """A repair order with its reception facts, timeline, estimates, bill and the caller's moves."""

    next_states: list[str]
    reception_started_at: LocalDateTime | None = Field(..., description="When an advisor took the customer.")
    waits_on_site: bool
    concern_category: str | None = Field(
        ..., description="The concern category's code (a catalogue each store keeps: not a closed set)."
    )
    comeback_of: int | None = Field(
        None,
        alias="comeback_of_id",
        description="The earlier order this one is a comeback of (suggested automatically, or confirmed).",
    )
    comeback_confirmed_at: LocalDateTime | None = Field(
        ..., description="When the advisor decided (confirmed the link, or cleared it: `comeback_of` null)."
    )
    mileage_in: int | None
    fuel_level: int | None
    damage_marks: list[dict[str, str]]
    valuables_reminded: bool
    customer_words: str
    inspection_done_at: LocalDateTime | None
    bay_assigned_at: LocalDateTime | None
    work_started_at: LocalDateTime | None
    waiting_parts_reason: str
    delivery_explanation: str
    next_service_date: dt.date | None
    next_service_km: int | None
    rating: int | None
    delivered_with_pending_batches: bool = Field(
        ..., description="Delivered after confirming that the batch of a fitted part was not recorded yet."
    )
    dispatch_warnings: list[str] = Field(
        ..., description="Lines whose bay equipment the assigned bay lacks (a warning; the dispatch stands)."
    )
    billed_total: Decimal | None = Field(None, description="Fixed at delivery.")
    bill_total: Decimal = Field(..., description="The sum of the approved lines: exactly what the bill shows.")
    pending_lines: int = Field(..., description="Sent lines still waiting for the customer's decision.")
    events: list[EventOut]
    estimates: list[EstimateOut]
    customer_link: str | None = Field(
        ...,
        description="The customer's signed link (progress, approvals, bill); only for roles that send it to the "
        "customer (advisor, manager), null otherwise: whoever holds it can act as the customer.",
    )
    moves: list[MoveOut] = Field(
        ...,
        description="The moves the caller may make now (`transitions` for the generic move; others have their "
        "own endpoint: quality check, delivery, assign …), from the rulebook the service enforces.",
    )

    @staticmethod
    def resolve_concern_category(obj: RepairOrder) -> str | None:
        return obj.concern_category.code if obj.concern_category_id else None

    @staticmethod
    def resolve_next_states(obj: RepairOrder) -> list[str]:
        return sorted(transitions.REPAIR_ORDER_FLOW[obj.status])

    @staticmethod
    def resolve_moves(obj: RepairOrder, context: dict[str, Any]) -> list[Move]:
        return transitions.repair_order_moves_for(order=obj, user=context["request"].auth, via=None)

    @staticmethod
    def resolve_dispatch_warnings(obj: RepairOrder) -> list[str]:
        if obj.status not in transitions.OPEN_STATES:
            return []
        return bay_equipment_gaps(obj.bay, [lv.line for view in obj.page.estimates for lv in view.lines])  # type: ignore[attr-defined]

    @staticmethod
    def resolve_bill_total(obj: RepairOrder) -> Decimal:
        return obj.page.bill_total  # type: ignore[attr-defined]

    @staticmethod
    def resolve_pending_lines(obj: RepairOrder) -> int:
        return obj.page.pending_lines  # type: ignore[attr-defined]

    @staticmethod
    def resolve_events(obj: RepairOrder) -> list[Any]:
        return obj.page.events  # type: ignore[attr-defined]

    @staticmethod
    def resolve_estimates(obj: RepairOrder) -> list[Any]:
        return obj.page.estimates  # type: ignore[attr-defined]

    @staticmethod
    def resolve_customer_link(obj: RepairOrder, context: dict[str, Any]) -> str | None:
        request = context["request"]
        if not transitions.may_send_order_link(order=obj, user=request.auth):
            return None
        return _absolute(request, reverse("service:customer-order", args=[order_link_token(obj)]))


def _with_page(order: RepairOrder) -> RepairOrder:
    """The order with its timeline, estimates (drafts included, for staff) and bill, in a fixed few queries."""
    order.page = selectors.order_page(order, include_drafts=True)  # type: ignore[attr-defined]
    return order


def _fresh(request: HttpRequest, order_id: int) -> RepairOrder:
    return _with_page(_order(request, order_id))


class QualityCheckOut(Schema):
    """A final quality check of a repair order and the order's state after it."""

    id: int
    order: int = Field(..., alias="order_id")
    passed: bool
    checklist: dict[str, bool]
    notes: str
    at: LocalDateTime
    order_status: OrderStatusOut
    qc_failures: int

    @staticmethod
    def resolve_order_status(obj: Any) -> str:
        return obj.order.status

    @staticmethod
    def resolve_qc_failures(obj: Any) -> int:
        return obj.order.qc_failures


# --------------------------------------------------------------------------------------------- input schemas


class SlotFilter(Schema):
    store: str = Field(..., description="A store code, e.g. SH01")
    date: dt.date = Field(..., description="The day, YYYY-MM-DD (store's local time)")


class AppointmentIn(Schema):
    """A booking: store, slot start, customer, vehicle, service type and channel, optional pick-up."""

    store: OneLine = Field(..., description="Store code")
    start: PlannedAt = Field(..., description="The start of a slot, ISO 8601 with its offset")
    service_type: ServiceTypeName
    channel: ChannelName
    customer: int = Field(..., description="Customer id (of the same store)")
    vehicle: int = Field(..., description="Vehicle id (of that customer)")
    advisor: int | None = Field(None, description="User id of the advisor the customer chose")
    customer_words: MultiLine = Field("", max_length=300)
    pickup_address: OneLine = Field("", max_length=300)
    pickup_from: PlannedAt | None = None
    pickup_to: PlannedAt | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "store": "SH01",
                "start": "2026-12-07T10:00:00+08:00",
                "service_type": "maintenance",
                "channel": "phone",
                "customer": 3001,
                "vehicle": 2048,
                "advisor": 17,
                "customer_words": "保养，顺便检查左前轮异响",
            }
        }
    )


class AppointmentFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; all visible stores when omitted")
    date: AnyDay | None = Field(None, description="Only bookings of this day")
    status: AppointmentStatusName | None = None
    customer: ObjectId | None = Field(None, description="Only this customer's bookings (a customer id)")
    vehicle: ObjectId | None = Field(None, description="Only this vehicle's bookings (a vehicle id)")


class RescheduleIn(Schema):
    """A move of an appointment to another slot."""

    start: PlannedAt = Field(..., description="The start of another slot, ISO 8601 with its offset")


class DriverIn(Schema):
    """The driver assigned to an appointment's pick-up."""

    driver: int = Field(..., description="User id of one of the store's drivers")


class PickupMoveIn(Schema):
    """A step of a pick-up job: collect the car, or deliver it back."""

    move: Literal["collect", "deliver_back"]


class PickupFilter(Schema):
    date: AnyDay | None = Field(None, description="The day, YYYY-MM-DD; today when omitted")


class CancelIn(Schema):
    """The cancellation of an appointment, with its reason."""

    reason: OneLine = Field("", max_length=200)


class RepairOrderFilter(SyncFilter):
    store: str | None = Field(None, description="A store code; all visible stores when omitted")
    status: StatusName | None = None
    customer: ObjectId | None = Field(None, description="Only this customer's orders (a customer id)")
    vehicle: ObjectId | None = Field(None, description="Only this vehicle's orders (a vehicle id)")


class WalkInIn(Schema):
    """A walk-in customer's arrival: opens a repair order without an appointment."""

    store: OneLine
    service_type: ServiceTypeName
    plate: OneLine = Field("", max_length=16, description="The plate, or leave empty and give the phone")
    phone: OneLine = Field("", max_length=20)
    name: OneLine = Field("", max_length=60, description="A new customer's name")
    vin: OneLine = Field("", max_length=17, description="A new vehicle's VIN")
    brand: OneLine = Field("", max_length=60)
    model_name: OneLine = Field("", max_length=60)
    customer_words: MultiLine = Field("", max_length=2000)
    arrived_at: HappenedAt | None = Field(
        None, description="The real arrival: default now; earlier by at most 12 hours, never in the future."
    )
    receive: bool = Field(
        False,
        description="The one registering is the advisor taking the customer now (needs `arrived_at`, when the "
        "customer came in); false: the customer waits in the reception queue until `POST …/receive`.",
    )
    waits_on_site: bool = Field(False, description="The customer waits on site (rather than leaving the car).")
    concern_category: OneLine = Field("", max_length=32, description="A concern category code (e.g. brakes).")


class CheckInIn(Schema):
    arrived_at: HappenedAt | None = Field(
        None, description="The real arrival: default now; earlier by at most 12 hours, never in the future."
    )
    receive: bool = Field(
        False,
        description="The one checking in is the advisor taking the customer now (needs `arrived_at`); false: "
        "the customer waits in the reception queue until `POST …/receive`.",
    )
    waits_on_site: bool = False
    concern_category: OneLine = Field("", max_length=32, description="A concern category code (e.g. brakes).")


class FactsIn(Schema):
    """Reception facts of a repair order (mileage, fuel, the customer's words …)."""

    concern_category: OneLine | None = Field(None, max_length=32, description="A code; empty clears it.")
    waits_on_site: bool | None = None
    arrived_at: HappenedAt | None = Field(None, description="Only at reception; not after reception/inspection.")


class ComebackIn(Schema):
    """The advisor's decision on a suggested comeback link: confirm it or clear it."""

    action: Literal["confirm", "clear"]
    of: int | None = Field(None, description="confirm: the earlier order (default: the suggested one).")


class JobClockOut(Schema):
    """A labour line's job clock: running or not, minutes clocked, when the work finished."""

    line: int
    running: bool
    clocked_minutes: int
    work_finished_at: LocalDateTime | None


class DamageMarkIn(Schema):
    """A damage mark noted on the car at reception."""

    zone: OneLine = Field(..., max_length=40)
    kind: OneLine = Field(..., max_length=40)
    note: OneLine = Field("", max_length=80)


class InspectionIn(Schema):
    """The walk-around inspection at reception: damage marks, valuables reminder."""

    mileage_in: int = Field(..., description="Odometer in km")
    fuel_level: int = Field(..., description="Fuel or battery level, percent")
    damage_marks: list[DamageMarkIn] = Field(default_factory=list, max_length=40)
    valuables_reminded: bool = False
    customer_words: MultiLine = Field("", max_length=2000)


class LineIn(Schema):
    """A new estimate line: labour, part or fee with its price."""

    kind: Literal["labour", "part", "fee"]
    description: OneLine = Field(..., max_length=200)
    operation_code: OneLine = Field("", max_length=32)
    standard_hours: Decimal | None = Field(None, ge=0, le=999)
    hourly_rate: Decimal | None = Field(None, ge=0, le=100_000)
    min_grade: Literal["", "junior", "intermediate", "senior", "technician", "senior_technician"] = ""
    high_voltage: bool = Field(
        False, description="A labour line on an NEV's high-voltage system: dispatched only to a certificate holder"
    )
    capability: Literal["", "general", "maintenance", "nev_hv", "bodywork", "paint", "alignment", "diagnosis"] = Field(
        "", description="Bay equipment a labour line needs"
    )
    part_number: OneLine = Field("", max_length=40)
    grade: Literal["", "oem", "brand", "repaired", "used", "other"] = Field(
        "",
        description="The part's category (oem 原厂, brand 同质, repaired 修复, used 旧件, other); "
        "a catalogue part's own by default",
    )
    unit_price: Decimal | None = Field(None, ge=0, le=1_000_000)
    quantity: Decimal = Field(Decimal("1"), gt=0, le=1000)
    amount: Decimal | None = Field(None, ge=0, le=1_000_000, description="A fee's amount")
    alternative_to: int | None = Field(
        None, description="Id of a part line of the same draft this part is an alternative to (another grade)"
    )


class DecisionIn(Schema):
    """The customer's decision on an estimate line, taken at the desk or on the phone."""

    decision: Literal["approved", "declined"]
    channel: Literal["desk", "phone"] = Field(..., description="desk: signed at the desk; phone: noted from a call")
    reason: OneLine = Field("", max_length=200)
    whole_group: bool = Field(
        False, description='With declined: decline every open option of the line\'s choice ("neither for now")'
    )


class AssignIn(Schema):
    """The dispatch of a repair order to a technician and a bay."""

    technician: int | None = Field(None, description="User id of a technician of the store")
    bay: int | None = Field(None, description="Bay id")


class TransitionIn(Schema):
    """A generic move of a repair order to another state, with a reason where needed."""

    to: StatusName
    reason: OneLine = Field("", max_length=300)


class QualityCheckIn(Schema):
    """The result of a final quality check: the checklist and notes."""

    passed: bool
    checklist: dict[str, bool] = Field(default_factory=dict)
    notes: OneLine = Field("", max_length=300)
    skip_washing: bool = False


class DeliveryIn(Schema):
    """The delivery (交车) of a repaired car: explanation, next service and rating."""

    explanation: MultiLine = Field(..., max_length=4000)
    next_service_date: PlannedDate | None = None
    next_service_km: int | None = Field(None, ge=0, le=3_000_000)
    rating: int | None = Field(None, ge=0, le=10)
    confirm_pending_batches: bool = Field(
        False, description="Deliver although a fitted part's batch is not recorded (422 naming this field otherwise)"
    )


# --------------------------------------------------------------------------------------------- slots


@router.get(
    "/slots",
    response=list[SlotOut],
    summary="Bookable slots of a store and day",
    description="Every slot of the day with its capacity and remaining places; times in ISO 8601 with the "
    "store's offset (+08:00). Needs the right to view the service process or to book in the store.",
)
def slot_list(request: HttpRequest, filters: Query[SlotFilter]) -> Any:
    store = store_by_code(request.auth, filters.store)
    today = clock.today()
    if not (today - dt.timedelta(days=SLOT_DAYS_BACK) <= filters.date <= today + dt.timedelta(days=SLOT_DAYS_AHEAD)):
        raise ValidationError({"date": [_("Choose a day within a year of today.")]})
    require(request.auth, Capability.VIEW_SERVICE, Capability.BOOK, store_id=store.pk)
    services.slots_ensure_bookable(store=store, day=filters.date)
    return selectors.slot_list(store=store, day=filters.date)


# --------------------------------------------------------------------------------------------- appointments


@router.post(
    "/appointments",
    response={201: AppointmentCreated},
    summary="Book a slot",
    description="201 with the appointment. A full slot (or a chosen advisor with no place left) is 409 with a "
    "message and a `code` (`slot_full`, `advisor_full`); a bad field is 422 naming it. Nothing is written then.",
)
def appointment_create(request: HttpRequest, payload: AppointmentIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    require(request.auth, Capability.BOOK, store_id=store.pk)
    # The vehicle with its owner in one query; the customer is read alone only when it is not that owner.
    # Only customers the store deals with (a group customer is linked to each store that serves them).
    vehicle = (
        Vehicle.objects.select_related("customer")
        .filter(pk=payload.vehicle, customer__store_links__store=store)
        .first()
    )
    if vehicle is not None and vehicle.customer_id == payload.customer:
        customer = vehicle.customer
    else:
        customer = Customer.objects.filter(pk=payload.customer, store_links__store=store).first()
    errors = {}
    if customer is None:
        errors["customer"] = [_("No customer with this id in the store.")]
    if vehicle is None or (customer is not None and vehicle.customer_id != customer.pk):
        errors["vehicle"] = [_("No vehicle with this id belonging to the customer.")]
    if errors:
        raise ValidationError(errors)
    appointment = services.appointment_book(
        store=store,
        start=payload.start,
        service_type=payload.service_type,
        channel=payload.channel,
        customer=customer,
        vehicle=vehicle,
        by=request.auth,
        advisor=None
        if payload.advisor is None
        else staff_member(payload.advisor, store_id=store.pk, field="advisor", roles=[Role.ADVISOR]),
        customer_words=payload.customer_words,
        pickup_address=payload.pickup_address,
        pickup_from=payload.pickup_from,
        pickup_to=payload.pickup_to,
    )
    return 201, appointment


@router.get(
    "/appointments",
    response=list[AppointmentOut],
    summary="Bookings of the caller's stores",
    description="By slot start (earliest first) unless `sort` says otherwise.",
)
@paginate(BoundedPagination)
def appointment_list(request: HttpRequest, filters: Query[AppointmentFilter]) -> Any:
    appointments = selectors.appointment_list(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store, capability=Capability.VIEW_SERVICE),
        day=filters.date,
        status=filters.status,
        customer_id=filters.customer,
        vehicle_id=filters.vehicle,
    )
    return sync_apply(appointments, filters, default=("slot__start", "id"))


@router.get("/appointments/{appointment_id}", response=AppointmentOut, summary="One booking")
def appointment_detail(request: HttpRequest, appointment_id: int) -> Any:
    appointment = selectors.appointment_get_for_user(user=request.auth, pk=appointment_id)
    require(request.auth, Capability.VIEW_SERVICE, store_id=appointment.store_id)
    return appointment


@router.post(
    "/appointments/{appointment_id}/reschedule",
    response=AppointmentOut,
    summary="Move a booking to another slot",
    description="The new place is taken before the old one is given back: a full slot is 409 and the booking "
    "stays where it was.",
)
def appointment_reschedule(request: HttpRequest, appointment_id: int, payload: RescheduleIn) -> Any:
    appointment = selectors.appointment_get_for_user(user=request.auth, pk=appointment_id)
    services.appointment_reschedule(appointment=appointment, start=payload.start, by=request.auth)
    return selectors.appointment_get_for_user(user=request.auth, pk=appointment.pk)


@router.post(
    "/appointments/{appointment_id}/cancel",
    response=AppointmentOut,
    summary="Cancel a booking",
    description="The place is given back. Only a booked appointment can be cancelled (409 otherwise).",
)
def appointment_cancel(request: HttpRequest, appointment_id: int, payload: CancelIn) -> Any:
    appointment = selectors.appointment_get_for_user(user=request.auth, pk=appointment_id)
    services.appointment_cancel(appointment=appointment, by=request.auth, reason=payload.reason)
    return selectors.appointment_get_for_user(user=request.auth, pk=appointment.pk)


@router.post(
    "/appointments/{appointment_id}/driver",
    response=AppointmentOut,
    summary="Assign the pick-up driver",
    description="Only one of the store's drivers: another store's person, a colleague who is not a driver and a "
    "missing id all answer the same 422 naming `driver`. The customer is told the driver's name.",
)
def appointment_driver(request: HttpRequest, appointment_id: int, payload: DriverIn) -> Any:
    appointment = selectors.appointment_get_for_user(user=request.auth, pk=appointment_id)
    transitions.APPOINTMENT.authorise(
        transitions.APPOINTMENT.get("assign_driver"), actor=request.auth, store_id=appointment.store_id
    )
    driver = staff_member(payload.driver, store_id=appointment.store_id, field="driver", roles=DRIVER_ROLES)
    services.appointment_assign_driver(appointment=appointment, driver=driver, by=request.auth)
    return selectors.appointment_get_for_user(user=request.auth, pk=appointment.pk)


@router.get(
    "/pickups",
    response=list[PickupOut],
    summary="The driver's list: pick-ups and drop-offs of a day",
    description="A driver gets the jobs assigned to them with the address and the phone in full; whoever receives "
    "cars gets every pick-up of their stores, masked. Pick-ups first, then drop-offs.",
)
def pickup_list(request: HttpRequest, filters: Query[PickupFilter]) -> Any:
    require(request.auth, Capability.DRIVE, Capability.RECEIVE)
    data = selectors_pickups.pickup_list(user=request.auth, day=filters.date or clock.today())
    if data.shown_in_full:
        audit_record(
            actor=request.auth,
            action="appointment.pickup_list",
            object_type="service.appointment",
            changes={"shown_in_full": data.shown_in_full, "day": data.day.isoformat()},
        )
    return [*data.pickups, *data.drop_offs]


@router.post(
    "/appointments/{appointment_id}/pickup",
    response=AppointmentOut,
    summary="Record a pick-up move",
    description="collect (the driver has the car) or deliver_back (the car is back with the customer; its order "
    "must be ready). The job's driver or an advisor of the store; 409 from a state the move does not start from. "
    "A photo can be added from the driver's page.",
)
def pickup_move(request: HttpRequest, appointment_id: int, payload: PickupMoveIn) -> Any:
    appointment = Appointment.objects.select_related("store").get_for_user_or_404(request.auth, pk=appointment_id)
    services.pickup_record(appointment=appointment, move=payload.move, by=request.auth)
    return Appointment.objects.select_related("store", "slot").get(pk=appointment.pk)


# --------------------------------------------------------------------------------------------- repair orders


@router.post(
    "/appointments/{appointment_id}/check-in",
    response={201: RepairOrderOut},
    summary="Check in a booked car",
    description="The customer has arrived: the booking becomes a repair order in reception (201 with the order). "
    "Optional body: the real arrival (`arrived_at`, at most 12 hours back; 422 naming it otherwise), `receive` "
    "(default false: the customer waits in the reception queue; true needs `arrived_at`), `waits_on_site`, "
    "`concern_category` (a code; 422 naming it when unknown).",
)
def appointment_check_in(request: HttpRequest, appointment_id: int) -> Any:
    appointment = selectors.appointment_get_for_user(user=request.auth, pk=appointment_id)
    require(request.auth, Capability.RECEIVE, store_id=appointment.store_id)
    facts: dict[str, Any] = {}
    if request.body.strip():  # the body is optional (a plain check-in sends none), so it is read here
        try:
            facts = CheckInIn.model_validate_json(request.body).dict()
        except PydanticValidationError as exc:
            raise ValidationError(
                {
                    ".".join(str(part) for part in error["loc"]) or "body": [pydantic_message(dict(error))]
                    for error in exc.errors()
                }
            ) from None
    order = services.appointment_check_in(appointment=appointment, by=request.auth, **facts)
    return 201, _fresh(request, order.pk)


@router.get(
    "/repair-orders",
    response=list[RepairOrderSummaryOut],
    summary="Repair orders of the caller's stores",
    description="Newest arrival first unless `sort` says otherwise; filter by store code, state, customer, "
    "vehicle and the sync parameters.",
)
@paginate(BoundedPagination)
def repair_order_list(request: HttpRequest, filters: Query[RepairOrderFilter]) -> Any:
    orders = selectors.order_list(
        user=request.auth,
        store_ids=store_ids_for(request.auth, filters.store, capability=Capability.VIEW_SERVICE),
        statuses=[filters.status] if filters.status else None,
        customer_id=filters.customer,
        vehicle_id=filters.vehicle,
    )
    return sync_apply(orders, filters, default=("-arrived_at", "-id"))


@router.get(
    "/repair-orders/{order_id}",
    response=RepairOrderOut,
    summary="One repair order",
    description="State, the states it may go to next, the timeline of state changes (who, when, why), every "
    "estimate with its lines and the customer's decisions, the bill total (= the approved lines) and the "
    "customer's link.",
)
def repair_order_detail(request: HttpRequest, order_id: int) -> Any:
    order = _order(request, order_id)
    require(request.auth, Capability.VIEW_SERVICE, store_id=order.store_id)
    return _with_page(order)


@router.post(
    "/repair-orders",
    response={201: RepairOrderOut},
    summary="Register a walk-in",
    description="Plate or phone first: a known vehicle or customer is found, a new one needs the name (customer) "
    "and VIN, brand and model (vehicle). 409 when the vehicle already has an open order.",
)
def repair_order_create(request: HttpRequest, payload: WalkInIn) -> Any:
    store = store_by_code(request.auth, payload.store)
    require(request.auth, Capability.RECEIVE, store_id=store.pk)
    order = services.walk_in_register(by=request.auth, store=store, **payload.dict(exclude={"store"}))
    return 201, _fresh(request, order.pk)


@router.post(
    "/repair-orders/{order_id}/inspection",
    response=RepairOrderOut,
    summary="Record the initial inspection",
    description="Mileage, fuel or battery level, damage marks (zone and kind from the car outline), the "
    "valuables reminder and the customer's words. Only at reception (409 later).",
)
def repair_order_inspection(request: HttpRequest, order_id: int, payload: InspectionIn) -> Any:
    order = _order(request, order_id)
    services.inspection_record(
        order=order,
        by=request.auth,
        mileage_in=payload.mileage_in,
        fuel_level=payload.fuel_level,
        damage_marks=[mark.dict() for mark in payload.damage_marks],
        valuables_reminded=payload.valuables_reminded,
        customer_words=payload.customer_words,
    )
    return _fresh(request, order.pk)


@router.post(
    "/repair-orders/{order_id}/lines",
    response={201: LineOut},
    summary="Add an estimate line to the draft",
    description="A labour line (standard hours × rate, optional minimum technician grade), a part (unit price × "
    "quantity, with its grade; `alternative_to` offers it against another part of the draft) or a fee. The line "
    "goes to the order's draft estimate (a supplementary one once earlier estimates were sent).",
)
def repair_order_line_add(request: HttpRequest, order_id: int, payload: LineIn) -> Any:
    order = _order(request, order_id)
    _authorise(request, order, "estimate")
    alternative = None
    if payload.alternative_to is not None:
        alternative = (
            EstimateLine.objects.select_related("estimate")
            .filter(pk=payload.alternative_to, estimate__order=order)
            .first()
        )
        if alternative is None:
            raise ValidationError({"alternative_to": [_("No line with this id on this order.")]})
    data = payload.dict(exclude={"alternative_to"})
    return 201, services.estimate_line_add(order=order, by=request.auth, alternative_to=alternative, **data)


@router.delete(
    "/repair-orders/{order_id}/lines/{line_id}",
    response={204: None},
    summary="Remove a line of the draft",
    description="Only while its estimate is a draft; a sent line is declined by the customer instead (409).",
)
def repair_order_line_remove(request: HttpRequest, order_id: int, line_id: int) -> Any:
    order = _order(request, order_id)
    line = _line_or_404(order, line_id)
    services.estimate_line_remove(line=line, by=request.auth)
    return 204, None


@router.post(
    "/repair-orders/{order_id}/estimates/send",
    response=EstimateOut,
    summary="Send the draft estimate to the customer",
    description="The current draft goes to the customer (signed link by message); from now on its lines are "
    "decided, not edited. 409 when there is no draft or it has no lines.",
)
def repair_order_estimate_send(request: HttpRequest, order_id: int) -> Any:
    order = _order(request, order_id)
    _authorise(request, order, "estimate")
    draft = order.estimates.filter(status=EstimateStatus.DRAFT).order_by("-number").first()
    if draft is None:
        raise ApplicationError(_("There is no draft estimate to send: add a line first."), {"code": "no_draft"})
    draft.order = order
    services.estimate_send(estimate=draft, by=request.auth)
    page = selectors.order_page(order, include_drafts=True)
    return next(view for view in page.estimates if view.estimate.pk == draft.pk)


@router.post(
    "/repair-orders/{order_id}/lines/{line_id}/decision",
    response=LineOut,
    summary="Note the customer's decision on a line",
    description="Approved or declined, at the desk (signature) or by phone (noted by the advisor), with the time "
    "and who noted it. Approving one of a group of alternatives declines the others (422 naming `decision` when "
    "another option is already approved); `whole_group` declines them all; a declined line becomes deferred work "
    "on the vehicle (once per choice). A line is decided once (409 after).",
)
def repair_order_line_decide(request: HttpRequest, order_id: int, line_id: int, payload: DecisionIn) -> Any:
    order = _order(request, order_id)
    line = _line_or_404(order, line_id)
    return services.estimate_line_decide(
        line=line,
        decision=payload.decision,
        channel=payload.channel,
        by=request.auth,
        reason=payload.reason,
        whole_group=payload.whole_group,
    )


@router.post(
    "/repair-orders/{order_id}/assign",
    response=RepairOrderOut,
    summary="Assign a technician and/or a bay (dispatch)",
    description="The technician must be of the store and of the grade the job needs (422 naming `technician` "
    "otherwise); the bay active, free and equipped for the service type. A bay lacking the equipment a line needs "
    "is assigned with `dispatch_warnings` in the answer.",
)
def repair_order_assign(request: HttpRequest, order_id: int, payload: AssignIn) -> Any:
    order = _order(request, order_id)
    _authorise(request, order, "assign")
    if payload.technician is None and payload.bay is None:
        raise ValidationError({"technician": [_("Choose a technician or a bay.")]})
    bay = None
    if payload.bay is not None:
        bay = Bay.objects.filter(pk=payload.bay, store_id=order.store_id).first()
        if bay is None:
            raise ValidationError({"bay": [_("No active bay with this id in the store.")]})
    technician = (
        None
        if payload.technician is None
        else staff_member(
            payload.technician, store_id=order.store_id, field="technician", roles=[Role.TECHNICIAN, Role.FOREMAN]
        )
    )
    services.repair_order_assign(order=order, by=request.auth, technician=technician, bay=bay)
    return _fresh(request, order.pk)


@router.post(
    "/repair-orders/{order_id}/transitions",
    response=RepairOrderOut,
    summary="Move the order to another state",
    description="Along the transition table only (`next_states` of the order): anything else is 409 with the "
    "message (`code` invalid_transition), as is a move somebody else made first (`code` conflict). Waiting for "
    "parts and cancelling need a `reason`. Releasing to the workshop, cancelling and delivering are the "
    "advisor's; workshop moves belong to the technician on the job or to whoever dispatches.",
)
def repair_order_transition(request: HttpRequest, order_id: int, payload: TransitionIn) -> Any:
    order = _order(request, order_id)
    services.repair_order_transition(order=order, to=payload.to, by=request.auth, reason=payload.reason)
    return _fresh(request, order.pk)


@router.post(
    "/repair-orders/{order_id}/quality-checks",
    response={201: QualityCheckOut},
    summary="Record a quality check",
    description="A pass needs every checklist item ticked and moves the car on (to washing, or ready with "
    "`skip_washing`); a failure needs notes, is counted and sends the job back to work. The technician who did the "
    "work cannot pass it (422 naming `passed`; store setting `qc_not_by_worker`, on by default).",
)
def repair_order_quality_check(request: HttpRequest, order_id: int, payload: QualityCheckIn) -> Any:
    order = _order(request, order_id)
    check = services.quality_check_record(
        order=order,
        by=request.auth,
        passed=payload.passed,
        checklist=payload.checklist,
        notes=payload.notes,
        skip_washing=payload.skip_washing,
    )
    return 201, check


@router.post(
    "/repair-orders/{order_id}/delivery",
    response=RepairOrderOut,
    summary="Deliver the car",
    description="Only a car that is ready: the explanation given, the next maintenance date and mileage, the "
    "rating (0–10). The bill total is fixed to the approved lines. A fitted part whose batch is not recorded needs "
    "`confirm_pending_batches` (422 naming it otherwise); the order then shows `delivered_with_pending_batches`.",
)
def repair_order_delivery(request: HttpRequest, order_id: int, payload: DeliveryIn) -> Any:
    order = _order(request, order_id)
    services.repair_order_deliver(
        order=order,
        by=request.auth,
        explanation=payload.explanation,
        next_service_date=payload.next_service_date,
        next_service_km=payload.next_service_km,
        rating=payload.rating,
        confirm_pending_batches=payload.confirm_pending_batches,
    )
    return _fresh(request, order.pk)


# --------------------------------------------------------------------------------------------- the KPI facts


@router.post(
    "/repair-orders/{order_id}/receive",
    response=RepairOrderOut,
    summary="Start the reception",
    description="An advisor takes the customer now (once; 409 after, or once the car left reception).",
)
def repair_order_receive(request: HttpRequest, order_id: int) -> Any:
    order = _order(request, order_id)
    services.repair_order_receive(order=order, by=request.auth)
    return _fresh(request, order.pk)


@router.post(
    "/repair-orders/{order_id}/facts",
    response=RepairOrderOut,
    summary="Correct the reception facts",
    description="Concern category (a code, empty clears it; re-suggests the comeback link), whether the customer "
    "waits on site, and at reception the real arrival. Omitted fields stay; a bad one is 422 naming it.",
)
def repair_order_facts(request: HttpRequest, order_id: int, payload: FactsIn) -> Any:
    order = _order(request, order_id)
    services.repair_order_facts_update(order=order, by=request.auth, **payload.dict())
    return _fresh(request, order.pk)


@router.post(
    "/repair-orders/{order_id}/comeback",
    response=RepairOrderOut,
    summary="Confirm or clear the comeback link",
    description="confirm: the suggested earlier order (or `of`: an earlier delivered order of the same vehicle, "
    "422 naming `comeback_of` otherwise); clear: not a comeback. Either way the advisor's decision is kept and "
    "never overridden by a later suggestion.",
)
def repair_order_comeback(request: HttpRequest, order_id: int, payload: ComebackIn) -> Any:
    order = _order(request, order_id)
    if payload.action == "confirm":
        earlier = None
        if payload.of is not None:
            earlier = RepairOrder.objects.filter(pk=payload.of, vehicle_id=order.vehicle_id).first()
            if earlier is None:
                raise ValidationError({"comeback_of": [_("Choose an earlier delivered order of the same vehicle.")]})
        services.repair_order_comeback_confirm(order=order, by=request.auth, of=earlier)
    else:
        services.repair_order_comeback_clear(order=order, by=request.auth)
    return _fresh(request, order.pk)


CLOCK_MOVES = {
    "start": services.labour_clock_start,
    "pause": services.labour_clock_pause,
    "finish": services.labour_clock_finish,
}
CLOCK_DESCRIPTION = (
    "Only the order's technician on their own job (403), only approved labour lines and only while the car is "
    "worked on (409)."
)


def _line_clock(request: HttpRequest, order_id: int, line_id: int, action: str) -> Any:
    order = _order(request, order_id)
    line = _line_or_404(order, line_id)
    CLOCK_MOVES[action](line=line, user=request.auth)
    line.refresh_from_db(fields=["work_finished_at"])
    segments = list(line.clock_segments.all())
    now = clock.now()
    return {
        "line": line.pk,
        "running": any(s.ended_at is None for s in segments),
        "clocked_minutes": int(sum(((s.ended_at or now) - s.started_at).total_seconds() for s in segments) // 60),
        "work_finished_at": line.work_finished_at,
    }


# One route per move (not an {action} parameter): every path parameter of the API names a record, so the store
# isolation sweeps can prove each one.
@router.post(
    "/repair-orders/{order_id}/lines/{line_id}/clock/start",
    response=JobClockOut,
    summary="Start the technician's job clock on a labour line",
    description="Pauses the technician's clock running on another line. " + CLOCK_DESCRIPTION,
)
def repair_order_line_clock_start(request: HttpRequest, order_id: int, line_id: int) -> Any:
    return _line_clock(request, order_id, line_id, "start")


@router.post(
    "/repair-orders/{order_id}/lines/{line_id}/clock/pause",
    response=JobClockOut,
    summary="Pause the technician's job clock on a labour line",
    description=CLOCK_DESCRIPTION,
)
def repair_order_line_clock_pause(request: HttpRequest, order_id: int, line_id: int) -> Any:
    return _line_clock(request, order_id, line_id, "pause")


@router.post(
    "/repair-orders/{order_id}/lines/{line_id}/clock/finish",
    response=JobClockOut,
    summary="Finish the labour line (once); closes its running clock",
    description=CLOCK_DESCRIPTION,
)
def repair_order_line_clock_finish(request: HttpRequest, order_id: int, line_id: int) -> Any:
    return _line_clock(request, order_id, line_id, "finish")
