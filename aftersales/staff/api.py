"""The staff endpoints of /api/v1/: a store's technicians with their qualifications, the certificates about to
expire, and recording a grade, a certificate or a training course.  A technician is named by id in the body; a
person the caller may not manage answers the same 422 naming `technician` as a missing one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from aftersales.core import clock
from aftersales.core.api import AnyDay, ObjectId, OneLine
from aftersales.core.api_schema import choices_of
from aftersales.organisation.access import store_ids_for
from aftersales.organisation.choices import TechnicianGrade
from aftersales.organisation.models import StaffProfile, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.staff import selectors, services
from aftersales.staff.choices import CertificateKind, TrainingResult
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord

router = Router(tags=["staff"])

GradeName = Literal["junior", "intermediate", "senior", "technician", "senior_technician"]
KindName = Literal["hv_electrician", "oem_hv_1", "oem_hv_2", "oem_hv_3", "other"]
ResultName = Literal["passed", "failed", "attended"]
assert set(GradeName.__args__) == set(TechnicianGrade.values)  # noqa: S101 - the contract follows the model
assert set(KindName.__args__) == set(CertificateKind.values)  # noqa: S101
assert set(ResultName.__args__) == set(TrainingResult.values)  # noqa: S101

# Closed sets in answers, read from the models' choices.
CertificateKindOut = choices_of(Certificate, "kind")
GradeRecordOut = choices_of(GradeRecord, "grade")
GradeTodayOut = choices_of(StaffProfile, "technician_grade")  # '' when not graded
TrainingResultOut = choices_of(TrainingRecord, "result")
ExpiryStateOut = Literal["valid", "expiring", "expired", "not_yet"]  # selectors.expiry_state


class CertificateOut(Schema):
    """A technician's certificate and whether it is valid, expiring or expired."""

    id: int
    technician: int = Field(..., alias="user_id")
    kind: CertificateKindOut
    name: str
    number: str
    issuer: str
    issued_on: dt.date
    expires_on: dt.date | None
    state: ExpiryStateOut = Field(
        ..., description="valid, expiring (within the store's alert lead), expired or not_yet"
    )


class TechnicianOut(Schema):
    """A technician with grade, high-voltage qualification, training hours and certificates."""

    id: int
    name: str
    store: str
    grade: GradeTodayOut = Field(..., description="the grade today, from the grade history ('' when not graded)")
    grade_since: dt.date | None
    hv_certificate_valid: bool
    training_hours: Decimal
    training_hours_last_12_months: Decimal
    certificates: list[CertificateOut]


class RosterFilter(Schema):
    store: str | None = Field(None, description="A store code; every store where you read staff records if omitted")


class ExpiringFilter(Schema):
    store: str | None = Field(None, description="A store code; every store where you read staff records if omitted")
    days: int = Field(30, ge=0, le=366, description="expiring from today to this many days ahead")


def _state(certificate: Any, days: int) -> dict[str, Any]:
    return {**certificate.__dict__, "state": selectors.expiry_state(certificate, clock.today(), days)}


@router.get("/staff/technicians", response=list[TechnicianOut], summary="Technicians with their qualifications")
def technician_list(request: HttpRequest, filters: Query[RosterFilter]) -> Any:
    ids = store_ids_for(request.auth, filters.store, capability=selectors.READ)
    today = clock.today()
    result = []
    for store in Store.objects.filter(pk__in=sorted(ids)).order_by("code"):
        days = int(setting_values_for_store(store)["certificate_expiry_alert_days"])
        for row in selectors.store_roster(store_id=store.pk, today=today, alert_days=days):
            result.append(
                {
                    "id": row.user.pk,
                    "name": row.name,
                    "store": store.code,
                    "grade": row.grade,
                    "grade_since": row.grade_since,
                    "hv_certificate_valid": row.hv_valid,
                    "training_hours": row.training_hours,
                    "training_hours_last_12_months": row.training_hours_year,
                    "certificates": [{**c.__dict__, "state": state} for c, state in row.certificates],
                }
            )
    return result


