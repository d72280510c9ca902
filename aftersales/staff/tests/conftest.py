"""Fixtures of the staff tests: the service tests' shop (store A: a senior and a junior technician, a foreman,
the manager mia) re-exported, and small helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    SHANGHAI,
    console_outbox,
    frozen,
    media_root,
    shanghai,
    shop,
)
from aftersales.staff import services

__all__ = ["SHANGHAI", "frozen", "shanghai", "hv_certificate", "grade"]


def grade(person: Any, by: Any, value: str, day: dt.date, **fields: Any) -> Any:
    return services.grade_record(person=person, by=by, grade=value, effective_from=day, **fields)


def hv_certificate(person: Any, by: Any, *, issued: dt.date, expires: dt.date | None, number: str = "T3101") -> Any:
    return services.certificate_record(
        person=person,
        by=by,
        kind="hv_electrician",
        number=number,
        issuer="上海市应急管理局",
        issued_on=issued,
        expires_on=expires,
    )
