"""Repair orders: arrival (booked or walk-in), the initial inspection, assignment, the state machine,
quality checks, delivery and the efficiency warning."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import refuse_control_characters
from aftersales.customers import services as customer_services
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.choices import GRADE_RANK, BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, Membership, Store
from aftersales.organisation.rules import Actor, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service import transitions
from aftersales.service.choices import (
    DAMAGE_KINDS,
    DAMAGE_ZONES,
    AppointmentStatus,
    EstimateStatus,
    LineDecision,
    LineKind,
    RepairOrderStatus,
    ServiceType,
)
from aftersales.service.models import (
    Appointment,
    ConcernCategory,
    EstimateLine,
    QualityCheck,
    RepairOrder,
    RepairOrderEvent,
)
from aftersales.service.services import facts as facts_services
from aftersales.service.services.pickups import pickup_arrived
from aftersales.service.transitions import REPAIR_ORDER
from aftersales.staff import selectors as staff_selectors
from aftersales.standards import selectors as standards_selectors
from aftersales.standards.choices import ProcedureStep

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = RepairOrderStatus
# Service types that need a bay with a given capability.
BAY_NEEDS: dict[str, set[str]] = {
    ServiceType.NEV_CHECK: {BayCapability.NEV_HIGH_VOLTAGE},
    ServiceType.BODYWORK: {BayCapability.BODYWORK, BayCapability.PAINT},
}
# The built-in QC checklist's keys (standards/defaults.py keeps them); the check itself reads the QC SOP in force.
QC_CHECKLIST: tuple[tuple[str, str], ...] = (
    ("work_done", "All approved work done"),
    ("road_test", "Road test or function test passed"),
    ("no_leaks", "No leaks, fluids topped up"),
    ("warning_lights", "No warning lights on the dashboard"),
    ("tightening", "Wheels and fasteners tightened to torque"),
    ("clean", "Car clean inside, protective covers removed"),
    ("old_parts", "Old parts ready to show the customer"),
)


def sop_ticks(order: RepairOrder, step: str, checklist: Any) -> tuple[dict[str, bool], Any]:
    """The ticks of the `step` SOP in force in the order's store ({key: ticked}, every item of the version) and
    the version (None for the built-in default); ValidationError {"checklist"} for an item the version lacks."""
    version = standards_selectors.current_version(store=order.store, step=step)
    known = [item.key for item in standards_selectors.version_items(version)]
    if not isinstance(checklist, dict) or set(checklist) - set(known):
        raise ValidationError({"checklist": [_("Unknown checklist item.")]})
    return {key: bool(checklist.get(key)) for key in known}, (version if version.pk else None)


def _number(store: Store) -> str:
    """RO numbers read SH01-20261123-0007: store, day, running count of the day."""
    today = clock.today()
    prefix = f"{store.code}-{today:%Y%m%d}-"
    last = RepairOrder.objects.filter(number__startswith=prefix).aggregate(m=Max("number"))["m"]
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


# Each retry follows a competitor's commit (the unique index makes the loser wait for it), so n cars arriving
# at the same moment need at most n attempts.
NUMBER_ATTEMPTS = 20


def _create_numbered(**fields: Any) -> RepairOrder:
    """Create with the next number of the day; two arrivals at the same moment retry instead of failing."""
    for _attempt in range(NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                return RepairOrder.objects.create(number=_number(fields["store"]), **fields)
        except IntegrityError:
            continue
    raise ApplicationError(_("The store is very busy; please try again."), {"code": "conflict"})


def _record_event(
    order: RepairOrder, old: str, new: str, by: Actor, reason: str = "", at: dt.datetime | None = None
) -> None:
    RepairOrderEvent.objects.create(
        order=order,
        from_status=old,
        to_status=new,
        at=at or clock.now(),
        by=actor_user(by),
        reason=reason[:300],
    )


def _open(
    *,
    store: Store,
    customer: Customer,
    vehicle: Vehicle,
    service_type: str,
    by: Actor,
    walk_in: bool,
    appointment: Appointment | None = None,
    customer_words: str = "",
    facts: _ArrivalFacts,
) -> RepairOrder:
    # The vehicle's row lock makes a second registration of the same car wait and then see the first order.
    Vehicle.objects.select_for_update().filter(pk=vehicle.pk).values_list("pk", flat=True).first()
    if vehicle.repair_orders.filter(status__in=transitions.OPEN_STATES).exists():
        raise ApplicationError(_("This vehicle already has an open repair order."), {"code": "already_open"})
    now = clock.now()
    order = _create_numbered(
        store=store,
        arrived_at=facts.arrived_at,
        reception_started_at=now if facts.receive else None,
        waits_on_site=facts.waits_on_site,
        concern_category=facts.concern_category,
        customer=customer,
        vehicle=vehicle,
        appointment=appointment,
        service_type=service_type,
        walk_in=walk_in,
        priority=customer.is_priority,
        advisor=(appointment.advisor if appointment and appointment.advisor else actor_user(by)),
        customer_words=customer_words,
        link_nonce=secrets.token_hex(8),
    )
    _record_event(order, "", S.RECEPTION, by, _("walk-in") if walk_in else _("booked arrival"), at=now)
    audit_record(actor=actor_user(by), action="repair_order.open", obj=order, changes={"walk_in": walk_in})
    facts_services.comeback_suggest(order)
    return order


RECEIVE_NEEDS_ARRIVAL = gettext_lazy(
    "Enter when the customer came in: you are receiving them now, and the reception clock runs from their arrival."
)


@dataclass(frozen=True)
class _ArrivalFacts:
    arrived_at: dt.datetime
    receive: bool
    waits_on_site: bool
    concern_category: ConcernCategory | None


def _arrival_facts(
    store: Store, *, arrived_at: Any, receive: bool, waits_on_site: bool, concern_category: str
) -> _ArrivalFacts:
    """The facts entered at registration, checked before anything is written (every bad one named at once).
    Reception started at registration only when the one registering is receiving the customer and says when the
    customer came in: "arrival = now, received now" would meet the walk-in 10-minute KPI by construction."""
    errors: dict[str, list[str]] = {}
    arrival, category = clock.now(), None
    try:
        arrival = facts_services.clean_arrival(arrived_at, clock.now())
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if receive and arrived_at in (None, ""):
        errors.setdefault("arrived_at", []).append(str(RECEIVE_NEEDS_ARRIVAL))
    try:
        category = facts_services.concern_category_by_code(store, concern_category)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return _ArrivalFacts(arrival, bool(receive), bool(waits_on_site), category)


@transaction.atomic
def appointment_check_in(
    *,
    appointment: Appointment,
    by: Actor,
    arrived_at: Any = None,
    receive: bool = False,
    waits_on_site: bool = False,
    concern_category: str = "",
) -> RepairOrder:
    """The booked customer has arrived: the appointment becomes a repair order in reception.  The arrival is now
    or dated back (at most 12 hours); the customer waits in the reception queue until an advisor starts the
    reception ("Start the reception", or the walk-around inspection).  `receive` starts it at check-in: the one
    checking in is the advisor taking the customer, and then `arrived_at` (when the customer came in) is required.
    Also whether the customer waits and the concern category."""
    transitions.APPOINTMENT.authorise(transitions.APPOINTMENT.get("check_in"), actor=by, store_id=appointment.store_id)
    facts = _arrival_facts(
        appointment.store,
        arrived_at=arrived_at,
        receive=receive,
        waits_on_site=waits_on_site,
        concern_category=concern_category,
    )
    # A customer who comes on another day than booked is still received; on-time KPIs compare with the slot.
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.ARRIVED
    )
    if not updated:
        raise ApplicationError(_("Only a booked appointment can be checked in."))
    pickup_arrived(appointment=appointment, by=by)  # a picked-up car is now at the store
    return _open(
        store=appointment.store,
        customer=appointment.customer,
        vehicle=appointment.vehicle,
        service_type=appointment.service_type,
        by=by,
        walk_in=False,
        appointment=appointment,
        customer_words=appointment.customer_words,
        facts=facts,
    )


@transaction.atomic
def walk_in_register(
    *,
    store: Store,
    by: Actor,
    service_type: str,
    plate: str = "",
    phone: str = "",
    name: str = "",
    vin: str = "",
    brand: str = "",
    model_name: str = "",
    customer_words: str = "",
    arrived_at: Any = None,
    receive: bool = False,
    waits_on_site: bool = False,
    concern_category: str = "",
) -> RepairOrder:
    """Fast registration: the plate or the phone first; what is known is found, the rest filled in (the matching
    rule is the customers app's, shared with online booking).  The arrival, reception, waiting and concern
    facts as in `appointment_check_in`."""
    REPAIR_ORDER.authorise(REPAIR_ORDER.get("open"), actor=by, store_id=store.pk)
    refuse_control_characters(customer_words=customer_words)
    if service_type not in ServiceType.values:
        raise ValidationError(
            {"service_type": [_("Choose one of: {options}.").format(options=", ".join(ServiceType.values))]}
        )
    facts = _arrival_facts(
        store, arrived_at=arrived_at, receive=receive, waits_on_site=waits_on_site, concern_category=concern_category
    )
    customer, vehicle = customer_services.customer_and_vehicle_find_or_create(
        store=store, by=actor_user(by), plate=plate, phone=phone, name=name, vin=vin, brand=brand, model_name=model_name
    )
    return _open(
        store=store,
        customer=customer,
        vehicle=vehicle,
        service_type=service_type,
        by=by,
        walk_in=True,
        customer_words=customer_words,
        facts=facts,
    )


def _clean_damage(marks: Any) -> list[dict[str, str]]:
    if not isinstance(marks, list) or len(marks) > 40:
        raise ValidationError({"damage_marks": [_("Give a list of at most 40 marks.")]})
    zones, kinds = dict(DAMAGE_ZONES), dict(DAMAGE_KINDS)
    clean = []
    for mark in marks:
        if not isinstance(mark, dict) or mark.get("zone") not in zones or mark.get("kind") not in kinds:
            raise ValidationError({"damage_marks": [_("Each mark needs a known zone and kind.")]})
        note = str(mark.get("note", ""))[:80]
        clean.append({"zone": mark["zone"], "kind": mark["kind"], "note": note})
    return clean


@transaction.atomic
def inspection_record(
    *,
    order: RepairOrder,
    by: Actor,
    mileage_in: Any,
    fuel_level: Any,
    damage_marks: Any = (),
    valuables_reminded: bool = False,
    customer_words: str = "",
    checklist: dict[str, Any] | None = None,
) -> RepairOrder:
    """The walk-around inspection; the first save marks it done (the 30-minute clock of SPEC §3.2).  `checklist`:
    the reception SOP's items ticked ({key: bool}), recorded with the SOP version."""
    _authorise(order, "inspect", by)
    refuse_control_characters(customer_words=customer_words)
    errors: dict[str, list[str]] = {}
    if order.status != S.RECEPTION:
        raise ApplicationError(_("The inspection is recorded at reception, before work starts."))
    try:
        mileage = int(str(mileage_in))
        if not 0 <= mileage <= 3_000_000:
            raise ValueError
    except (TypeError, ValueError):
        errors["mileage_in"] = [_("Enter the odometer reading in whole kilometres.")]
        mileage = None
    try:
        fuel = int(str(fuel_level))
        if not 0 <= fuel <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors["fuel_level"] = [_("Enter the fuel or battery level as a percentage from 0 to 100.")]
        fuel = None
    try:
        marks = _clean_damage(list(damage_marks or []))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        marks = []
    if len(customer_words) > 2000:
        errors["customer_words"] = [_("At most 2000 characters.")]
    if mileage is not None and mileage < order.vehicle.mileage_km:
        errors["mileage_in"] = [
            _("The odometer cannot go back: the last reading was {km} km.").format(km=order.vehicle.mileage_km)
        ]
    reception_fields: list[str] = []
    if checklist is not None:
        try:
            order.reception_checklist, order.reception_procedure_version = sop_ticks(
                order, ProcedureStep.RECEPTION, checklist
            )
            reception_fields = ["reception_checklist", "reception_procedure_version"]
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    order.mileage_in, order.fuel_level, order.damage_marks = mileage, fuel, marks
    order.valuables_reminded = bool(valuables_reminded)
    if customer_words:
        order.customer_words = customer_words.strip()
    order.inspection_done_at = order.inspection_done_at or clock.now()
    # Whoever walks round the car with the customer has taken them: a reception nobody started starts now (late
    # rather than never, so a forgotten button counts against the walk-in clock instead of hiding the order).
    received = max(clock.now(), order.arrived_at)
    if RepairOrder.objects.filter(pk=order.pk, reception_started_at__isnull=True).update(reception_started_at=received):
        order.reception_started_at = received
    order.save(
        update_fields=[
            "mileage_in",
            "fuel_level",
            "damage_marks",
            "valuables_reminded",
            "customer_words",
            "inspection_done_at",
            "updated_at",
            *reception_fields,
        ]
    )
    if mileage != order.vehicle.mileage_km:
        customer_services.vehicle_update(vehicle=order.vehicle, by=actor_user(by), mileage_km=mileage)
    audit_record(
        actor=actor_user(by),
        action="repair_order.inspection",
        obj=order,
        changes={"mileage_in": mileage, "fuel_level": fuel, "marks": len(marks)},
    )
    return order


def bay_equipment_gaps(bay: Bay | None, lines: Any) -> list[str]:
    """What the bay is not equipped for: one sentence per line (not declined) whose needed equipment the bay
    lacks, e.g. a brake job (general repair) in a bodywork bay.  A warning, not a refusal: the foreman knows his
    bays (the service type's hard needs, such as high voltage, are refused in `repair_order_assign`)."""
    if bay is None:
        return []
    labels = dict(BayCapability.choices)
    return [
        _("{bay} is not equipped for “{line}” ({needs}).").format(
            bay=bay.code, line=line.description, needs=labels.get(line.capability, line.capability)
        )
        for line in lines
        if line.capability and line.decision != LineDecision.DECLINED and line.capability not in bay.capabilities
    ]


def dispatch_warnings(order: RepairOrder) -> list[str]:
    """The equipment warnings of the order's bay as it is now (one query)."""
    if order.bay_id is None:
        return []
    lines = EstimateLine.objects.filter(estimate__order=order).exclude(capability="").order_by("id")
    return bay_equipment_gaps(order.bay, lines)


def required_grade(order: RepairOrder) -> str:
    """The highest minimum grade among the order's labour lines that are or may become work."""
    grades = (
        EstimateLine.objects.filter(estimate__order=order, kind=LineKind.LABOUR)
        .exclude(decision=LineDecision.DECLINED)
        .values_list("min_grade", flat=True)
    )
    return max(grades, key=lambda g: GRADE_RANK.get(g, 0), default="")


def needs_high_voltage(order: RepairOrder) -> bool:
    """Whether a line that is or may become work touches the high-voltage system (the HV certificate is needed)."""
    return (
        EstimateLine.objects.filter(estimate__order=order, high_voltage=True)
        .exclude(decision=LineDecision.DECLINED)
        .exists()
    )


def technician_refusal(order: RepairOrder, technician: User, day: dt.date | None = None) -> str:
    """Why the job may not go to `technician` on `day` (today): the grade the lines need against their grade by
    the history (staff), then a high-voltage line against a valid low-voltage electrician certificate; "" if it may."""
    day = day or clock.today()
    name = getattr(getattr(technician, "staff_profile", None), "display_name", "") or technician.get_username()
    grade = staff_selectors.grade_on(technician, day)  # the grade history (staff), not the snapshot
    needed = required_grade(order)
    if GRADE_RANK.get(grade, 0) < GRADE_RANK.get(needed, 0):
        return _("This job needs a {needed} technician; {name} is {grade}.").format(
            needed=TechnicianGrade(needed).label,
            name=name,
            grade=TechnicianGrade(grade).label if grade else _("not graded"),
        )
    if needs_high_voltage(order) and not staff_selectors.has_valid_hv_certificate(technician, day):
        return _(
            "This job touches the high-voltage system; {name} holds no valid low-voltage electrician certificate today."
        ).format(name=name)
    return ""


def eligible_technician_ids(order: RepairOrder, user_ids: list[int], day: dt.date | None = None) -> set[int]:
    """Of `user_ids`, those `technician_refusal` would let the job go to (four queries for any number)."""
    day = day or clock.today()
    needed = GRADE_RANK.get(required_grade(order), 0)
    grades = staff_selectors.grades_on(user_ids, day)
    allowed = {pk for pk in user_ids if GRADE_RANK.get(grades.get(pk, ""), 0) >= needed}
    if allowed and needs_high_voltage(order):
        allowed &= staff_selectors.hv_certified(allowed, day)
    return allowed


@transaction.atomic
def repair_order_assign(
    *, order: RepairOrder, by: Actor, technician: User | None = None, bay: Bay | None = None
) -> RepairOrder:
    """Dispatch (派工): a technician of the store whose grade the job allows (refused, naming `technician`,
    when a line needs a higher grade by the grade history, or a high-voltage line and the technician holds no
    valid HV electrician certificate today), and a bay that can take it (refused for the service type's hard needs,
    warned for a line's equipment: the returned order carries `dispatch_warnings`)."""
    errors: dict[str, list[str]] = {}
    _authorise(order, "assign", by)
    if order.status in (S.DELIVERED, S.CANCELLED):
        raise ApplicationError(_("This order is closed."))
    if technician is not None:
        if not Membership.objects.filter(
            user=technician, store=order.store, role__in=[Role.TECHNICIAN, Role.FOREMAN]
        ).exists():
            errors["technician"] = [_("This person is not a technician of the store.")]
        else:
            refusal = technician_refusal(order, technician)
            if refusal:
                errors["technician"] = [refusal]
    if bay is not None:
        if bay.store_id != order.store_id or not bay.is_active:
            errors["bay"] = [_("No active bay with this id in the store.")]
        else:
            needs = BAY_NEEDS.get(order.service_type)
            if needs and not needs & set(bay.capabilities):
                errors["bay"] = [
                    _("A {service} needs a bay equipped for it.").format(service=ServiceType(order.service_type).label)
                ]
            elif (
                RepairOrder.objects.filter(bay=bay, status__in=[S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS])
                .exclude(pk=order.pk)
                .exists()
            ):
                errors["bay"] = [_("This bay is taken by another car.")]
    if errors:
        raise ValidationError(errors)
    fields = ["updated_at"]
    if technician is not None:
        order.technician = technician
        fields.append("technician")
    if bay is not None:
        order.bay = bay
        order.bay_assigned_at = order.bay_assigned_at or clock.now()
        fields += ["bay", "bay_assigned_at"]
    order.save(update_fields=fields)
    warnings = dispatch_warnings(order) if bay is not None else []
    audit_record(
        actor=actor_user(by),
        action="repair_order.assign",
        obj=order,
        changes={"technician": getattr(technician, "pk", None), "bay": getattr(bay, "pk", None), "warnings": warnings},
    )
    order.dispatch_warnings = warnings  # type: ignore[attr-defined]
    return order


def approved_lines(order: RepairOrder):  # noqa: ANN201 - QuerySet[EstimateLine]
    return EstimateLine.objects.filter(estimate__order=order, decision=LineDecision.APPROVED)


def _guard(order: RepairOrder, target: str, reason: str) -> None:
    """Business rules a move must satisfy beyond the transition table."""
    if target == S.WAITING and not approved_lines(order).exists():
        raise ApplicationError(_("Work cannot start before the customer has approved at least one line."))
    if target == S.WAITING and order.inspection_done_at is None:
        raise ApplicationError(_("Complete the initial inspection first."))
    if target == S.IN_BAY:
        if order.bay_id is None:
            raise ApplicationError(_("Assign a bay first."))
        if (
            RepairOrder.objects.filter(bay_id=order.bay_id, status__in=[S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS])
            .exclude(pk=order.pk)
            .exists()
        ):
            raise ApplicationError(_("Another car is in this bay."))
    if target == S.IN_PROGRESS:
        if order.technician_id is None:
            raise ApplicationError(_("Assign a technician first."))
        if not approved_lines(order).exists():
            raise ApplicationError(_("Work cannot start on lines the customer has not approved."))
    if order.status == S.QC and target == S.IN_PROGRESS:
        raise ApplicationError(_("Record the failed quality check instead: it sends the car back and counts it."))
    if target in (S.WAITING_PARTS, S.CANCELLED) and not reason.strip():
        raise ValidationError({"reason": [_("Say why.")]})
    if target in (S.WASHING, S.READY) and order.status == S.QC:
        last = order.quality_checks.order_by("-at", "-id").first()
        if last is None or not last.passed:
            raise ApplicationError(_("Record a passed quality check first."))
    if target == S.DELIVERED:
        raise ApplicationError(_("Use the delivery form: it records the explanation and the next maintenance."))


@transaction.atomic
def repair_order_transition(*, order: RepairOrder, to: str, by: Actor, reason: str = "") -> RepairOrder:
    """The only way a repair order's status changes: table check, guards, compare-and-set, event, side effects."""
    refuse_control_characters(reason=reason)
    old = order.status
    if to not in S.values:
        raise ValidationError({"to": [_("Unknown state.")]})
    move = REPAIR_ORDER.find(old, to)
    if move is not None:
        _authorise(order, move.name, by)
    elif not _may_ever_move_to(order, to, by):  # outside the table: a role that never makes such a move is refused
        raise PermissionDenied(_("Your role may not do this."))
    if not transitions.allowed(old, to):
        raise ApplicationError(
            _("A repair order cannot go from “{old}” to “{new}”.").format(old=S(old).label, new=S(to).label),
            {"code": "invalid_transition"},
        )
    if move is None:  # made through its own form (quality check, delivery): the guard names it
        _guard(order, to, reason)
        raise ApplicationError(_("Use the quality check form."), {"code": "invalid_transition"})
    _guard(order, to, reason)
    return _move(order, old, to, by, reason)


def _may_ever_move_to(order: RepairOrder, to: str, by: Actor) -> bool:
    """Whether `by` may make some move of the order into state `to`, from whichever state (for a requested pair
    that the table does not have: the answer is then 409 only to those who could move there at all)."""
    return any(
        REPAIR_ORDER.may(m, actor=by, store_id=order.store_id, assignee_id=order.technician_id)
        for m in REPAIR_ORDER.moves
        if m.target == to
    )


def _authorise(order: RepairOrder, move: str, by: Actor) -> None:
    """The rulebook's check, made before any other: may `by` make this move of the order (own job counts for the
    technician)?  The state is checked after, with the move's own message."""
    REPAIR_ORDER.authorise(REPAIR_ORDER.get(move), actor=by, store_id=order.store_id, assignee_id=order.technician_id)


def _move(order: RepairOrder, old: str, to: str, by: Actor, reason: str = "") -> RepairOrder:
    now = clock.now()
    changes: dict[str, Any] = {"status": to}
    if to == S.IN_PROGRESS and order.work_started_at is None:
        changes["work_started_at"] = now
    if to == S.WAITING_PARTS:
        changes["waiting_parts_reason"] = reason.strip()[:200]
    if to == S.READY:
        changes["ready_at"] = now
    if to == S.DELIVERED:
        changes["delivered_at"] = now
    if not RepairOrder.objects.filter(pk=order.pk, status=old).update(**changes, updated_at=now):
        raise ApplicationError(
            _("Someone else changed this order meanwhile; reload and try again."), {"code": "conflict"}
        )
    if old == S.IN_PROGRESS and to != S.IN_PROGRESS:
        facts_services.clocks_pause_for_order(order, now)  # nobody works on a car waiting for parts or in QC
    for key, value in changes.items():
        setattr(order, key, value)
    _record_event(order, old, to, by, reason, at=now)
    audit_record(
        actor=actor_user(by),
        action="repair_order.transition",
        obj=order,
        changes={"status": [old, to], "reason": reason},
    )
    if to == S.READY:
        from aftersales.service.services.notifications import order_message

        order_message(order=order, template="vehicle_ready")
    if to == S.CANCELLED and order.appointment_id:
        Appointment.objects.filter(pk=order.appointment_id).update(status=AppointmentStatus.CANCELLED)
    return order


QC_NOT_BY_WORKER = gettext_lazy(
    "You did the work on this car, so you cannot pass its quality check: ask another foreman or technician. "
    "(You may still record a failure.)"
)


def qc_by_worker_refused(order: RepairOrder, by: Actor) -> bool:
    """Whether `by` did the work on the order (its technician) while the store wants four eyes on the check
    (setting `qc_not_by_worker`, on by default)."""
    user = actor_user(by)
    if user is None or order.technician_id is None or user.pk != order.technician_id:
        return False
    return bool(int(setting_values_for_store(order.store)["qc_not_by_worker"]))


@transaction.atomic
def quality_check_record(
    *,
    order: RepairOrder,
    by: Actor,
    passed: bool,
    checklist: dict[str, Any],
    notes: str = "",
    skip_washing: bool = False,
) -> QualityCheck:
    """The foreman's check.  A failure sends the job back to work and is counted; a pass moves it on."""
    _authorise(order, ("qc_pass_no_wash" if skip_washing else "qc_pass") if passed else "qc_fail", by)
    refuse_control_characters(notes=notes)
    if order.status != S.QC:
        raise ApplicationError(_("The car is not waiting for a quality check."))
    # The items come from the QC SOP in force in the store (standards); the built-in default has QC_CHECKLIST's keys.
    ticked, version = sop_ticks(order, ProcedureStep.QC, checklist)
    if passed and not all(ticked.values()):
        raise ValidationError({"checklist": [_("A pass needs every item ticked.")]})
    if passed and qc_by_worker_refused(order, by):
        raise ValidationError({"passed": [str(QC_NOT_BY_WORKER)]})
    if not passed and not notes.strip():
        raise ValidationError({"notes": [_("Say what failed, so the technician knows what to redo.")]})
    check = QualityCheck.objects.create(
        order=order,
        passed=passed,
        checklist=ticked,
        procedure_version=version,
        notes=notes.strip()[:300],
        by=actor_user(by),
        at=clock.now(),
    )
    if passed:
        _move(order, S.QC, S.READY if skip_washing else S.WASHING, by, _("quality check passed"))
    else:
        RepairOrder.objects.filter(pk=order.pk).update(qc_failures=F("qc_failures") + 1)
        order.refresh_from_db(fields=["qc_failures"])
        _move(order, S.QC, S.IN_PROGRESS, by, _("quality check failed: {notes}").format(notes=notes.strip()))
    return check


def bill_total(order: RepairOrder) -> Decimal:
    """The bill: exactly the approved lines, nothing else."""
    return approved_lines(order).aggregate(t=Sum("amount"))["t"] or Decimal("0.00")


@transaction.atomic
def repair_order_deliver(
    *,
    order: RepairOrder,
    by: Actor,
    explanation: str,
    next_service_date: dt.date | None,
    next_service_km: int | None,
    rating: int | None = None,
    confirm_pending_batches: bool = False,
    checklist: dict[str, Any] | None = None,
) -> RepairOrder:
    """Hand the car back: the explanation, the next maintenance, the bill (= approved lines) and the rating.
    A fitted part whose batch is not recorded yet needs `confirm_pending_batches`; the order then keeps the flag
    `delivered_with_pending_batches`.  `checklist`: the delivery SOP's items ticked ({key: bool}), recorded with
    the SOP version."""
    _authorise(order, "deliver", by)
    refuse_control_characters(explanation=explanation)
    errors: dict[str, list[str]] = {}
    if order.status != S.READY:
        raise ApplicationError(_("Only a car that is ready can be delivered."))
    if not explanation.strip():
        errors["explanation"] = [_("Note what was explained to the customer.")]
    if next_service_date is not None and next_service_date <= clock.today():
        errors["next_service_date"] = [_("The next maintenance must be in the future.")]
    if next_service_km is not None and not (order.mileage_in or 0) < next_service_km <= 3_000_000:
        errors["next_service_km"] = [_("The next maintenance mileage must be above today's reading.")]
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10):
        errors["rating"] = [_("A rating is a whole number from 0 to 10.")]
    pending = EstimateLine.objects.filter(
        estimate__order=order, estimate__status=EstimateStatus.SENT, decision=LineDecision.PENDING
    ).exists()
    if pending:
        errors["estimate"] = [_("Some sent lines still wait for the customer's decision.")]
    batches = batch_pending_lines(order)
    if batches and not confirm_pending_batches:
        errors["confirm_pending_batches"] = [
            _("The batch of these parts is not recorded yet: {lines}. Confirm to deliver anyway.").format(
                lines="; ".join(line.description for line in batches)
            )
        ]
    delivery_fields: list[str] = []
    if checklist is not None:
        try:
            order.delivery_checklist, order.delivery_procedure_version = sop_ticks(
                order, ProcedureStep.DELIVERY, checklist
            )
            delivery_fields = ["delivery_checklist", "delivery_procedure_version"]
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    order.delivered_with_pending_batches = bool(batches)
    order.delivery_explanation = explanation.strip()
    order.next_service_date = next_service_date
    order.next_service_km = next_service_km
    order.rating = rating
    order.billed_total = bill_total(order)
    order.save(
        update_fields=[
            "delivery_explanation",
            "next_service_date",
            "next_service_km",
            "rating",
            "billed_total",
            "delivered_with_pending_batches",
            "updated_at",
            *delivery_fields,
        ]
    )
    return _move(order, S.READY, S.DELIVERED, by, "")


