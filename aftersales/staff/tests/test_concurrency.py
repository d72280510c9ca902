"""Two managers record a grade for the same technician at the same moment: both records are kept, the profile's
snapshot ends equal to the history's current grade, and the same day is never recorded twice.  Real threads on
PostgreSQL (SQLite serialises write transactions, so nothing would race there)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.organisation.models import StaffProfile
from aftersales.staff import selectors, services
from aftersales.staff.models import GradeRecord
from aftersales.staff.tests.conftest import shanghai

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
]
NOW = shanghai(2026, 6, 1, 10, 0)


def race(work, count):
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    with time_machine.travel(NOW, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def people(cast):
    second = make_user("mike", Role.MANAGER, store=cast.store_a)
    tech = make_user("ted", Role.TECHNICIAN, store=cast.store_a)
    return cast.mia, second, tech


@pytest.mark.parametrize("attempt", range(3))
def test_two_grades_at_once_leave_the_snapshot_equal_to_the_history(people, attempt):
    mia, mike, tech = people
    plan = [(mia, "senior", dt.date(2026, 5, 1)), (mike, "technician", dt.date(2026, 5, 20))]
    if attempt % 2:
        plan.reverse()
    results = race(
        lambda i: services.grade_record(person=tech, by=plan[i][0], grade=plan[i][1], effective_from=plan[i][2]), 2
    )
    assert all(isinstance(r, GradeRecord) for r in results), results
    with time_machine.travel(NOW, tick=False):
        assert selectors.current_grade(tech) == "technician"
    assert StaffProfile.objects.get(user=tech).technician_grade == "technician"


def test_the_same_day_twice_at_once_keeps_one(people):
    mia, mike, tech = people
    managers = [mia, mike]
    results = race(
        lambda i: services.grade_record(
            person=tech, by=managers[i], grade=["senior", "junior"][i], effective_from=dt.date(2026, 5, 1)
        ),
        2,
    )
    assert sorted(type(r).__name__ for r in results) == ["GradeRecord", "ValidationError"]
    refused = next(r for r in results if isinstance(r, ValidationError))
    assert list(refused.message_dict) == ["effective_from"]
    assert GradeRecord.objects.filter(user=tech).count() == 1
    kept = GradeRecord.objects.get(user=tech).grade
    assert StaffProfile.objects.get(user=tech).technician_grade == kept