@router.get(
    "/staff/certificates/expiring", response=list[CertificateOut], summary="Certificates expiring within `days`"
)
def certificates_expiring(request: HttpRequest, filters: Query[ExpiringFilter]) -> Any:
    ids = store_ids_for(request.auth, filters.store, capability=selectors.READ)
    people = selectors.people_for(request.auth, selectors.READ, store_ids=ids).values("pk")
    found = selectors.expiring_certificates(today=clock.today(), days=filters.days).filter(user_id__in=people)
    return [_state(c, filters.days) for c in found]


def _technician(request: HttpRequest, pk: int) -> Any:
    person = selectors.people_for(request.auth, selectors.WRITE).filter(pk=pk).first()
    if person is None:
        raise ValidationError({"technician": [_("No technician with this id whose records you may keep.")]})
    return person


class GradeIn(Schema):
    """A technician's grade from a day on."""

    technician: ObjectId
    grade: GradeName
    effective_from: AnyDay = Field(..., description="today or earlier (a later day is refused, naming the field)")
    evidence: OneLine = Field("", max_length=60, description="the qualification certificate's number")
    note: OneLine = Field("", max_length=200)


class GradeOut(Schema):
    """A recorded grade of a technician, with the grade today."""

    id: int
    technician: int = Field(..., alias="user_id")
    grade: GradeRecordOut
    effective_from: dt.date
    evidence: str
    note: str
    current_grade: GradeTodayOut = Field(..., description="the technician's grade today ('' when not graded)")


@router.post("/staff/grades", response={201: GradeOut}, summary="Record a technician's grade from a day on")
def grade_create(request: HttpRequest, payload: GradeIn) -> Any:
    person = _technician(request, payload.technician)
    record = services.grade_record(
        person=person,
        by=request.auth,
        grade=payload.grade,
        effective_from=payload.effective_from,
        evidence=payload.evidence,
        note=payload.note,
    )
    return 201, {**record.__dict__, "current_grade": selectors.current_grade(person)}


class CertificateIn(Schema):
    """A technician's certificate to record."""

    technician: ObjectId
    kind: KindName
    name: OneLine = Field("", max_length=80, description="required for kind 'other'")
    number: OneLine = Field(..., max_length=60)
    issuer: OneLine = Field(..., max_length=80)
    issued_on: AnyDay = Field(..., description="today or earlier")
    expires_on: AnyDay | None = None


@router.post("/staff/certificates", response={201: CertificateOut}, summary="Record a technician's certificate")
def certificate_create(request: HttpRequest, payload: CertificateIn) -> Any:
    person = _technician(request, payload.technician)
    certificate = services.certificate_record(person=person, by=request.auth, **payload.dict(exclude={"technician"}))
    stores = Store.objects.filter(pk__in=selectors.stores_of(person)).order_by("pk")[:1]
    days = int(setting_values_for_store(stores[0])["certificate_expiry_alert_days"]) if stores else 30
    return 201, _state(certificate, days)


class TrainingIn(Schema):
    """A training course a technician finished."""

    technician: ObjectId
    course: OneLine = Field(..., max_length=120)
    hours: Decimal = Field(..., ge=Decimal("0.5"), le=Decimal("999"), decimal_places=1)
    finished_on: AnyDay = Field(..., description="today or earlier")
    result: ResultName
    score: int | None = Field(None, ge=0, le=100)


class TrainingOut(Schema):
    """A recorded training course of a technician."""

    id: int
    technician: int = Field(..., alias="user_id")
    course: str
    hours: Decimal
    finished_on: dt.date
    result: TrainingResultOut
    score: int | None


@router.post("/staff/training", response={201: TrainingOut}, summary="Record a training course a technician finished")
def training_create(request: HttpRequest, payload: TrainingIn) -> Any:
    person = _technician(request, payload.technician)
    record = services.training_record(person=person, by=request.auth, **payload.dict(exclude={"technician"}))
    return 201, record
