"""Writes of the rescue app: taking a request and matching it to the nearest store with a free crew, the manual
match, dispatch, arrival, completion, cancellation, the stores' rescue bases, and the periodic sweep (retry the
waiting requests, raise the overdue alert, coarsen old locations).

Matching (SPEC §9): the road distance from each active base of the group is estimated as the great-circle
(haversine) distance × `rescue_detour_factor`; only bases whose busy requests (matched, dispatched, on site) are
fewer than their crews take the request; the nearest wins, then the least loaded.  The bases of the group are
locked (`select_for_update`) while a request is matched, so two requests cannot both take a store's last crew.
An expressway request is never dispatched: it is handed to 12122 (the expressway rescue line) at once.  When no
store has a free crew the request waits (the responsible store is then the nearest base), the group's managers and
the responsible store's rescue handlers are told, and the sweep tries again every minute."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import clean_text
from aftersales.customers.choices import ConsentChannel, ConsentPurpose
from aftersales.customers.models import Consent, Customer, Vehicle
from aftersales.customers.validators import normalize_plate, normalize_vin
from aftersales.messaging.choices import Purpose
from aftersales.messaging.services import message_enqueue
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import GROUP_ROLES, Role
from aftersales.organisation.models import DealerGroup, Membership, Store
from aftersales.organisation.permissions import Capability, store_ids_with_capability, user_can
from aftersales.organisation.rules import Actor, Party, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.rescue.choices import BUSY, RescueSource, RescueStatus, RoadType
from aftersales.rescue.models import RescueBase, RescueRequest
from aftersales.rescue.transitions import RESCUE

logger = logging.getLogger("aftersales.rescue")

EARTH_RADIUS_KM = 6371.0088
COARSE = Decimal("0.01")  # about 1 km: enough for statistics, not a person's whereabouts


def expressway_message() -> str:
    return _(
        "On an expressway, rescue is run by the expressway operator: call 12122 now. Stay behind the guardrail "
        "and put the warning triangle 150 m behind the car. We have recorded your request and will follow up."
    )


# ---------------------------------------------------------------------------------------------------------------
# Distances and candidates


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points (degrees) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    base: RescueBase
    distance_km: float  # estimated road distance (great circle × detour factor)
    load: int  # the store's busy requests
    free: bool


def _loads(store_ids: list[int], *, exclude_id: int | None = None) -> dict[int, int]:
    rows = RescueRequest.objects.filter(store_id__in=store_ids, status__in=BUSY)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return dict(rows.order_by().values("store_id").annotate(n=Count("id")).values_list("store_id", "n"))


def rescue_candidates(
    *, group: DealerGroup, lat: Decimal, lon: Decimal, lock: bool = False, exclude_id: int | None = None
) -> list[Candidate]:
    """Every active base of the group with a crew, nearest first then least loaded (free or not).  With `lock`
    (inside a transaction) the bases are locked until it ends, which serialises the matching of the group."""
    bases_qs = RescueBase.objects.filter(store__group=group, store__is_active=True, is_active=True, crews__gt=0)
    if lock:
        # Lock in a fixed order (no joins in the locking query: PostgreSQL would lock the joined rows too).
        ids = list(bases_qs.order_by("pk").values_list("pk", flat=True))
        bases_qs = RescueBase.objects.filter(pk__in=ids).order_by("pk").select_for_update()
        list(bases_qs)
        bases_qs = RescueBase.objects.filter(pk__in=ids)
    bases = list(bases_qs.select_related("store"))
    if not bases:
        return []
    factor = float(setting_values_for_store(bases[0].store)["rescue_detour_factor"])
    loads = _loads([b.store_id for b in bases], exclude_id=exclude_id)
    result = []
    for base in bases:
        km = haversine_km(float(lat), float(lon), float(base.latitude), float(base.longitude)) * factor
        load = loads.get(base.store_id, 0)
        result.append(Candidate(base=base, distance_km=km, load=load, free=load < base.crews))
    result.sort(key=lambda c: (round(c.distance_km, 1), c.load, c.base.store.code))
    return result


# ---------------------------------------------------------------------------------------------------------------
# Validation helpers


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: Any) -> None:
        self.by_field.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _coordinate(value: Any, *, field: str, limit: int, errors: _Errors) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.add(field, _("Enter a number."))
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(field, _("Enter a number."))
        return None
    if not number.is_finite() or not (-limit <= number <= limit):
        errors.add(field, _("Enter a value from {low} to {high}.").format(low=-limit, high=limit))
        return None
    return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _text(value: Any, *, field: str, max_length: int, errors: _Errors, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, _("Enter text."))
        return ""
    try:
        text = clean_text(value, multiline=False)
    except ValidationError as exc:
        errors.add(field, exc.messages[0])
        return ""
    if required and not text:
        errors.add(field, _("This field is required."))
    elif len(text) > max_length:
        errors.add(field, _("At most {n} characters.").format(n=max_length))
    return text


def _group_for(
    *, by: Actor, vehicle: Vehicle | None, customer: Customer | None, group: DealerGroup | None
) -> DealerGroup | None:
    if vehicle is not None:
        return vehicle.group
    if customer is not None:
        return customer.group
    if group is not None:
        return group
    if not isinstance(by, Party):
        stores = store_ids_with_capability(by, Capability.HANDLE_RESCUE)
        groups = set(Store.objects.filter(pk__in=stores).values_list("group_id", flat=True))
        if len(groups) == 1:
            return DealerGroup.objects.get(pk=groups.pop())
    return None


def _staff_store_in_group(user: Any, group: DealerGroup) -> int | None:
    ids = store_ids_with_capability(user, Capability.HANDLE_RESCUE)
    return Store.objects.filter(pk__in=ids, group=group).order_by("code").values_list("pk", flat=True).first()


def _fallback_store(*, group: DealerGroup, vehicle: Vehicle | None, by: Actor) -> Store:
    """The responsible store of a request no base can take: the vehicle's store, the member of staff's, or the
    group's first store."""
    if vehicle is not None and vehicle.store.group_id == group.pk:
        return vehicle.store
    if not isinstance(by, Party):
        pk = _staff_store_in_group(by, group)
        if pk is not None:
            return Store.objects.get(pk=pk)
    store = Store.objects.filter(group=group, is_active=True).order_by("code").first()
    if store is None:
        raise ApplicationError(_("This dealer group has no store."))
    return store


