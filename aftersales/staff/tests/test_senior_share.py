"""senior_technician_share_percent from the grade history, hand-computed (KPIS.md: technicians on the period's
last day; senior = level 3, 高级工, and above)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_drilldown, kpi_figures, scope_for_group, scope_for_store
from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, StaffProfile
from aftersales.staff import selectors
from aftersales.staff.tests.conftest import frozen, grade, shanghai

pytestmark = pytest.mark.django_db
D = dt.date
KEY = "senior_technician_share_percent"
MAY = Period("month", 2026, 5)
JUNE = Period("month", 2026, 6)


@pytest.fixture
def team(cast):
    """Store A: t1 promoted to senior on the last day of May, t2 senior, t3 senior only from June 1, t4 level 2
    and also the foreman (counted once), t5 hired June 10, t6 without history but a senior-technician profile,
    t7 never graded, t8 left (inactive); store B: b1 senior; an advisor of A with a grade is no technician."""
    a, b, mia = cast.store_a, cast.store_b, cast.mia
    with frozen(2026, 1, 5, 9, 0):
        people = {
            name: make_user(name, Role.TECHNICIAN, store=a) for name in ("t1", "t2", "t3", "t4", "t6", "t7", "t8")
        }
        Membership.objects.create(user=people["t4"], group=a.group, store=a, role=Role.FOREMAN)
        people["b1"] = make_user("b1", Role.TECHNICIAN, store=b)
        people["bmgr"] = make_user("bmgr", Role.MANAGER, store=b)
        people["adv"] = make_user("adv", Role.ADVISOR, store=a)
    with frozen(2026, 6, 10, 9, 0):
        people["t5"] = make_user("t5", Role.TECHNICIAN, store=a)
    with frozen(2026, 6, 20, 9, 0):
        grade(people["t1"], mia, "junior", D(2024, 1, 1))
        grade(people["t1"], mia, "senior", D(2026, 5, 31))
        grade(people["t2"], mia, "senior", D(2025, 1, 1))
        grade(people["t2"], mia, "technician", D(2026, 6, 15))
        grade(people["t3"], mia, "intermediate", D(2025, 1, 1))
        grade(people["t3"], mia, "senior", D(2026, 6, 1))
        grade(people["t4"], mia, "technician", D(2020, 1, 1))
        grade(people["t5"], mia, "junior", D(2026, 6, 10))
        grade(people["t8"], mia, "senior", D(2020, 1, 1))
        grade(people["b1"], people["bmgr"], "senior", D(2021, 1, 1))
    StaffProfile.objects.filter(user=people["t6"]).update(technician_grade="senior_technician")
    StaffProfile.objects.filter(user=people["adv"]).update(technician_grade="senior")
    get_user_model().objects.filter(pk=people["t8"].pk).update(is_active=False)
    return people


def figure(scope, period, now):
    return kpi_figures(scope, period, keys=[KEY], now=now, stored=False)[KEY]


def test_may_in_store_a(cast, team):
    result = figure(scope_for_store(cast.store_a), MAY, shanghai(2026, 6, 20, 12, 0))
    # roster t1 t2 t3 t4 t6 t7 (t5 not hired yet, t8 inactive); senior t1 (from May 31), t2, t4, t6 (profile)
    assert (result.value, result.numerator, result.denominator) == (Decimal("66.67"), 4, 6)
    assert result.target == Decimal("50")
    assert selectors.senior_share(store_ids=[cast.store_a.pk], day=D(2026, 5, 31)) == (4, 6)
    assert selectors.senior_share(store_ids=[cast.store_a.pk], day=D(2026, 5, 30)) == (3, 6)  # t1 still junior
    records = kpi_drilldown(KEY, scope_for_store(cast.store_a), MAY, now=shanghai(2026, 6, 20, 12, 0))
    names = {row.person_name: row.meets for row in records}
    assert names == {"T1": True, "T2": True, "T3": False, "T4": True, "T6": True, "T7": False}


def test_june_while_running_reads_today_and_the_group_counts_records(cast, team):
    now = shanghai(2026, 6, 20, 12, 0)
    result = figure(scope_for_store(cast.store_a), JUNE, now)
    # on June 20: t1 t2 (level 2) t3 t4 t6 senior; t5 junior, t7 ungraded
    assert (result.value, result.numerator, result.denominator) == (Decimal("71.43"), 5, 7)
    group = figure(scope_for_group(cast.group), MAY, now)
    assert (group.numerator, group.denominator) == (5, 7)  # store A's 4 of 6 and b1


def test_a_period_before_anyone_was_hired_has_no_figure(cast, team):
    result = figure(scope_for_store(cast.store_a), Period("month", 2025, 12), shanghai(2026, 6, 20, 12, 0))
    assert (result.value, result.denominator) == (None, 0)
