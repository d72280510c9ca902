"""Reading staff qualifications: the grade on a day (from the history), valid certificates, expiring ones, the
senior share, and the technicians a user may see.

A technician is a person with a technician or foreman membership of a store (the two roles dispatch accepts).
The grade on a day is the latest grade record effective on or before it; a person without any grade record
(graded before the history existed, or written by code that only sets the profile) is read from the profile's
snapshot, `StaffProfile.technician_grade`, which the services keep equal to the current grade."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.choices import GRADE_RANK, Role, TechnicianGrade
from aftersales.organisation.models import Membership, StaffProfile
from aftersales.organisation.permissions import Capability
from aftersales.staff.choices import HV_KINDS
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord

TECHNICIAN_ROLES: tuple[str, ...] = (Role.TECHNICIAN, Role.FOREMAN)
# "Senior" in the senior-share KPI: level 3 (高级工) and above.
SENIOR_GRADES: tuple[str, ...] = tuple(g for g in TechnicianGrade.values if GRADE_RANK[g] >= GRADE_RANK["senior"])
READ = Capability.VIEW_STAFF_RECORDS
WRITE = Capability.MANAGE_STAFF_RECORDS


def _user_id(user: Any) -> int:
    return int(getattr(user, "pk", user))


# ------------------------------------------------------------------------------------------------- grades


def grade_on(user: Any, day: dt.date) -> str:
    """The grade `user` (a user or an id) held on `day`; "" when not graded then."""
    uid = _user_id(user)
    records = GradeRecord.objects.filter(user_id=uid)
    found = records.filter(effective_from__lte=day).order_by("-effective_from", "-id").values_list("grade", flat=True)
    grade = found.first()
    if grade is not None:
        return grade
    if records.exists():
        return ""
    return StaffProfile.objects.filter(user_id=uid).values_list("technician_grade", flat=True).first() or ""


def grades_on(user_ids: Iterable[int], day: dt.date) -> dict[int, str]:
    """`grade_on` of many people in one query: {user id: grade} ("" when not graded)."""
    rows = (
        get_user_model()
        .objects.filter(pk__in=sorted(set(user_ids)))
        .annotate(grade_on_day=grade_on_expression("pk", day))
        .values_list("pk", "grade_on_day")
    )
    return {pk: grade or "" for pk, grade in rows}


def current_grade(user: Any) -> str:
    return grade_on(user, clock.today())


def grade_on_expression(user_ref: str, day: dt.date) -> Coalesce:
    """The grade on `day` of the user at `user_ref` (an OuterRef path) as a query expression, by the same rule
    as `grade_on` (history first, the profile's snapshot for a person without history)."""
    latest = (
        GradeRecord.objects.filter(user_id=OuterRef(user_ref), effective_from__lte=day)
        .order_by("-effective_from", "-id")
        .values("grade")[:1]
    )
    snapshot = StaffProfile.objects.filter(user_id=OuterRef(user_ref)).values("technician_grade")[:1]
    return Coalesce(
        Subquery(latest),
        Case(
            When(Exists(GradeRecord.objects.filter(user_id=OuterRef(user_ref))), then=Value("")),
            default=Subquery(snapshot),
        ),
        Value(""),
    )


def grade_history(user: Any) -> QuerySet[GradeRecord]:
    return (
        GradeRecord.objects.filter(user_id=_user_id(user))
        .select_related("recorded_by")
        .order_by("-effective_from", "-id")
    )


# ------------------------------------------------------------------------------------------- certificates


def valid_on(day: dt.date) -> Q:
    return Q(issued_on__lte=day) & (Q(expires_on__isnull=True) | Q(expires_on__gte=day))


def valid_certificates(user: Any, day: dt.date, kinds: Iterable[str] | None = None) -> QuerySet[Certificate]:
    found = Certificate.objects.filter(valid_on(day), user_id=_user_id(user))
    if kinds is not None:
        found = found.filter(kind__in=list(kinds))
    return found


def has_valid_hv_certificate(user: Any, day: dt.date) -> bool:
    """Whether `user` holds a low-voltage electrician's certificate (the legal minimum for HV work) valid on `day`."""
    return valid_certificates(user, day, HV_KINDS).exists()


def hv_certified(user_ids: Iterable[int], day: dt.date) -> set[int]:
    """Of `user_ids`, those holding a low-voltage electrician's certificate valid on `day` (one query)."""
    found = Certificate.objects.filter(valid_on(day), kind__in=list(HV_KINDS), user_id__in=sorted(set(user_ids)))
    return set(found.values_list("user_id", flat=True))


def expiring_certificates(*, today: dt.date, days: int) -> QuerySet[Certificate]:
    """Certificates expiring from today to `days` days ahead (inclusive), soonest first."""
    return (
        Certificate.objects.filter(expires_on__gte=today, expires_on__lte=today + dt.timedelta(days=days))
        .select_related("user")
        .order_by("expires_on", "pk")
    )


def expiry_state(certificate: Certificate, today: dt.date, days: int) -> str:
    """valid / expiring (within `days`) / expired / not_yet (issued in the future), for the badges."""
    if certificate.issued_on > today:
        return "not_yet"
    if certificate.expires_on is None:
        return "valid"
    if certificate.expires_on < today:
        return "expired"
    if certificate.expires_on <= today + dt.timedelta(days=days):
        return "expiring"
    return "valid"


# ------------------------------------------------------------------------------------------ who may see whom


def technician_memberships(store_ids: Iterable[int]) -> QuerySet[Membership]:
    return Membership.objects.filter(store_id__in=sorted(store_ids), role__in=TECHNICIAN_ROLES)


def people_for(user: Any, capability: Capability = READ, store_ids: Iterable[int] | None = None) -> QuerySet[Any]:
    """The technicians of the stores where `user` holds `capability` (narrowed to `store_ids` when given)."""
    allowed = store_ids_where(user, capability)
    if store_ids is not None:
        allowed = allowed & frozenset(store_ids)
    ids = technician_memberships(allowed).values("user_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True)


def person_get_for_user_or_404(user: Any, pk: int, capability: Capability = READ) -> Any:
    """A technician `user` may see (and, to read, a technician their own records: the expiry alert links there);
    another store's person answers like a missing one."""
    person = people_for(user, capability).filter(pk=pk).select_related("staff_profile").first()
    own = capability == READ and getattr(user, "pk", None) == pk and getattr(user, "is_active", False)
    if person is None and own and technician_memberships_for(user).exists():
        person = get_user_model().objects.select_related("staff_profile").filter(pk=pk).first()
    if person is None:
        raise Http404
    return person


def stores_of(person: Any) -> list[int]:
    return sorted(set(technician_memberships_for(person).values_list("store_id", flat=True)))


def technician_memberships_for(person: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=_user_id(person), role__in=TECHNICIAN_ROLES, store__isnull=False)


# ------------------------------------------------------------------------------------------------ the pages


@dataclass
class RosterRow:
    user: Any
    name: str
    grade: str
    grade_label: str
    grade_since: dt.date | None
    hv_valid: bool
    certificates: list[tuple[Certificate, str]] = field(default_factory=list)
    training_hours: Decimal = Decimal("0")
    training_hours_year: Decimal = Decimal("0")


def store_roster(*, store_id: int, today: dt.date, alert_days: int) -> list[RosterRow]:
    """The store's technicians with their grade today (and since when), certificates with their state, and
    training hours (all time and in the last twelve months).  A handful of queries for any number of people."""
    people = list(
        get_user_model()
        .objects.filter(pk__in=technician_memberships([store_id]).values("user_id"), is_active=True)
        .select_related("staff_profile")
        .annotate(grade_today=grade_on_expression("pk", today))
        .order_by("pk")
    )
    ids = [p.pk for p in people]
    since: dict[int, dt.date] = {}
    for record in GradeRecord.objects.filter(user_id__in=ids, effective_from__lte=today).order_by(
        "user_id", "-effective_from", "-id"
    ):
        since.setdefault(record.user_id, record.effective_from)
    certificates: dict[int, list[tuple[Certificate, str]]] = {}
    for certificate in Certificate.objects.filter(user_id__in=ids).order_by("user_id", "kind", "-issued_on", "-id"):
        certificates.setdefault(certificate.user_id, []).append(
            (certificate, expiry_state(certificate, today, alert_days))
        )
    year_ago = today - dt.timedelta(days=365)
    hours: dict[int, dict[str, Any]] = {
        row["user_id"]: dict(row)
        for row in TrainingRecord.objects.filter(user_id__in=ids)
        .values("user_id")
        .annotate(total=Sum("hours"), year=Sum("hours", filter=Q(finished_on__gt=year_ago, finished_on__lte=today)))
    }
    rows = []
    for person in people:
        grade = person.grade_today or ""
        profile = getattr(person, "staff_profile", None)
        name = profile.display_name if profile is not None else person.get_username()
        own = certificates.get(person.pk, [])
        rows.append(
            RosterRow(
                user=person,
                name=name,
                grade=grade,
                grade_label=str(TechnicianGrade(grade).label) if grade else "",
                grade_since=since.get(person.pk),
                hv_valid=any(c.kind in HV_KINDS and state in ("valid", "expiring") for c, state in own),
                certificates=own,
                training_hours=hours.get(person.pk, {}).get("total") or Decimal("0"),
                training_hours_year=hours.get(person.pk, {}).get("year") or Decimal("0"),
            )
        )
    rows.sort(key=lambda r: (-GRADE_RANK.get(r.grade, 0), r.name))
    return rows


def roster_on(store_ids: Iterable[int], day: dt.date) -> QuerySet[Membership]:
    """The technicians of the stores on `day`, one membership per person and store (a technician who is also
    the foreman counts once), each annotated with `grade_on_day` and `senior` (level 3, 高级工, and above).
    Memberships have no end date: on the roster on `day` means holding the membership now, created before
    the end of that day (local time)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
    first = (
        Membership.objects.filter(user_id=OuterRef("user_id"), store_id=OuterRef("store_id"), role__in=TECHNICIAN_ROLES)
        .order_by("pk")
        .values("pk")[:1]
    )
    return (
        technician_memberships(store_ids)
        .filter(user__is_active=True, created_at__lt=end, pk=Subquery(first))
        .annotate(grade_on_day=grade_on_expression("user_id", day), person_name=F("user__staff_profile__display_name"))
        .annotate(senior=Case(When(grade_on_day__in=SENIOR_GRADES, then=Value(True)), default=Value(False)))
    )


def senior_share(*, store_ids: Iterable[int], day: dt.date) -> tuple[int, int]:
    """(senior technicians, technicians) of the stores on `day` (see `roster_on`)."""
    roster = roster_on(store_ids, day)
    return roster.filter(Q(senior=True)).count(), roster.count()