def _response_minutes(store: Store, road_type: str) -> int | None:
    values = setting_values_for_store(store)
    if road_type == RoadType.CITY:
        return int(values["rescue_response_city_minutes"])
    if road_type == RoadType.COUNTY:
        return int(values["rescue_response_county_minutes"])
    return None


# ---------------------------------------------------------------------------------------------------------------
# Alerts


def _managers(request: RescueRequest) -> list[Any]:
    """The group's managers (group roles) and the responsible store's managers."""
    from django.contrib.auth import get_user_model

    user_ids = Membership.objects.filter(
        Q(group_id=request.group_id, store__isnull=True, role__in=GROUP_ROLES)
        | Q(store_id=request.store_id, role=Role.MANAGER)
    ).values_list("user_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("pk"))


def _alert_unmatched(request: RescueRequest, *, overdue: bool) -> None:
    template = "rescue_overdue" if overdue else "rescue_unmatched"
    staff_notify(
        store=request.store,
        users=_managers(request),
        template=template,
        context={
            "number": str(request),
            "road": RoadType(request.road_type).label,
            "fault": request.fault[:80],
            "minutes": _minutes_between(request.created_at, clock.now()),
        },
        dedupe_key=f"rescue:{template}:{request.pk}",
        related=request,
        url=reverse("rescue:detail", args=[request.pk]),
    )


def _tell_customer_matched(request: RescueRequest) -> None:
    """The customer (when known) gets the store, the time to expect the crew and their status link; once."""
    if request.customer_id is None or request.customer is None or request.respond_by is None:
        return
    from django.conf import settings

    from aftersales.rescue.selectors import request_link_token

    path = reverse("rescue:customer-request", args=[request_link_token(request)])
    message_enqueue(
        store=request.store,
        template="rescue_matched",
        context={
            "store": request.store.name,
            "eta": timezone.localtime(request.respond_by).strftime("%H:%M"),
            "link": f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}",
            "phone": request.store.phone or "",
        },
        customer=request.customer,
        purpose=Purpose.SERVICE,
        dedupe_key=f"rescue:matched:{request.pk}",
        related=request,
    )


