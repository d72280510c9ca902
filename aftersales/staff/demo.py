"""Demo staff records: each technician's grade history (hired at a lower grade, promoted up to the grade the
profile holds), the HV electrician's certificate for the senior grades and the foremen (one of the demo
technician's expiring in twelve days), some OEM high-voltage tiers, training courses, and the first expiry
sweep.  The technicians' memberships are dated back to the day they were hired, so the senior share of past
months reads the history as it was."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from aftersales.organisation.choices import GRADE_RANK, TechnicianGrade
from aftersales.organisation.models import Membership, StaffProfile, Store
from aftersales.staff import selectors, services
from aftersales.staff.choices import CertificateKind, TrainingResult
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord

LADDER = list(TechnicianGrade.values)  # junior … senior_technician
ISSUERS = {
    CertificateKind.HV_ELECTRICIAN: "上海市应急管理局",
    CertificateKind.OEM_HV_1: "上汽大众技术培训中心",
    CertificateKind.OEM_HV_2: "上汽大众技术培训中心",
    CertificateKind.OEM_HV_3: "上汽大众技术培训中心",
}
COURSES = (
    ("新能源汽车高压安全操作", Decimal("16")),
    ("动力电池包拆装与检测", Decimal("24")),
    ("ADAS 标定实操", Decimal("8")),
    ("发动机电控系统诊断", Decimal("12")),
    ("车身电气网络（CAN/LIN）故障诊断", Decimal("16")),
    ("空调系统维修与冷媒回收", Decimal("8")),
    ("服务流程与客户沟通", Decimal("4")),
)


def _years_ago(today: dt.date, years: float) -> dt.date:
    return today - dt.timedelta(days=int(years * 365.25))


def seed_staff(*, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date) -> dict[str, int]:
    """Grade histories, certificates and training for every technician and foreman of the demo stores."""
    technicians = (
        get_user_model()
        .objects.filter(pk__in=selectors.technician_memberships([s.pk for s in stores]).values("user_id"))
        .select_related("staff_profile")
        .order_by("pk")
    )
    demo_technician = users.get("technician")
    grades: list[GradeRecord] = []
    certificates: list[Certificate] = []
    training: list[TrainingRecord] = []
    number = 0
    for person in technicians:
        profile = getattr(person, "staff_profile", None)
        final = (profile.technician_grade if profile else "") or TechnicianGrade.JUNIOR
        steps = LADDER[: LADDER.index(final) + 1]
        hired = _years_ago(today, rng.uniform(1.5, 4.0) + 2.5 * (len(steps) - 1))
        # The last promotion within the last 3 to 18 months (so the senior share moves over the demo's year).
        last = today - dt.timedelta(days=rng.randint(90, 540)) if len(steps) > 1 else hired
        days = [hired]
        for index in range(1, len(steps)):
            span = (last - hired).days
            days.append(hired + dt.timedelta(days=span * index // (len(steps) - 1)))
        for grade, day in zip(steps, days, strict=True):
            grades.append(
                GradeRecord(
                    user=person,
                    grade=grade,
                    effective_from=day,
                    evidence=f"ZY{day.year}{rng.randint(100000, 999999)}",
                    note="入职定级" if day == hired else "技能等级晋升",
                )
            )
        Membership.objects.filter(user=person, store__in=stores).update(
            created_at=dt.datetime.combine(hired, dt.time(9), tzinfo=dt.UTC)
        )
        senior = GRADE_RANK[final] >= GRADE_RANK[TechnicianGrade.SENIOR]
        foreman = Membership.objects.filter(user=person, role="foreman").exists()
        if senior or foreman or rng.random() < 0.25:
            number += 1
            if person == demo_technician:  # the demo technician's certificate is due for renewal soon
                expires = today + dt.timedelta(days=12)
            else:
                expires = today + dt.timedelta(days=rng.randint(60, 6 * 365 - 60))
            issued = expires - dt.timedelta(days=6 * 365)
            certificates.append(
                Certificate(
                    user=person,
                    kind=CertificateKind.HV_ELECTRICIAN,
                    number=f"T31{rng.randint(10**14, 10**15 - 1)}",
                    issuer=ISSUERS[CertificateKind.HV_ELECTRICIAN],
                    issued_on=max(issued, hired),
                    expires_on=expires,
                )
            )
            tier = min(3, max(1, GRADE_RANK[final] - 2))
            kind = {1: CertificateKind.OEM_HV_1, 2: CertificateKind.OEM_HV_2, 3: CertificateKind.OEM_HV_3}[tier]
            oem_issued = today - dt.timedelta(days=rng.randint(30, 700))
            certificates.append(
                Certificate(
                    user=person,
                    kind=kind,
                    number=f"SVW-HV{tier}-{number:04d}",
                    issuer=ISSUERS[kind],
                    issued_on=oem_issued,
                    expires_on=oem_issued + dt.timedelta(days=2 * 365),
                )
            )
        for course, hours in rng.sample(COURSES, rng.randint(2, 4)):
            finished = today - dt.timedelta(days=rng.randint(10, 900))
            result = TrainingResult.FAILED if rng.random() < 0.08 else TrainingResult.PASSED
            training.append(
                TrainingRecord(
                    user=person,
                    course=course,
                    hours=hours,
                    finished_on=max(finished, hired),
                    result=result,
                    score=rng.randint(52, 59) if result == TrainingResult.FAILED else rng.randint(70, 98),
                )
            )
    GradeRecord.objects.bulk_create(grades)
    Certificate.objects.bulk_create(certificates)
    TrainingRecord.objects.bulk_create(training)
    for person in technicians:  # the profile's snapshot is the history's grade today (unchanged by design)
        StaffProfile.objects.filter(user=person).update(technician_grade=selectors.grade_on(person, today))
    alerts = services.certificate_expiry_sweep(today=today)
    return {
        "grades": len(grades),
        "certificates": len(certificates),
        "training": len(training),
        "alerts": alerts.alerts,
    }