def batch_pending_lines(order: RepairOrder) -> list[EstimateLine]:
    """Approved (fitted) parts whose batch record is still missing."""
    return list(approved_lines(order).filter(kind=LineKind.PART, batch_number="").order_by("id"))


@transaction.atomic
def repair_order_rate(*, order: RepairOrder, rating: Any) -> RepairOrder:
    """The customer's own rating of the visit (0–10) from the link, once."""
    if order.status != S.DELIVERED:
        raise ApplicationError(_("You can rate the visit once the car is delivered."))
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
        raise ValidationError({"rating": [_("A rating is a whole number from 0 to 10.")]})
    if not RepairOrder.objects.filter(pk=order.pk, rating__isnull=True).update(rating=rating):
        raise ApplicationError(_("This visit has already been rated. Thank you!"))
    order.rating = rating
    return order


@transaction.atomic
def repair_order_delivery_score(*, order: RepairOrder, rating: Any) -> RepairOrder:
    """The one delivery score: `rating` is the fact, whichever way it is recorded (the delivery form, the
    customer's link, the delivery survey).  Sets it when the order has none; the same value again is accepted;
    a different one is a ValidationError naming `rating` (no double truth)."""
    if order.status != S.DELIVERED:
        raise ApplicationError(_("You can rate the visit once the car is delivered."))
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
        raise ValidationError({"rating": [_("A rating is a whole number from 0 to 10.")]})
    current = RepairOrder.objects.select_for_update().filter(pk=order.pk).values_list("rating", flat=True).first()
    if current is None:
        RepairOrder.objects.filter(pk=order.pk, rating__isnull=True).update(rating=rating)
    elif current != rating:
        raise ValidationError(
            {"rating": [_("The delivery score of this visit is already {rating}.").format(rating=current)]}
        )
    order.rating = rating
    return order