def _minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))


# ---------------------------------------------------------------------------------------------------------------
# Intake


def _apply_match(request: RescueRequest, candidate: Candidate, *, now: dt.datetime) -> None:
    request.store = candidate.base.store
    request.status = RescueStatus.MATCHED
    request.matched_at = now
    request.distance_km = Decimal(str(round(candidate.distance_km, 1)))
    minutes = _response_minutes(candidate.base.store, request.road_type)
    request.respond_by = request.created_at + dt.timedelta(minutes=minutes) if minutes else None


def rescue_request_create(
    *,
    by: Actor,
    lat: Any,
    lon: Any,
    road_type: str,
    fault: str,
    vehicle: Vehicle | None = None,
    plate: str = "",
    vin: str = "",
    source: str = RescueSource.STAFF,
    customer: Customer | None = None,
    group: DealerGroup | None = None,
    address: str = "",
    location_consent: bool = True,
    consent_channel: str = "",
) -> RescueRequest:
    """Take a rescue request and match it at once (see the module's doc).  `by` is a member of staff with
    HANDLE_RESCUE in a store of the group, `Party.CUSTOMER` (the phone page: `group` or the vehicle says which
    group) or `Party.SYSTEM` (a connected-car alarm: the vehicle is required and its owner must have agreed to the
    use of vehicle data).  Coordinates need the customer's consent to the use of their location for this rescue
    (`location_consent`); without coordinates a described location (`address`) is required and the request waits
    for staff to match it.  Bad input raises ValidationError keyed by field, and nothing is written."""
    errors = _Errors()
    if source not in RescueSource.values:
        errors.add("source", _("Choose one of: {options}.").format(options=", ".join(RescueSource.values)))
    if road_type not in RoadType.values:
        errors.add("road_type", _("Choose one of: {options}.").format(options=", ".join(RoadType.values)))
    fault_text = _text(fault, field="fault", max_length=500, errors=errors, required=True)
    address_text = _text(address, field="address", max_length=200, errors=errors)
    latitude = _coordinate(lat, field="lat", limit=90, errors=errors)
    longitude = _coordinate(lon, field="lon", limit=180, errors=errors)
    if (latitude is None) != (longitude is None) and "lat" not in errors.by_field and "lon" not in errors.by_field:
        errors.add("lon" if longitude is None else "lat", _("Give both the latitude and the longitude."))
    has_point = latitude is not None and longitude is not None
    if not has_point and not address_text and not {"lat", "lon", "address"} & set(errors.by_field):
        errors.add("lat", _("Give the location: coordinates or a described place."))
    if has_point and not location_consent:
        errors.add("location_consent", _("The location can only be used with the customer's consent."))
    clean_plate = ""
    if plate:
        try:
            clean_plate = normalize_plate(plate)
        except ValidationError as exc:
            errors.add("plate", exc.messages[0])
    clean_vin = ""
    if vin:
        try:
            clean_vin = normalize_vin(vin)
        except ValidationError as exc:
            errors.add("vin", exc.messages[0])
    the_group = _group_for(by=by, vehicle=vehicle, customer=customer, group=group)
    if the_group is None:
        if isinstance(by, Party):
            errors.add("vehicle", _("Name the vehicle or the dealer group."))
        else:
            raise PermissionDenied(_("Your role may not do this."))
    errors.raise_if_any()
    assert the_group is not None

    # Who may: staff need HANDLE_RESCUE in a store of the group; the parties are the table's.  An expressway
    # request is taken and handed to 12122 at once: both moves are the caller's.
    acting_store_id = 0
    if not isinstance(by, Party):
        acting_store_id = _staff_store_in_group(by, the_group) or 0
        if not acting_store_id:
            raise PermissionDenied(_("Your role may not do this."))
    RESCUE.authorise(RESCUE.get("request"), actor=by, store_id=acting_store_id)
    if road_type == RoadType.EXPRESSWAY:
        RESCUE.authorise(RESCUE.get("hand_to_12122"), actor=by, store_id=acting_store_id)

    # The vehicle: given, or found in the group by VIN or plate.
    if vehicle is None and (clean_vin or clean_plate):
        found = Vehicle.objects.filter(group=the_group)
        vehicle = (found.filter(vin=clean_vin).first() if clean_vin else None) or (
            found.filter(plate=clean_plate).first() if clean_plate else None
        )
    if vehicle is not None:
        if vehicle.group_id != the_group.pk:
            errors.add("vehicle", _("This vehicle belongs to another dealer group."))
        if customer is not None and vehicle.customer_id != customer.pk:
            errors.add("customer", _("This vehicle belongs to another customer."))
        customer = customer or vehicle.customer
        clean_plate = clean_plate or vehicle.plate
        clean_vin = clean_vin or vehicle.vin
    if customer is not None and customer.group_id != the_group.pk:
        errors.add("customer", _("This customer belongs to another dealer group."))
    if source == RescueSource.CONNECTED_CAR:
        if vehicle is None:
            errors.add("vehicle", _("A connected-car request needs the vehicle."))
        elif not Consent.objects.filter(
            customer_id=vehicle.customer_id, purpose=ConsentPurpose.VEHICLE_DATA, granted=True
        ).exists():
            errors.add("vehicle", _("The owner has not agreed to the use of vehicle location and data."))
    errors.raise_if_any()

    channel = (
        consent_channel
        or {
            RescueSource.CUSTOMER: ConsentChannel.CUSTOMER_LINK,
            RescueSource.STAFF: ConsentChannel.PHONE,
            RescueSource.CONNECTED_CAR: ConsentChannel.API,
        }[RescueSource(source)]
    )
    if channel not in ConsentChannel.values:
        errors.add("consent_channel", _("Unknown channel."))
    errors.raise_if_any()

    now = clock.now()
    with transaction.atomic():
        candidates = (
            rescue_candidates(group=the_group, lat=latitude, lon=longitude, lock=True)
            if has_point and latitude is not None and longitude is not None
            else []
        )
        nearest = candidates[0] if candidates else None
        free = next((c for c in candidates if c.free), None)
        responsible = (
            free.base.store
            if free is not None and road_type != RoadType.EXPRESSWAY
            else nearest.base.store
            if nearest is not None
            else _fallback_store(group=the_group, vehicle=vehicle, by=by)
        )
        match_minutes = int(setting_values_for_store(responsible)["rescue_match_minutes"])
        request = RescueRequest(
            group=the_group,
            store=responsible,
            source=source,
            customer=customer,
            vehicle=vehicle,
            plate=clean_plate,
            vin=clean_vin,
            latitude=latitude,
            longitude=longitude,
            address=address_text,
            location_consent_at=now if has_point or address_text else None,
            location_consent_channel=channel if has_point or address_text else "",
            road_type=road_type,
            fault=fault_text,
            match_due_at=now + dt.timedelta(minutes=match_minutes),
            created_at=now,
            created_by=actor_user(by),
        )
        if road_type == RoadType.EXPRESSWAY:
            request.status = RescueStatus.HANDED_12122
            request.handed_off_at = now
            request.reason = expressway_message()[:300]
            if nearest is not None:
                request.distance_km = Decimal(str(round(nearest.distance_km, 1)))
        elif free is not None:
            _apply_match(request, free, now=now)
        request.full_clean(exclude=["created_by", "crew_lead", "customer", "vehicle", "group", "store"])
        request.save()
        audit_record(
            actor=actor_user(by),
            action="rescue.request",
            obj=request,
            changes={
                "source": source,
                "road_type": road_type,
                "status": request.status,
                "distance_km": str(request.distance_km) if request.distance_km is not None else None,
            },
        )
        if request.status == RescueStatus.REQUESTED:
            _alert_unmatched(request, overdue=False)
        elif request.status == RescueStatus.MATCHED:
            _tell_customer_matched(request)
    return request


