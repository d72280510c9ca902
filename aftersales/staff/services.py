"""Recording staff qualifications, and the certificate expiry sweep.

Each action checks the writer's capability in a store where the person is a technician, validates everything
first (a ValidationError keyed by field name; nothing written), then writes in one transaction with its audit
entry.  Recording a grade keeps `StaffProfile.technician_grade` equal to the current grade in the same
transaction, so code that reads the snapshot stays right."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.core import clock, dates
from aftersales.core.audit import audit_record
from aftersales.core.scoping import store_ids_where
from aftersales.core.text import refuse_control_characters
from aftersales.notifications.services import staff_notify
from aftersales.organisation.choices import Role, TechnicianGrade
from aftersales.organisation.models import Membership, StaffProfile, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.organisation.settings_catalogue import BY_KEY
from aftersales.staff import selectors
from aftersales.staff.choices import CertificateKind, TrainingResult
from aftersales.staff.models import Certificate, CertificateAlert, GradeRecord, TrainingRecord

logger = logging.getLogger("aftersales.staff")

MAX_SCAN_BYTES = 5 * 1024 * 1024
SCAN_TYPES = (".pdf", ".jpg", ".jpeg", ".png")


def _authorise(*, person: Any, by: Any) -> int:
    """The store the action is recorded in: the first store where `person` is a technician and `by` may manage
    staff records.  Refused otherwise (the same for another store's person and a missing one)."""
    allowed = store_ids_where(by, selectors.WRITE)
    stores = [sid for sid in selectors.stores_of(person) if sid in allowed]
    if not stores or not getattr(person, "is_active", False):
        raise PermissionDenied(_("Your role may not do this."))
    return stores[0]


def _day(errors: dict[str, list[str]], name: str, value: Any, *, required: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.setdefault(name, []).append(_("This field is required."))
        return None
    if not isinstance(value, dt.date):
        errors.setdefault(name, []).append(_("Enter a valid date."))
        return None
    return value


def _past(errors: dict[str, list[str]], name: str, day: dt.date | None) -> None:
    if day is None or name in errors:
        return
    try:
        dates.HAPPENED(day)
    except ValidationError as exc:
        errors.setdefault(name, []).extend(exc.messages)
        return
    if day > clock.today():
        errors.setdefault(name, []).append(_("This date cannot be in the future."))


def _text(errors: dict[str, list[str]], name: str, value: Any, *, max_length: int, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        errors.setdefault(name, []).append(_("Enter text."))
    elif required and not text:
        errors.setdefault(name, []).append(_("This field is required."))
    elif len(text) > max_length:
        errors.setdefault(name, []).append(
            _("Ensure this value has at most %(limit)d characters.") % {"limit": max_length}
        )
    return text


def _sync_profile(person: Any) -> str:
    """Set the profile's snapshot to the current grade (called with the profile row locked)."""
    grade = selectors.current_grade(person)
    StaffProfile.objects.filter(user_id=person.pk).exclude(technician_grade=grade).update(
        technician_grade=grade, updated_at=clock.now()
    )
    return grade


def grade_record(
    *, person: Any, by: Any, grade: str, effective_from: Any, evidence: str = "", note: str = ""
) -> GradeRecord:
    """Record that `person` holds `grade` from `effective_from` (today or earlier) on."""
    store_id = _authorise(person=person, by=by)
    refuse_control_characters(evidence=evidence, note=note)
    errors: dict[str, list[str]] = {}
    if grade not in TechnicianGrade.values:
        errors["grade"] = [_("Choose one of the grades.")]
    day = _day(errors, "effective_from", effective_from)
    _past(errors, "effective_from", day)
    evidence = _text(errors, "evidence", evidence, max_length=60, required=False)
    note = _text(errors, "note", note, max_length=200, required=False)
    if errors:
        raise ValidationError(errors)
    assert day is not None
    with transaction.atomic():
        # One recorder at a time per person (the profile row is the lock): the same-day check and the snapshot
        # both read the history as it is once the other recorder has committed.
        profile = StaffProfile.objects.select_for_update().filter(user_id=person.pk).first()
        if profile is None:
            StaffProfile.objects.get_or_create(user=person, defaults={"display_name": person.get_username()})
        if GradeRecord.objects.filter(user_id=person.pk, effective_from=day).exists():
            raise ValidationError({"effective_from": [_("A grade is already recorded from this day.")]})
        record = GradeRecord.objects.create(
            user=person, grade=grade, effective_from=day, evidence=evidence, note=note, recorded_by=by
        )
        current = _sync_profile(person)
        audit_record(
            actor=by,
            action="staff.grade_record",
            obj=record,
            store_id=store_id,
            changes={"grade": grade, "effective_from": day.isoformat(), "evidence": evidence, "current": current},
        )
    return record


def certificate_record(
    *,
    person: Any,
    by: Any,
    kind: str,
    number: str,
    issuer: str,
    issued_on: Any,
    expires_on: Any = None,
    name: str = "",
    scan: UploadedFile | None = None,
) -> Certificate:
    """Record a certificate `person` holds (the HV electrician's, an OEM HV tier, or another named one)."""
    store_id = _authorise(person=person, by=by)
    refuse_control_characters(number=number, issuer=issuer, name=name)
    errors: dict[str, list[str]] = {}
    if kind not in CertificateKind.values:
        errors["kind"] = [_("Choose one of the certificate kinds.")]
    number = _text(errors, "number", number, max_length=60, required=True)
    issuer = _text(errors, "issuer", issuer, max_length=80, required=True)
    name = _text(errors, "name", name, max_length=80, required=kind == CertificateKind.OTHER)
    issued = _day(errors, "issued_on", issued_on)
    _past(errors, "issued_on", issued)
    expires = _day(errors, "expires_on", expires_on, required=False)
    if expires is not None and "expires_on" not in errors:
        try:
            dates.ANY_DAY(expires)
        except ValidationError as exc:
            errors["expires_on"] = exc.messages
        else:
            if issued is not None and expires <= issued:
                errors["expires_on"] = [_("A certificate expires after the day it was issued.")]
    if scan is not None:
        if scan.size is not None and scan.size > MAX_SCAN_BYTES:
            errors["scan"] = [_("The scan is larger than 5 MB.")]
        elif not (scan.name or "").lower().endswith(SCAN_TYPES):
            errors["scan"] = [_("A scan is a PDF, JPEG or PNG file.")]
    if number and "kind" not in errors and Certificate.objects.filter(kind=kind, number=number).exists():
        errors["number"] = [_("A certificate of this kind with this number is already recorded.")]
    if errors:
        raise ValidationError(errors)
    assert issued is not None
    try:
        with transaction.atomic():
            certificate = Certificate(
                user=person,
                kind=kind,
                name=name,
                number=number,
                issuer=issuer,
                issued_on=issued,
                expires_on=expires,
                recorded_by=by,
            )
            if scan is not None:
                certificate.scan = scan
            certificate.save()
            audit_record(
                actor=by,
                action="staff.certificate_record",
                obj=certificate,
                store_id=store_id,
                changes={
                    "kind": kind,
                    "number": number,
                    "issuer": issuer,
                    "issued_on": issued.isoformat(),
                    "expires_on": expires.isoformat() if expires else None,
                },
            )
    except IntegrityError:  # the same number recorded meanwhile
        raise ValidationError(
            {"number": [_("A certificate of this kind with this number is already recorded.")]}
        ) from None
    return certificate


def training_record(
    *, person: Any, by: Any, course: str, hours: Any, finished_on: Any, result: str, score: Any = None
) -> TrainingRecord:
    """Record a course `person` finished: hours (0.5 to 999), result, and a score 0–100 when examined."""
    store_id = _authorise(person=person, by=by)
    refuse_control_characters(course=course)
    errors: dict[str, list[str]] = {}
    course = _text(errors, "course", course, max_length=120, required=True)
    amount: Decimal | None = None
    try:
        amount = Decimal(str(hours)) if hours not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or not Decimal("0.5") <= amount <= Decimal("999"):
        errors["hours"] = [_("Hours lie between 0.5 and 999.")]
    elif amount != amount.quantize(Decimal("0.1")):
        errors["hours"] = [_("Hours are given to one decimal place.")]
    day = _day(errors, "finished_on", finished_on)
    _past(errors, "finished_on", day)
    if result not in TrainingResult.values:
        errors["result"] = [_("Choose one of the results.")]
    if score not in (None, ""):
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
            errors["score"] = [_("A score lies between 0 and 100.")]
    else:
        score = None
    if errors:
        raise ValidationError(errors)
    assert day is not None and amount is not None
    with transaction.atomic():
        record = TrainingRecord.objects.create(
            user=person, course=course, hours=amount, finished_on=day, result=result, score=score, recorded_by=by
        )
        audit_record(
            actor=by,
            action="staff.training_record",
            obj=record,
            store_id=store_id,
            changes={"course": course, "hours": str(amount), "finished_on": day.isoformat(), "result": result},
        )
    return record


# ------------------------------------------------------------------------------------------ expiry alerts


@dataclass
class SweepResult:
    alerts: int = 0
    people: int = 0
    already: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _stores_with_alert_days(person_id: int) -> list[tuple[Store, int]]:
    stores = Store.objects.filter(
        pk__in=Membership.objects.filter(
            user_id=person_id, role__in=selectors.TECHNICIAN_ROLES, store__isnull=False
        ).values("store_id")
    ).order_by("pk")
    return [(store, int(setting_values_for_store(store)["certificate_expiry_alert_days"])) for store in stores]


def certificate_expiry_sweep(*, today: dt.date | None = None) -> SweepResult:
    """Once a day: tell the technician and the managers of each of their stores about every certificate that
    expires within the store's alert lead (`certificate_expiry_alert_days`), and again once it has expired
    (within the same lead after expiry).  Each (certificate, threshold, expiry day) is claimed once, in the
    same transaction as its inbox items, so a rerun or a second worker raises nothing twice."""
    today = today or clock.today()
    result = SweepResult()
    longest = int(BY_KEY["certificate_expiry_alert_days"].maximum or 366)  # any store's lead; narrowed below
    candidates = Certificate.objects.filter(
        expires_on__gte=today - dt.timedelta(days=longest), expires_on__lte=today + dt.timedelta(days=longest)
    ).select_related("user", "user__staff_profile")
    for certificate in candidates.order_by("expires_on", "pk"):
        person = certificate.user
        if not person.is_active or certificate.expires_on is None:
            continue
        for index, (store, lead) in enumerate(_stores_with_alert_days(person.pk)):
            left = (certificate.expires_on - today).days
            if left < -lead or left > lead:
                continue
            threshold = 0 if left < 0 else lead
            raised = _raise_alert(certificate=certificate, store=store, threshold=threshold, tell_person=index == 0)
            if raised is None:
                result.already += 1
            else:
                result.alerts += 1
                result.people += raised
    logger.info("certificate expiry sweep: %s", result.as_dict())
    return result


def _raise_alert(*, certificate: Certificate, store: Store, threshold: int, tell_person: bool) -> int | None:
    """One claimed alert to the store's managers (and the person); None when it was raised before."""
    assert certificate.expires_on is not None
    person = certificate.user
    profile = getattr(person, "staff_profile", None)
    name = profile.display_name if profile is not None else person.get_username()
    managers = [
        m.user
        for m in Membership.objects.filter(store=store, role=Role.MANAGER).select_related("user").order_by("user_id")
    ]
    try:
        with transaction.atomic():
            CertificateAlert.objects.create(
                certificate=certificate,
                days_ahead=threshold,
                expires_on=certificate.expires_on,
                store=store,
            )
            return staff_notify(
                store=store,
                users=([person] if tell_person else []) + managers,
                template="staff_certificate_expired" if threshold == 0 else "staff_certificate_expiring",
                context={
                    "name": name,
                    "kind": CertificateKind(certificate.kind).label,
                    "number": certificate.number,
                    "expires": certificate.expires_on.isoformat(),
                    "store": store.name,
                },
                dedupe_key=f"staff_cert:{certificate.pk}:{threshold}:{certificate.expires_on.isoformat()}:{store.pk}",
                related=certificate,
                url=reverse("staff:person", args=[person.pk]),
            )
    except IntegrityError:
        return None