def work_minutes(order: RepairOrder, events: list[RepairOrderEvent], now: dt.datetime) -> float:
    """Minutes spent in the work states, from the order's events (a job can stop and start again)."""
    total = 0.0
    started: dt.datetime | None = None
    for event in events:
        if event.to_status in transitions.WORK_CLOCK_STATES and started is None:
            started = event.at
        elif event.to_status not in transitions.WORK_CLOCK_STATES and started is not None:
            total += (event.at - started).total_seconds() / 60
            started = None
    if started is not None:
        total += (now - started).total_seconds() / 60
    return total


def standard_minutes(order: RepairOrder) -> float:
    hours = approved_lines(order).filter(kind=LineKind.LABOUR).aggregate(h=Sum("standard_hours"))["h"]
    return float(hours or 0) * 60


def _standard_minutes_by_order(order_ids: list[int]) -> dict[int, float]:
    """Standard minutes of the approved labour of each order, in one query."""
    rows = (
        EstimateLine.objects.filter(
            estimate__order_id__in=order_ids, decision=LineDecision.APPROVED, kind=LineKind.LABOUR
        )
        .values("estimate__order_id")
        .annotate(hours=Sum("standard_hours"))
    )
    return {row["estimate__order_id"]: float(row["hours"] or 0) * 60 for row in rows}