# ---------------------------------------------------------------------------------------------------------------
# Moves


def _locked(request: RescueRequest) -> RescueRequest:
    return RescueRequest.objects.select_for_update().get(pk=request.pk)


def rescue_match(*, request: RescueRequest, by: Actor, store: Store | None = None) -> RescueRequest:
    """Match a waiting request: to `store` when staff choose one (it needs an active base with a free crew), or
    to the nearest free base.  Raises ApplicationError (code `no_free_crew`) when there is none."""
    m = RESCUE.get("match")
    RESCUE.require(m, actor=by, state=request.status, store_id=request.store_id, assignee_id=request.crew_lead_id)
    errors = _Errors()
    if store is not None and store.group_id != request.group_id:
        errors.add("store", _("Choose a store of the request's dealer group."))
    if store is None and request.latitude is None:
        errors.add("store", _("Without coordinates, choose the store."))
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if request.latitude is not None and request.longitude is not None:
            candidates = rescue_candidates(group=request.group, lat=request.latitude, lon=request.longitude, lock=True)
        else:
            candidates = []
        locked = _locked(request)
        RESCUE.require(m, actor=by, state=locked.status, store_id=locked.store_id)
        if store is not None:
            chosen = next((c for c in candidates if c.base.store_id == store.pk), None)
            if chosen is None:
                base = (
                    RescueBase.objects.select_for_update()
                    .filter(store=store, is_active=True, crews__gt=0)
                    .select_related("store")
                    .first()
                )
                if base is None:
                    raise ValidationError({"store": [_("This store takes no rescue requests.")]})
                load = _loads([store.pk]).get(store.pk, 0)
                chosen = Candidate(base=base, distance_km=0.0, load=load, free=load < base.crews)
                distance = None
            else:
                distance = chosen.distance_km
            if not chosen.free:
                raise ApplicationError(_("This store has no free rescue crew."), {"code": "no_free_crew"})
        else:
            chosen = next((c for c in candidates if c.free), None)
            if chosen is None:
                raise ApplicationError(_("No store of the group has a free rescue crew."), {"code": "no_free_crew"})
            distance = chosen.distance_km
        _apply_match(locked, chosen, now=now)
        if distance is None:
            locked.distance_km = None
        locked.save()
        _tell_customer_matched(locked)
        audit_record(
            actor=actor_user(by),
            action="rescue.match",
            obj=locked,
            changes={"store": locked.store.code, "distance_km": str(locked.distance_km or "")},
        )
    return locked


