"""Store B's technician for the web isolation sweep (tests/test_web_isolation.py merges this module): another
store's technician's page answers 404 like a missing one, and recording a grade there writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aftersales.config.testing import make_user
from aftersales.core import clock
from aftersales.organisation.choices import Role
from aftersales.staff import services
from aftersales.staff.models import Certificate, GradeRecord, TrainingRecord

OBJECTS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "staff:person": lambda o: [o["staff_technician"].pk],
}
PUBLIC_LINK_PAGES: set[str] = set()
POST_FIELDS: dict[str, Any] = {"grade-grade": "senior_technician", "grade-effective_from": "2026-01-01"}


def build(cast: Any, objects: dict[str, Any]) -> dict[str, Any]:
    technician = make_user("hz-staff-tech", Role.TECHNICIAN, store=cast.store_b)
    manager = make_user("hz-staff-manager", Role.MANAGER, store=cast.store_b)
    services.grade_record(
        person=technician, by=manager, grade="junior", effective_from=clock.today() - dt.timedelta(days=30)
    )
    return {"staff_technician": technician}


def snapshot() -> tuple[Any, ...]:
    return (
        list(GradeRecord.objects.order_by("id").values_list("user_id", "grade", "effective_from")),
        Certificate.objects.count(),
        TrainingRecord.objects.count(),
    )