def efficiency_sweep(*, store: Store | None = None) -> int:
    """Warn the foreman once per order when work exceeds standard time by more than the setting (10 %).
    Idempotent: an order already warned is never warned again.  Reads take a fixed number of queries (orders
    with their events, standard hours) plus one settings read per store; only a warning writes."""
    from aftersales.service.services.notifications import staff_alert

    now = clock.now()
    orders = RepairOrder.objects.filter(status=S.IN_PROGRESS, efficiency_warned_at__isnull=True)
    if store is not None:
        orders = orders.filter(store=store)
    candidates = list(orders.select_related("store").prefetch_related("events"))
    standard_by_order = _standard_minutes_by_order([order.pk for order in candidates])
    percent_by_store: dict[int, float] = {}
    warned = 0
    for order in candidates:
        standard = standard_by_order.get(order.pk, 0.0)
        if not standard:
            continue
        if order.store_id not in percent_by_store:
            values = setting_values_for_store(order.store)
            percent_by_store[order.store_id] = float(values["efficiency_warning_percent"])
        limit = standard * (1 + percent_by_store[order.store_id] / 100)
        spent = work_minutes(order, list(order.events.all()), now)
        if spent <= limit:
            continue
        if RepairOrder.objects.filter(pk=order.pk, efficiency_warned_at__isnull=True).update(efficiency_warned_at=now):
            warned += 1
            staff_alert(
                store=order.store,
                roles=[Role.FOREMAN],
                related=order,
                dedupe_key=f"efficiency:{order.pk}",
                template="efficiency_warning",
                context={"number": order.number, "spent": round(spent), "standard": round(standard)},
            )
    return warned