def rescue_request_locate(
    *, request: RescueRequest, by: Actor, lat: Any, lon: Any, road_type: str, address: str = ""
) -> RescueRequest:
    """Staff who called the customer back correct where a waiting request stands and on which road (a car's alarm
    does not say; a typed place has no coordinates); then it is matched at once if a store is free (an expressway
    is handed to 12122).  Only while it waits for a store."""
    m = RESCUE.get("locate")
    RESCUE.require(m, actor=by, state=request.status, store_id=request.store_id)
    errors = _Errors()
    if road_type not in RoadType.values:
        errors.add("road_type", _("Choose one of: {options}.").format(options=", ".join(RoadType.values)))
    latitude = _coordinate(lat, field="lat", limit=90, errors=errors)
    longitude = _coordinate(lon, field="lon", limit=180, errors=errors)
    address_text = _text(address, field="address", max_length=200, errors=errors)
    if (latitude is None or longitude is None) and not {"lat", "lon"} & set(errors.by_field):
        errors.add("lat" if latitude is None else "lon", _("Give both the latitude and the longitude."))
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        locked = _locked(request)
        RESCUE.require(m, actor=by, state=locked.status, store_id=locked.store_id)
        old = {"lat": str(locked.latitude), "lon": str(locked.longitude), "road_type": locked.road_type}
        locked.latitude, locked.longitude, locked.road_type = latitude, longitude, road_type
        locked.address = address_text or locked.address
        if locked.location_consent_at is None:
            locked.location_consent_at, locked.location_consent_channel = now, ConsentChannel.PHONE
        if road_type == RoadType.EXPRESSWAY:
            RESCUE.require(RESCUE.get("hand_to_12122"), actor=by, state=locked.status, store_id=locked.store_id)
            locked.status, locked.handed_off_at = RescueStatus.HANDED_12122, now
            locked.reason = expressway_message()[:300]
        locked.save()
        audit_record(
            actor=actor_user(by),
            action="rescue.locate",
            obj=locked,
            changes={"old": old, "lat": str(latitude), "lon": str(longitude), "road_type": road_type},
        )
    if locked.status == RescueStatus.REQUESTED:
        try:
            locked = rescue_match(request=locked, by=Party.SYSTEM)
        except ApplicationError:
            pass  # still nobody free: the sweep tries again, the managers were told
    return locked


