"""Writes for customers, vehicles and consents.  Each validates everything first, then writes in one
transaction, so bad input writes nothing; errors are ValidationError keyed by the field name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.audit import audit_record
from aftersales.core.external_refs import clean_external_ref, duplicate_external_ref
from aftersales.core.text import refuse_control_characters, text_problem
from aftersales.customers import crypto
from aftersales.customers.choices import ConsentChannel, ConsentPurpose, Gender, Powertrain
from aftersales.customers.models import Consent, ConsentEvent, Customer, CustomerStoreLink, LinkReason, Vehicle
from aftersales.customers.validators import (
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)
from aftersales.organisation.models import Store

# The version of the privacy notice customers see when they give or withdraw consent.  2026-12: the dealer group
# (not the store) is named as the handler, since the group keeps one file per customer for all its stores.
PRIVACY_NOTICE_VERSION = "2026-12"

PERSONAL_FIELDS = ("phone", "id_number", "address")
CUSTOMER_FIELDS = ("name", "gender", "birthday", "phone", "id_number", "address", "is_priority")
VEHICLE_FIELDS = (
    "vin",
    "plate",
    "brand",
    "model_name",
    "powertrain",
    "purchase_date",
    "purchase_price",
    "mileage_km",
    "mileage_recorded_on",
    "insurance_expires_on",
    "inspection_due_on",
)


class _Errors:
    """Collects field errors so that one response names every bad field at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: Any) -> None:
        self.by_field.setdefault(field, []).append(str(message))

    def run(self, field: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            for message in exc.messages:
                self.add(field, message)
            return None

    def reject_control_characters(self, data: dict[str, Any]) -> None:
        """The project's text rule (core/text.py): lone surrogates and control characters are refused."""
        for field, value in data.items():
            if (problem := text_problem(value)) is not None:
                self.add(field, problem.messages[0])

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _clean_name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise ValidationError(_("Enter the customer's name."))
    if len(name) > 60:
        raise ValidationError(_("A name has at most 60 characters."))
    return name


def _clean_date(value: Any, *, label: str, allow_future: bool = False) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from exc
    if not allow_future and value > clock.today():
        raise ValidationError(_("{label} cannot be in the future.").format(label=label))
    if value.year < 1900:
        raise ValidationError(_("Enter a date after 1900."))
    return value


def _clean_choice(value: Any, choices: Any) -> str:
    value = str(value or "")
    if value not in choices.values:
        raise ValidationError(_("Choose one of: {options}.").format(options=", ".join(v for v in choices.values if v)))
    return value


def _clean_customer(data: dict[str, Any], errors: _Errors, *, partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = errors.run("name", _clean_name, data.get("name"))
    if not partial or "phone" in data:
        clean["phone"] = errors.run("phone", normalize_mobile, data.get("phone"))
    if data.get("gender") not in (None, "") or (not partial and "gender" in data):
        clean["gender"] = errors.run("gender", _clean_choice, data.get("gender"), Gender)
    if "birthday" in data:
        clean["birthday"] = errors.run("birthday", _clean_date, data.get("birthday"), label=_("Birthday"))
    if "id_number" in data:
        raw = data.get("id_number") or ""
        clean["id_number"] = errors.run("id_number", normalize_id_number, raw, today=clock.today()) if raw else ""
    if "address" in data:
        address = " ".join(str(data.get("address") or "").split())
        if len(address) > 200:
            errors.add("address", _("An address has at most 200 characters."))
        clean["address"] = address
    if "is_priority" in data:
        if not isinstance(data["is_priority"], bool):
            errors.add("is_priority", _("Enter true or false."))
        clean["is_priority"] = bool(data["is_priority"])
    return clean


def _apply_personal(customer: Customer, clean: dict[str, Any]) -> None:
    if "phone" in clean:
        phone = clean["phone"]
        customer.phone_encrypted = crypto.encrypt(phone)
        customer.phone_hash = crypto.search_hash("phone", phone)
        customer.phone_last4_hash = crypto.search_hash("phone4", phone[-4:])
    if "id_number" in clean:
        customer.id_number_encrypted = crypto.encrypt(clean["id_number"])
        customer.id_number_hash = crypto.search_hash("id", clean["id_number"])
    if "address" in clean:
        customer.address_encrypted = crypto.encrypt(clean["address"])


def _check_duplicates(*, group_id: int, clean: dict[str, Any], errors: _Errors, exclude: int | None = None) -> None:
    """One file per person in the dealer group: the mobile number and the ID number name one customer."""
    others = Customer.objects.filter(group_id=group_id)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if clean.get("phone") and others.filter(phone_hash=crypto.search_hash("phone", clean["phone"])).exists():
        errors.add(
            "phone",
            _(
                "A customer of the dealer group already has this mobile number: search for it and serve them "
                "at this store."
            ),
        )
    if clean.get("id_number") and others.filter(id_number_hash=crypto.search_hash("id", clean["id_number"])).exists():
        errors.add("id_number", _("A customer of the dealer group already has this ID number."))


def _clean_referral(data: dict[str, Any], *, store: Store, errors: _Errors) -> dict[str, Any]:
    """Who brought the customer: a customer of the group (by mobile number) or a staff member of the store."""
    referral: dict[str, Any] = {}
    phone = str(data.pop("referred_by_phone", "") or "").strip()
    username = str(data.pop("referred_by_staff", "") or "").strip()
    if phone:
        try:
            wanted = crypto.search_hash("phone", normalize_mobile(phone))
        except ValidationError as exc:
            errors.add("referred_by_phone", exc.messages[0])
        else:
            referrer = Customer.objects.filter(group_id=store.group_id, phone_hash=wanted).first()
            if referrer is None:
                errors.add("referred_by_phone", _("No customer of the dealer group has this mobile number."))
            referral["referred_by_customer"] = referrer
    if username:
        staff = (
            get_user_model()
            .objects.filter(username=username, is_active=True, memberships__store=store)
            .distinct()
            .first()
        )
        if staff is None:
            errors.add("referred_by_staff", _("No staff member of this store has this username."))
        referral["referred_by_staff"] = staff
    return referral


def _audit_changes(clean: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Changes for the audit trail; personal values are never copied into it in clear."""
    diff: dict[str, Any] = {}
    for key, value in clean.items():
        if old.get(key) == value:
            continue
        if key in PERSONAL_FIELDS:
            diff[key] = ["***", "***"]
        else:
            diff[key] = [None if old.get(key) is None else str(old.get(key)), None if value is None else str(value)]
    return diff


# How many vehicles one call may register with a new customer.
VEHICLES_AT_ONCE_MAX = 20


def _existing_by_external_ref(group_id: int, source: str, ref: str) -> int | None:
    if not ref:
        return None
    return (
        Customer.objects.filter(group_id=group_id, external_source=source, external_ref=ref)
        .values_list("pk", flat=True)
        .first()
    )


@transaction.atomic
def customer_create(
    *,
    store: Store,
    by: Any,
    consent_channel: str = ConsentChannel.DESK,
    consents: dict[str, bool] | None = None,
    external_source: str | None = None,
    external_ref: str | None = None,
    vehicles: list[dict[str, Any]] | None = None,
    **data: Any,
) -> Customer:
    """A new customer of `store`.  `consents` holds only the purposes the customer actually answered.

    `external_source` + `external_ref`: the customer's id in an integrator's system, unique per source in the
    dealer group; a second customer with the same pair is refused (ApplicationError `duplicate_external_ref`
    naming the first one's id).  `vehicles`: the customer's cars (the fields of `vehicle_create`), registered
    with the customer in the same transaction: all or nothing, errors named `vehicles.<index>.<field>`."""
    errors = _Errors()
    errors.reject_control_characters(data)
    unknown = set(data) - set(CUSTOMER_FIELDS) - {"referred_by_phone", "referred_by_staff"}
    for field in sorted(unknown):
        errors.add(field, _("Unknown field."))
    referral = _clean_referral(data, store=store, errors=errors)
    clean = _clean_customer(data, errors, partial=False)
    consents = consents or {}
    _validate_consents(consents, consent_channel, errors)
    source, ref, ref_errors = clean_external_ref(external_source, external_ref)
    for field, message in ref_errors.items():
        errors.add(field, message)
    new_vehicles = _clean_new_vehicles(vehicles, group_id=store.group_id, errors=errors)
    if (existing := _existing_by_external_ref(store.group_id, source, ref)) is not None:
        raise duplicate_external_ref(source=source, ref=ref, existing_id=existing)
    if not errors.by_field:
        _check_duplicates(group_id=store.group_id, clean=clean, errors=errors)
    errors.raise_if_any()

    customer = Customer(
        group_id=store.group_id,
        store=store,
        **referral,
        name=clean["name"],
        gender=clean.get("gender") or "",
        birthday=clean.get("birthday"),
        is_priority=clean.get("is_priority", False),
        external_source=source,
        external_ref=ref,
    )
    _apply_personal(customer, clean)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:  # the same reference (or mobile number) registered at the same moment
        if (existing := _existing_by_external_ref(store.group_id, source, ref)) is not None:
            raise duplicate_external_ref(source=source, ref=ref, existing_id=existing) from None
        raise
    CustomerStoreLink.objects.create(customer=customer, store=store, reason=LinkReason.REGISTERED, linked_by=_user(by))
    changes = _audit_changes({k: v for k, v in clean.items() if v not in (None, "")}, {})
    for key, referrer in referral.items():
        if referrer is not None:
            changes[key] = str(referrer.pk)
    if ref:
        changes["external_ref"] = f"{source}:{ref}"
    audit_record(actor=by, action="customer.create", obj=customer, changes=changes)
    for purpose, granted in consents.items():
        _consent_write(customer=customer, purpose=purpose, granted=granted, channel=consent_channel, by=by)
    for index, vehicle_clean in enumerate(new_vehicles):
        try:
            _vehicle_save(customer=customer, clean=vehicle_clean, by=by, store=None)
        except ValidationError as exc:  # registered elsewhere at the same moment: nothing of this call is kept
            raise ValidationError(
                {f"vehicles.{index}.{field}": messages for field, messages in exc.message_dict.items()}
            ) from exc
    return customer


def _clean_new_vehicles(vehicles: Any, *, group_id: int, errors: _Errors) -> list[dict[str, Any]]:
    """The vehicles given with a new customer, each checked as `vehicle_create` checks one, and against each
    other (one VIN or plate twice); errors go to `vehicles.<index>.<field>`."""
    if vehicles is None:
        return []
    if not isinstance(vehicles, list | tuple):
        errors.add("vehicles", _("Enter a list of vehicles."))
        return []
    if len(vehicles) > VEHICLES_AT_ONCE_MAX:
        errors.add("vehicles", _("At most {n} vehicles at once.").format(n=VEHICLES_AT_ONCE_MAX))
        return []
    cleaned: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for index, data in enumerate(vehicles):
        prefix = f"vehicles.{index}"
        if not isinstance(data, dict):
            errors.add(prefix, _("Enter a vehicle as an object."))
            continue
        one = _Errors()
        one.reject_control_characters(data)
        for field in sorted(set(data) - set(VEHICLE_FIELDS)):
            one.add(field, _("Unknown field."))
        clean = _clean_vehicle(data, one, partial=False)
        if not one.by_field:
            _check_vehicle_duplicates(group_id=group_id, clean=clean, errors=one)
            for field in ("vin", "plate"):
                if clean.get(field) and (field, clean[field]) in seen:
                    one.add(field, _("The same value is given for an earlier vehicle of this request."))
                seen.add((field, clean.get(field) or ""))
        for field, messages in one.by_field.items():
            for message in messages:
                errors.add(f"{prefix}.{field}", message)
        cleaned.append(clean)
    return cleaned


@transaction.atomic
def customer_update(*, customer: Customer, by: Any, **data: Any) -> Customer:
    errors = _Errors()
    errors.reject_control_characters(data)
    for field in sorted(set(data) - set(CUSTOMER_FIELDS)):
        errors.add(field, _("Unknown field."))
    clean = _clean_customer(data, errors, partial=True)
    if not errors.by_field:
        _check_duplicates(group_id=customer.group_id, clean=clean, errors=errors, exclude=customer.pk)
    errors.raise_if_any()

    old = {
        "name": customer.name,
        "gender": customer.gender,
        "birthday": customer.birthday,
        "is_priority": customer.is_priority,
    }
    for key in PERSONAL_FIELDS:
        if key in clean:
            old[key] = getattr(customer, key)
    for key in ("name", "gender", "birthday", "is_priority"):
        if key in clean:
            setattr(customer, key, clean[key] if clean[key] is not None or key == "birthday" else "")
    _apply_personal(customer, clean)
    customer.save()
    changes = _audit_changes(clean, old)
    if changes:
        audit_record(actor=by, action="customer.update", obj=customer, changes=changes)
    return customer


def _validate_consents(consents: dict[str, Any], channel: str, errors: _Errors) -> None:
    for purpose, granted in consents.items():
        if purpose not in ConsentPurpose.values:
            errors.add(f"consents.{purpose}", _("Unknown consent purpose."))
        elif not isinstance(granted, bool):
            errors.add(f"consents.{purpose}", _("Enter true or false."))
    if consents and channel not in ConsentChannel.values:
        errors.add("consent_channel", _("Choose one of: {options}.").format(options=", ".join(ConsentChannel.values)))


def _consent_write(*, customer: Customer, purpose: str, granted: bool, channel: str, by: Any) -> Consent:
    now = clock.now()
    consent, _created = Consent.objects.update_or_create(
        customer=customer,
        purpose=purpose,
        defaults={"granted": granted, "notice_version": PRIVACY_NOTICE_VERSION, "channel": channel, "decided_at": now},
    )
    ConsentEvent.objects.create(
        customer=customer,
        purpose=purpose,
        granted=granted,
        notice_version=PRIVACY_NOTICE_VERSION,
        channel=channel,
        at=now,
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit_record(
        actor=by,
        action="consent.grant" if granted else "consent.withdraw",
        obj=customer,
        changes={"purpose": purpose, "channel": channel, "notice_version": PRIVACY_NOTICE_VERSION},
    )
    return consent


@transaction.atomic
def consent_set(*, customer: Customer, purpose: str, granted: Any, channel: str, by: Any) -> Consent:
    """Record the customer's answer for one purpose; a withdrawal takes effect immediately."""
    errors = _Errors()
    _validate_consents({purpose: granted}, channel, errors)
    if not errors.by_field and channel not in ConsentChannel.values:
        errors.add("channel", _("Unknown channel."))
    errors.raise_if_any()
    return _consent_write(customer=customer, purpose=purpose, granted=granted, channel=channel, by=by)


def _clean_vehicle(data: dict[str, Any], errors: _Errors, *, partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "vin" in data:
        clean["vin"] = errors.run("vin", normalize_vin, data.get("vin"))
    if "plate" in data:
        clean["plate"] = errors.run("plate", normalize_plate, data["plate"]) if data["plate"] else ""
    for key, label in (("brand", _("brand")), ("model_name", _("model"))):
        if not partial or key in data:
            text = " ".join(str(data.get(key) or "").split())
            if not text:
                errors.add(key, _("Enter the {label}.").format(label=label))
            elif len(text) > (40 if key == "brand" else 60):
                errors.add(key, _("Too long."))
            clean[key] = text
    if "powertrain" in data or not partial:
        clean["powertrain"] = errors.run(
            "powertrain", _clean_choice, data.get("powertrain") or Powertrain.PETROL, Powertrain
        )
    if "purchase_date" in data:
        clean["purchase_date"] = errors.run(
            "purchase_date", _clean_date, data["purchase_date"], label=_("Purchase date")
        )
    if "purchase_price" in data:
        raw = data["purchase_price"]
        if raw in (None, ""):
            clean["purchase_price"] = None
        else:
            try:
                price = Decimal(str(raw))
                if not price.is_finite() or price < 0 or price >= Decimal("1e10"):
                    raise InvalidOperation
                clean["purchase_price"] = price.quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors.add("purchase_price", _("Enter an amount in CNY, zero or more, e.g. 189800.00."))
    if "mileage_km" in data:
        raw = data["mileage_km"]
        if isinstance(raw, bool) or not str(raw).strip().isdigit() or int(str(raw)) > 3_000_000:
            errors.add("mileage_km", _("Enter the odometer reading in whole kilometres (0 to 3 000 000)."))
        else:
            clean["mileage_km"] = int(str(raw))
    if "mileage_recorded_on" in data:
        clean["mileage_recorded_on"] = errors.run(
            "mileage_recorded_on", _clean_date, data["mileage_recorded_on"], label=_("Mileage date")
        )
    for key, label in (
        ("insurance_expires_on", _("Insurance expiry")),
        ("inspection_due_on", _("Annual inspection")),
    ):
        if key in data:
            clean[key] = errors.run(key, _clean_date, data[key], label=label, allow_future=True)
    return clean


def _check_vehicle_duplicates(
    *, group_id: int, clean: dict[str, Any], errors: _Errors, exclude: int | None = None
) -> None:
    """One file per vehicle in the dealer group (一车一档): the VIN and the plate name one car."""
    others = Vehicle.objects.filter(group_id=group_id)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if clean.get("vin") and others.filter(vin=clean["vin"]).exists():
        errors.add("vin", _("A vehicle with this VIN is already registered in the dealer group."))
    if clean.get("plate") and others.filter(plate=clean["plate"]).exists():
        errors.add("plate", _("A vehicle with this plate is already registered in the dealer group."))


@transaction.atomic
def vehicle_create(*, customer: Customer, by: Any, store: Store | None = None, **data: Any) -> Vehicle:
    """A vehicle of `customer`, registered at `store` (the customer's registering store by default)."""
    errors = _Errors()
    errors.reject_control_characters(data)
    for field in sorted(set(data) - set(VEHICLE_FIELDS)):
        errors.add(field, _("Unknown field."))
    clean = _clean_vehicle(data, errors, partial=False)
    if not errors.by_field:
        _check_vehicle_duplicates(group_id=customer.group_id, clean=clean, errors=errors)
    errors.raise_if_any()
    return _vehicle_save(customer=customer, clean=clean, by=by, store=store)


def _vehicle_save(*, customer: Customer, clean: dict[str, Any], by: Any, store: Store | None) -> Vehicle:
    """Write a checked vehicle (`_clean_vehicle`, `_check_vehicle_duplicates`) and its audit entry."""
    if "mileage_km" in clean and not clean.get("mileage_recorded_on"):
        clean["mileage_recorded_on"] = clock.today()
    vehicle = Vehicle(
        group_id=customer.group_id, store_id=store.pk if store else customer.store_id, customer=customer, **clean
    )
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError as exc:  # a concurrent registration of the same VIN or plate
        raise ValidationError(
            {"vin": [_("A vehicle with this VIN or plate is already registered in the dealer group.")]}
        ) from exc
    audit_record(actor=by, action="vehicle.create", obj=vehicle, changes={"vin": vehicle.vin, "plate": vehicle.plate})
    return vehicle


@transaction.atomic
def vehicle_update(*, vehicle: Vehicle, by: Any, **data: Any) -> Vehicle:
    errors = _Errors()
    errors.reject_control_characters(data)
    for field in sorted(set(data) - set(VEHICLE_FIELDS)):
        errors.add(field, _("Unknown field."))
    clean = _clean_vehicle(data, errors, partial=True)
    if "mileage_km" in clean and clean["mileage_km"] < vehicle.mileage_km and "mileage_km" not in errors.by_field:
        errors.add(
            "mileage_km", _("The odometer cannot go back: the last reading was {km} km.").format(km=vehicle.mileage_km)
        )
    if not errors.by_field:
        _check_vehicle_duplicates(group_id=vehicle.group_id, clean=clean, errors=errors, exclude=vehicle.pk)
    errors.raise_if_any()
    if "mileage_km" in clean and "mileage_recorded_on" not in clean and clean["mileage_km"] != vehicle.mileage_km:
        clean["mileage_recorded_on"] = clock.today()
    old = {k: getattr(vehicle, k) for k in clean}
    for key, value in clean.items():
        setattr(vehicle, key, value)
    vehicle.save()
    changes = _audit_changes(clean, old)
    if changes:
        audit_record(actor=by, action="vehicle.update", obj=vehicle, changes=changes)
    return vehicle


@transaction.atomic
def customer_and_vehicle_find_or_create(
    *,
    store: Store,
    by: Any,
    plate: str = "",
    phone: str = "",
    name: str = "",
    vin: str = "",
    brand: str = "",
    model_name: str = "",
    consents: dict[str, bool] | None = None,
    consent_channel: str = ConsentChannel.DESK,
) -> tuple[Customer, Vehicle]:
    """Who arrives (or books) and with which car: the one matching rule of the desk, the API and online booking.

    The plate names the car; the mobile number, matched through its keyed hash, names the person.
    1. A plate registered in the store gives its car and that car's owner.  A mobile number given with it must
       be the owner's: a car is never silently attached to somebody else (field `plate`).
    2. Otherwise the mobile number gives the customer; nobody with it: a new customer, who needs the name and the
       mobile number (field `name`).
    3. Without a plate, the customer's most recently registered car; a plate not yet registered, or a customer
       without a car: a new car, which needs the VIN, brand and model (field `vin`).
    `consents` (the purposes the customer answered) are recorded for a new or a known customer alike."""
    refuse_control_characters(plate=plate, phone=phone, name=name, vin=vin, brand=brand, model_name=model_name)
    errors = _Errors()
    clean_plate = errors.run("plate", normalize_plate, plate) if plate else ""
    clean_phone = errors.run("phone", normalize_mobile, phone) if phone else ""
    if not plate and not phone:
        errors.add("plate", _("Enter the plate or the customer's mobile number."))
    _validate_consents(consents or {}, consent_channel, errors)
    errors.raise_if_any()

    # The whole dealer group is searched: a customer of the sister store is the same person here.
    by_phone = (
        Customer.objects.filter(group_id=store.group_id, phone_hash=crypto.search_hash("phone", clean_phone)).first()
        if clean_phone
        else None
    )
    vehicle = (
        Vehicle.objects.select_related("customer").filter(group_id=store.group_id, plate=clean_plate).first()
        if clean_plate
        else None
    )
    if vehicle is not None and clean_phone and vehicle.customer != by_phone:
        raise ValidationError({"plate": [_("This plate is registered to another customer.")]})
    customer = vehicle.customer if vehicle is not None else by_phone
    if customer is None:
        if not (name and clean_phone):
            raise ValidationError({"name": [_("New customer: enter the name and the mobile number.")]})
        customer = customer_create(
            store=store, by=by, name=name, phone=clean_phone, consents=consents, consent_channel=consent_channel
        )
    else:
        customer_link_store(customer=customer, store=store, by=by, reason=LinkReason.VISIT)
        for purpose, granted in (consents or {}).items():
            if granted and consent_channel == ConsentChannel.CUSTOMER_LINK:
                # An anonymous page only proves the mobile number and the plate: it may withdraw an existing
                # customer's consent, never grant it (someone else could re-subscribe a customer who said stop).
                continue
            _consent_write(customer=customer, purpose=purpose, granted=granted, channel=consent_channel, by=by)
    if vehicle is None and not clean_plate:
        vehicle = customer.vehicles.order_by("-id").first()
    if vehicle is None:
        if not (vin and brand and model_name):
            raise ValidationError({"vin": [_("New vehicle: enter the VIN, brand and model.")]})
        vehicle = vehicle_create(
            customer=customer, by=by, store=store, vin=vin, plate=clean_plate, brand=brand, model_name=model_name
        )
    return customer, vehicle


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def customer_link_store(*, customer: Customer, store: Store, by: Any, reason: str) -> CustomerStoreLink:
    """The store deals with this group customer from now on (idempotent).  A store of another group never may."""
    if store.group_id != customer.group_id:
        raise ValidationError({"store": [_("This customer belongs to another dealer group.")]})
    link, created = CustomerStoreLink.objects.get_or_create(
        customer=customer, store=store, defaults={"reason": reason, "linked_by": _user(by)}
    )
    if created:
        audit_record(
            actor=by, action="customer.link_store", obj=customer, changes={"store": store.code, "reason": reason}
        )
        if hasattr(customer, "_linked_store_ids"):
            del customer._linked_store_ids
    return link


def customer_reveal(*, customer: Customer, field: str, by: Any) -> str:
    """The clear value of one personal field; every unmasking is written to the audit trail."""
    if field not in PERSONAL_FIELDS:
        raise ValidationError({"field": [_("Unknown personal field.")]})
    value = getattr(customer, field)
    audit_record(actor=by, action="customer.reveal", obj=customer, changes={"field": field})
    return value


def customers_rotate_keys(*, batch_size: int = 500) -> int:
    """Re-encrypt every personal field under the newest key and recompute search hashes; returns rows done.

    Run after putting a new key first in AFTERSALES_FIELD_KEYS (or a new AFTERSALES_HASH_KEY); the old
    key can be removed once this has finished.
    """
    done = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(Customer.objects.select_for_update().filter(pk__gt=last_id).order_by("pk")[:batch_size])
            if not batch:
                return done
            for customer in batch:
                phone = customer.phone
                id_number = customer.id_number
                customer.phone_encrypted = crypto.rotate(customer.phone_encrypted)
                customer.id_number_encrypted = crypto.rotate(customer.id_number_encrypted)
                customer.address_encrypted = crypto.rotate(customer.address_encrypted)
                customer.phone_hash = crypto.search_hash("phone", phone)
                customer.phone_last4_hash = crypto.search_hash("phone4", phone[-4:])
                customer.id_number_hash = crypto.search_hash("id", id_number)
            Customer.objects.bulk_update(
                batch,
                [
                    "phone_encrypted",
                    "id_number_encrypted",
                    "address_encrypted",
                    "phone_hash",
                    "phone_last4_hash",
                    "id_number_hash",
                ],
            )
            done += len(batch)
            last_id = batch[-1].pk


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Every model besides `Customer` with Fernet ciphertext columns (`…_encrypted`), found in the app registry:
    the outbox's addresses, customers' replies, pick-up addresses, endpoint secrets.  Read from the registry, not
    imported, because most of them live in apps above this one."""
    found = []
    for model in django_apps.get_models():
        if model is Customer:
            continue
        names = [f.name for f in model._meta.concrete_fields if f.name.endswith("_encrypted")]
        if names:
            found.append((model, names))
    return found


def encrypted_columns_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every other ciphertext column under the newest key (run with `customers_rotate_keys`, so that
    the old key can really be removed); returns the rows rewritten."""
    done = 0
    for model, names in encrypted_columns():
        last_id = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._default_manager.select_for_update().filter(pk__gt=last_id).order_by("pk")[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    for name in names:
                        setattr(row, name, crypto.rotate(getattr(row, name)))
                model._default_manager.bulk_update(rows, names)
                done += len(rows)
                last_id = rows[-1].pk
    return done