def clock_state(order: RepairOrder, now: dt.datetime, values: dict[str, Any]) -> dict[str, Any]:
    """The reception clocks of one order: minutes since arrival against the walk-in (an advisor takes the customer;
    a bay), and inspection targets.  `awaiting_reception`: registered, no advisor has taken the customer yet."""
    minutes = (now - order.arrived_at).total_seconds() / 60
    inspection_target = int(values["inspection_shown_minutes"])
    bay_target = int(values["walk_in_to_bay_minutes"])
    reception_target = int(values["walk_in_received_minutes"])
    awaiting = order.status == S.RECEPTION and order.reception_started_at is None
    return {
        "minutes": int(minutes),
        "awaiting_reception": awaiting,
        "reception_overdue": awaiting and order.walk_in and minutes > reception_target,
        "reception_target": reception_target,
        "inspection_overdue": order.inspection_done_at is None and minutes > inspection_target,
        "bay_overdue": order.walk_in and order.bay_assigned_at is None and minutes > bay_target,
        "inspection_target": inspection_target,
        "bay_target": bay_target,
    }


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
    return start, start + dt.timedelta(days=1)


@transaction.atomic
def part_trace_record(
    *,
    line: EstimateLine,
    by: Actor,
    batch_number: str,
    origin: str = "",
    production_date: dt.date | None = None,
    warranty_months: Any = None,
) -> EstimateLine:
    """Batch, origin, production date and warranty of the part fitted, shown to the customer."""
    errors: dict[str, list[str]] = {}
    line = EstimateLine.objects.select_related("estimate__order").get(pk=line.pk)  # the decision as it is now
    _authorise(line.estimate.order, "part_trace", by)
    refuse_control_characters(batch_number=batch_number, origin=origin)
    if line.kind != LineKind.PART:
        raise ApplicationError(_("Only part lines carry a batch."))
    if line.decision != LineDecision.APPROVED:
        raise ApplicationError(_("Only an approved part is fitted."))
    if line.part_issues.exists():
        # The ledger's batches are the record: a typed batch would hide which one went into the car.
        raise ApplicationError(_("This part came from the parts ledger: its batch is recorded by the issue."))
    batch_number = str(batch_number or "").strip()
    if not batch_number or len(batch_number) > 40:
        errors["batch_number"] = [_("Enter the batch number printed on the part (at most 40 characters).")]
    if production_date is not None and production_date > clock.today():
        errors["production_date"] = [_("The production date cannot be in the future.")]
    months = None
    if warranty_months not in (None, ""):
        try:
            months = int(str(warranty_months))
            if not 0 <= months <= 240:
                raise ValueError
        except ValueError:
            errors["warranty_months"] = [_("Enter the warranty in whole months (0 to 240).")]
    if errors:
        raise ValidationError(errors)
    line.batch_number, line.origin = batch_number, str(origin or "").strip()[:60]
    line.production_date, line.warranty_months = production_date, months
    line.save(update_fields=["batch_number", "origin", "production_date", "warranty_months", "updated_at"])
    audit_record(
        actor=actor_user(by),
        action="estimate.part_trace",
        obj=line.estimate.order,
        changes={"line": line.pk, "batch": batch_number},
    )
    return line