def rescue_dispatch(*, request: RescueRequest, by: Actor, crew: str, crew_lead: Any = None) -> RescueRequest:
    """Send a crew of the matched store: the crew's name or vehicle, and optionally its lead (a member of the
    store's staff), who may then record the arrival and the completion on their phone."""
    m = RESCUE.get("dispatch")
    RESCUE.authorise(m, actor=by, store_id=request.store_id)
    errors = _Errors()
    crew_text = _text(crew, field="crew", max_length=80, errors=errors, required=True)
    if crew_lead is not None and not (
        user_can(crew_lead, Capability.WORK, request.store_id)
        or user_can(crew_lead, Capability.HANDLE_RESCUE, request.store_id)
    ):
        errors.add("crew_lead", _("Choose a member of the store's staff."))
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        locked = _locked(request)
        RESCUE.require(m, actor=by, state=locked.status, store_id=locked.store_id)
        locked.status = RescueStatus.DISPATCHED
        locked.dispatched_at = now
        locked.crew = crew_text
        locked.crew_lead = crew_lead
        locked.save()
        if crew_lead is not None:
            staff_notify(
                store=locked.store,
                users=[crew_lead],
                template="rescue_dispatched",
                context={
                    "number": str(locked),
                    "road": RoadType(locked.road_type).label,
                    "crew": crew_text,
                    "fault": locked.fault[:80],
                    "plate": locked.plate or "—",
                    "eta": timezone.localtime(locked.respond_by).strftime("%H:%M") if locked.respond_by else "—",
                },
                dedupe_key=f"rescue:dispatched:{locked.pk}",
                related=locked,
                url=reverse("rescue:detail", args=[locked.pk]),
            )
        audit_record(
            actor=actor_user(by),
            action="rescue.dispatch",
            obj=locked,
            changes={"crew": crew_text, "crew_lead": getattr(crew_lead, "pk", None)},
        )
    return locked


_STAMP = {
    RescueStatus.ON_SITE: "on_site_at",
    RescueStatus.COMPLETED: "completed_at",
    RescueStatus.CANCELLED: "cancelled_at",
}


def rescue_transition(*, request: RescueRequest, by: Actor, target: str, reason: str = "") -> RescueRequest:
    """Arrival, completion or cancellation (the generic moves of the table)."""
    by_target = {str(x.target): x for x in RESCUE.moves if x.name in ("arrive", "complete", "cancel")}
    if target not in by_target:
        raise ValidationError({"target": [_("Choose one of: {options}.").format(options=", ".join(by_target))]})
    m = by_target[target]
    RESCUE.require(m, actor=by, state=request.status, store_id=request.store_id, assignee_id=request.crew_lead_id)
    errors = _Errors()
    reason_text = _text(reason, field="reason", max_length=300, errors=errors, required=m.needs_reason)
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        locked = _locked(request)
        RESCUE.require(m, actor=by, state=locked.status, store_id=locked.store_id, assignee_id=locked.crew_lead_id)
        old = locked.status
        locked.status = target
        setattr(locked, _STAMP[RescueStatus(target)], now)
        if reason_text:
            locked.reason = reason_text
        locked.save()
        audit_record(
            actor=actor_user(by),
            action="rescue.transition",
            obj=locked,
            changes={"status": [old, target], **({"reason": reason_text} if reason_text else {})},
        )
    return locked


# ---------------------------------------------------------------------------------------------------------------
# Bases


