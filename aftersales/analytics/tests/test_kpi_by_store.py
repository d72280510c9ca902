"""`kpi_figures_by_store`: every KPI of every store in one grouped query per KPI equals the store's own
`kpi_figures`, whatever the number of stores (issue 12 part 8).  The stores carry the hand-built month of
test_kpi_hand_computed (each its own copy) plus records that cross stores (a customer of one store closing a visit
at another, a vehicle registered at one store maintained at another), and one store overrides thresholds that
enter the SQL and a target.  Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.analytics import warnings
from aftersales.analytics.catalogue import Scope
from aftersales.analytics.models import KpiSnapshot
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import known_keys, kpi_figures, kpi_figures_by_store, scope_for_store
from aftersales.analytics.selectors_dashboards import store_dashboard
from aftersales.analytics.snapshots import snapshot_refresh
from aftersales.analytics.tests.test_kpi_hand_computed import MAY, NOW, at, build_may, closed_visit, order
from aftersales.config.testing import make_customer, make_store, make_user, make_vehicle
from aftersales.organisation.choices import Role
from aftersales.organisation.models import SettingValue, Store
from aftersales.reminders.choices import ReminderKind
from aftersales.reminders.models import Reminder
from aftersales.service.choices import RepairOrderStatus as S

PERIODS = [MAY, Period.parse("2026-06"), Period.parse("2026-07"), Period.parse("2026-Q2")]
# kpi_figures_by_store for any number of stores: 2 settings queries + per KPI at most two (the waiting time's
# median, hours per order) — see kpi_figures_by_store's docstring.
BOUND = 53  # + 8 audit and SOP figures (issue 16)


def month_of(cast: Any, store: Store) -> None:
    """The hand-built May (test_kpi_hand_computed) at `store`, staffed by store A's advisors and the store's own
    technician (one running clock per technician)."""
    tom = cast.tom if store == cast.store_a else make_user(f"tech-{store.code}", Role.TECHNICIAN, store=store)
    build_may(SimpleNamespace(store_a=store, alice=cast.alice, bob=cast.bob, tom=tom))


def crossing(cast: Any, home: Store, other: Store) -> None:
    """Records whose figure depends on which store is asked: a customer of `home` closes visits at `other` (its
    repurchase and churn, not home's); a vehicle registered at `other` has its first maintenance at `home` (not
    converted for `other`); a waiting customer at `other` makes its median differ."""
    customer = make_customer(home, name="跨店")
    vehicle = make_vehicle(customer)
    closed_visit(other, at(5, 8, 15), vehicle)
    closed_visit(other, at(5, 18, 15), vehicle)
    closed_visit(home, at(12, 1, 15, year=2025), vehicle)
    registered = make_vehicle(make_customer(other, name="首保"))
    Reminder.objects.create(
        store=other,
        customer=registered.customer,
        vehicle=registered,
        kind=ReminderKind.FIRST_MAINTENANCE,
        due_key="first",
        due_on=dt.date(2026, 5, 20),
        remind_on=dt.date(2026, 5, 17),
    )
    order(home, registered, "maintenance", S.DELIVERED, at(5, 21, 9), delivered_at=at(5, 21, 12))
    order(
        other,
        vehicle,
        "repair",
        S.DELIVERED,
        at(5, 25, 9),
        waits_on_site=True,
        work_started_at=at(5, 25, 9, 17),
        ready_at=at(5, 25, 15),
        delivered_at=at(5, 25, 16),
    )


def override(store: Store, **values: int) -> None:
    for key, value in values.items():
        SettingValue.objects.create(group=store.group, store=store, key=key, value=value)


def extra_stores(cast: Any, count: int) -> list[Store]:
    stores = []
    for index in range(count):
        store = make_store(cast.group, f"X{index:02d}")
        month_of(cast, store)
        stores.append(store)
    return stores


def assert_equal_per_store(scope: Scope, stores: list[Store]) -> None:
    for period in PERIODS:
        grouped = kpi_figures_by_store(scope, period, now=NOW)
        assert sorted(grouped) == sorted(store.pk for store in stores)
        for store in stores:
            alone = kpi_figures(scope_for_store(store), period, now=NOW)
            assert set(grouped[store.pk]) == set(alone) == set(known_keys())
            different = {
                key: (grouped[store.pk][key], alone[key]) for key in alone if grouped[store.pk][key] != alone[key]
            }
            assert not different, (store.code, str(period), different)


@pytest.mark.django_db
def test_every_kpi_of_every_store_equals_the_stores_own_figures(cast: Any) -> None:
    month_of(cast, cast.store_a)
    month_of(cast, cast.store_b)
    crossing(cast, cast.store_a, cast.store_b)
    strict, lenient = extra_stores(cast, 2)
    # Thresholds that enter the SQL, and targets, overridden at two stores (each its own partition).
    override(strict, nps_promoter_from=10, comeback_window_days=20, inspection_shown_minutes=15, target_csat_percent=50)
    override(lenient, csat_satisfied_from=6, follow_up_due_hours=48, first_maintenance_grace_days=10)
    month_of(cast, cast.store_c)  # another group: never in the group's figures
    stores = [cast.store_a, cast.store_b, strict, lenient]
    assert_equal_per_store(Scope(frozenset(s.pk for s in stores)), stores)
    # The overrides did change those stores' figures (so the partitions were needed).
    grouped = kpi_figures_by_store(Scope(frozenset(s.pk for s in stores)), MAY, now=NOW)
    a, b = grouped[cast.store_a.pk], grouped[strict.pk]
    assert (a["nps"].numerator, b["nps"].numerator) == (1, 0)  # r1 (9), r5 (10) − r2 (6) / r5 alone promotes
    assert a["csat_percent"].status == "red" and b["csat_percent"].status == "green"  # same 66.67, target 50
    assert grouped[lenient.pk]["csat_percent"].numerator == 3
    # The cross-store records moved store B's figures away from store A's copy of the month.
    assert grouped[cast.store_b.pk]["repurchase_rate_percent"] != a["repurchase_rate_percent"]
    assert grouped[cast.store_b.pk]["waiting_time_minutes"].extra != a["waiting_time_minutes"].extra


@pytest.mark.django_db
def test_a_store_without_records_gets_empty_figures(cast: Any) -> None:
    month_of(cast, cast.store_a)
    stores = [cast.store_a, cast.store_b]
    assert_equal_per_store(Scope(frozenset(s.pk for s in stores)), stores)


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_stores(cast: Any, django_assert_max_num_queries: Any) -> None:
    month_of(cast, cast.store_a)
    month_of(cast, cast.store_b)
    crossing(cast, cast.store_a, cast.store_b)
    two = Scope(frozenset({cast.store_a.pk, cast.store_b.pk}))
    with django_assert_max_num_queries(BOUND), CaptureQueriesContext(connection) as with_two:
        kpi_figures_by_store(two, MAY, now=NOW)
    five_stores = [cast.store_a, cast.store_b, *extra_stores(cast, 3)]
    five = Scope(frozenset(s.pk for s in five_stores))
    with django_assert_max_num_queries(BOUND), CaptureQueriesContext(connection) as with_five:
        kpi_figures_by_store(five, MAY, now=NOW)
    assert len(with_five) == len(with_two)
    # A store overriding a threshold costs one more query for each KPI that reads it (NPS alone reads this one).
    override(five_stores[-1], nps_promoter_from=10)
    with CaptureQueriesContext(connection) as overridden:
        kpi_figures_by_store(five, MAY, now=NOW)
    assert len(overridden) == len(with_five) + 1


@pytest.mark.django_db
def test_a_narrowed_scope_is_refused(cast: Any) -> None:
    with pytest.raises(ValueError):
        kpi_figures_by_store(scope_for_store(cast.store_a).narrowed(advisor_id=cast.alice.pk), MAY, now=NOW)


def _queries(action: Any) -> int:
    """Queries of `action`, the INSERTs left out: a bulk insert is split into batches by the rows it writes
    (SQLite's limit on parameters), which is the data written, not a query per store."""
    with CaptureQueriesContext(connection) as captured:
        action()
    return sum(1 for query in captured.captured_queries if not query["sql"].startswith("INSERT"))


@pytest.mark.django_db
def test_the_group_page_the_sweep_and_the_snapshot_job_do_not_grow_with_the_stores(cast: Any, client: Any) -> None:
    month_of(cast, cast.store_a)
    month_of(cast, cast.store_b)
    client.force_login(cast.grace)

    def page() -> None:  # every figure computed (the job below stores them: both rounds alike)
        KpiSnapshot.objects.all().delete()
        assert client.get(reverse("analytics:group-dashboard"), {"period": "2026-05"}).status_code == 200

    def sweep() -> None:  # a month without figures: no warning is raised (raising one costs queries per store)
        assert warnings.warnings_sweep(now=NOW, period=Period.parse("2026-01")) == []

    def job() -> None:
        KpiSnapshot.objects.all().delete()
        assert snapshot_refresh(now=NOW) > 0

    with time_machine.travel(NOW, tick=False):
        two = [_queries(page), _queries(sweep), _queries(job)]
        extra_stores(cast, 3)
        five = [_queries(page), _queries(sweep), _queries(job)]
    assert five == two
    # The snapshot job still writes what it wrote store by store: every store's every KPI of every closed period.
    assert KpiSnapshot.objects.filter(store=cast.store_b, period="2026-05").count() == len(known_keys())
    stored = KpiSnapshot.objects.get(store=cast.store_b, period="2026-05", key="csat_percent")
    assert (stored.value, stored.numerator, stored.denominator) == (Decimal("66.67"), 2, 3)


def _previous(dashboard: Any) -> dict[str, Any]:
    return {figure.key: figure.previous for area in dashboard.areas for figure in area.figures}


@pytest.mark.django_db
def test_the_store_dashboard_reads_a_settled_previous_period_from_its_snapshots(cast: Any) -> None:
    month_of(cast, cast.store_a)
    later = at(10, 1)  # May has settled (its longest window, 90 days, + 1)
    june = Period.parse("2026-06")
    with CaptureQueriesContext(connection) as cold:
        computed = store_dashboard(store=cast.store_a, period=june, now=later)
    snapshot_refresh(now=later, store_ids=[cast.store_a.pk])
    with CaptureQueriesContext(connection) as warm:
        stored = store_dashboard(store=cast.store_a, period=june, now=later)
    assert _previous(stored) == _previous(computed)
    assert _previous(stored)["csat_percent"].numerator == 2
    assert len(warm) < len(cold) - 25  # the previous month: one read instead of a query per KPI
    # Read from the snapshot indeed: a stored figure shows (until the nightly job recomputes it).
    KpiSnapshot.objects.filter(store=cast.store_a, period="2026-05", key="csat_percent").update(
        numerator=1, value=Decimal("33.33")
    )
    assert _previous(store_dashboard(store=cast.store_a, period=june, now=later))["csat_percent"].numerator == 1
    # A KPI without a clock is read once stored after its period's end; stored before, it is computed.
    KpiSnapshot.objects.update(computed_at=at(6, 10))
    assert _previous(store_dashboard(store=cast.store_a, period=june, now=later))["csat_percent"].numerator == 1
    KpiSnapshot.objects.update(computed_at=at(5, 31, 23))
    early = store_dashboard(store=cast.store_a, period=june, now=later)
    assert _previous(early)["csat_percent"].numerator == 2
    # A KPI whose window still ran when stored (first-time fix: 30 days after May) is computed from the records.
    ftf = _previous(computed)["first_time_fix_percent"]
    KpiSnapshot.objects.update(computed_at=at(6, 10))
    KpiSnapshot.objects.filter(store=cast.store_a, period="2026-05", key="first_time_fix_percent").update(
        numerator=ftf.numerator + 7
    )
    assert _previous(store_dashboard(store=cast.store_a, period=june, now=later))["first_time_fix_percent"] == ftf
    KpiSnapshot.objects.update(computed_at=at(7, 1))
    stored_ftf = _previous(store_dashboard(store=cast.store_a, period=june, now=later))["first_time_fix_percent"]
    assert stored_ftf.numerator == ftf.numerator + 7