def rescue_base_save(
    *, store: Store, by: Any, latitude: Any, longitude: Any, crews: Any, is_active: bool = True, note: str = ""
) -> RescueBase:
    """Create or change a store's rescue base (the store's managers: EDIT_STORE_SETTINGS)."""
    if not user_can(by, Capability.EDIT_STORE_SETTINGS, store.pk):
        raise PermissionDenied(_("Your role may not do this."))
    errors = _Errors()
    lat = _coordinate(latitude, field="latitude", limit=90, errors=errors)
    lon = _coordinate(longitude, field="longitude", limit=180, errors=errors)
    if lat is None and "latitude" not in errors.by_field:
        errors.add("latitude", _("This field is required."))
    if lon is None and "longitude" not in errors.by_field:
        errors.add("longitude", _("This field is required."))
    try:
        crew_count = int(crews)
        if isinstance(crews, bool) or not 0 <= crew_count <= 50 or str(crews).strip() not in (str(crew_count),):
            raise ValueError
    except (TypeError, ValueError):
        errors.add("crews", _("Enter a whole number from 0 to 50."))
        crew_count = 0
    note_text = _text(note, field="note", max_length=200, errors=errors)
    errors.raise_if_any()
    assert lat is not None and lon is not None
    with transaction.atomic():
        base = RescueBase.objects.select_for_update().filter(store=store).first()
        created = base is None
        if base is None:
            base = RescueBase(store=store)
        old = {f: str(getattr(base, f)) for f in ("latitude", "longitude", "crews", "is_active", "note")}
        base.latitude, base.longitude, base.crews = lat, lon, crew_count
        base.is_active, base.note = bool(is_active), note_text
        base.save()
        new = {f: str(getattr(base, f)) for f in old}
        audit_record(
            actor=by,
            action="rescue.base_save",
            obj=base,
            changes={f: [old[f], new[f]] for f in new if created or old[f] != new[f]},
        )
    return base


# ---------------------------------------------------------------------------------------------------------------
# The sweep


@dataclass
class SweepResult:
    matched: int = 0
    alerted: int = 0
    coarsened: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"matched": self.matched, "alerted": self.alerted, "coarsened": self.coarsened}


def rescue_retry_waiting() -> SweepResult:
    """Try again to match every waiting request with coordinates; tell the managers once when one passes its
    matching target.  Idempotent: a matched request is no longer waiting; the overdue alert is deduplicated."""
    result = SweepResult()
    now = clock.now()
    waiting = RescueRequest.objects.filter(status=RescueStatus.REQUESTED).select_related("store", "group")
    for request in waiting.order_by("created_at", "pk"):
        if request.latitude is not None:
            try:
                rescue_match(request=request, by=Party.SYSTEM)
                result.matched += 1
                continue
            except (ApplicationError, ValidationError):
                pass
        if request.match_due_at <= now:
            with transaction.atomic():
                _alert_unmatched(request, overdue=True)
            result.alerted += 1
    return result


def rescue_locations_coarsen() -> int:
    """Round the coordinates of closed requests older than `location_retention_days` (of their store) to 0.01°
    and drop the described place; once per request (`location_coarsened_at`).  Returns how many were coarsened."""
    now = clock.now()
    done = 0
    closed = [s for s in RescueStatus.values if s not in ("requested", "matched", "dispatched", "on_site")]
    candidates = RescueRequest.objects.filter(location_coarsened_at__isnull=True, status__in=closed).select_related(
        "store"
    )
    days_by_store: dict[int, int] = {}
    for request in candidates.order_by("pk").iterator(chunk_size=500):
        if request.store_id not in days_by_store:
            days_by_store[request.store_id] = int(setting_values_for_store(request.store)["location_retention_days"])
        if request.created_at > now - dt.timedelta(days=days_by_store[request.store_id]):
            continue
        fields: dict[str, Any] = {"location_coarsened_at": now, "address": ""}
        if request.latitude is not None and request.longitude is not None:
            fields["latitude"] = request.latitude.quantize(COARSE, rounding=ROUND_HALF_UP)
            fields["longitude"] = request.longitude.quantize(COARSE, rounding=ROUND_HALF_UP)
        with transaction.atomic():
            updated = RescueRequest.objects.filter(pk=request.pk, location_coarsened_at__isnull=True).update(**fields)
            if updated:
                audit_record(actor=None, action="rescue.location_coarsen", obj=request, changes={})
                done += updated
    return done


def rescue_sweep() -> SweepResult:
    result = rescue_retry_waiting()
    result.coarsened = rescue_locations_coarsen()
    return result
