"""`aftersales seed` leaves PostgreSQL's planner with statistics of what it inserted (docs/performance.md)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from aftersales.service.models import EstimateLine, RepairOrderEvent

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE after the seed is for PostgreSQL")
def test_the_seed_analyses_the_tables_it_filled():
    call_command(
        "seed",
        *("--stores", "1", "--customers", "30", "--months", "3", "--today", "2026-06-30", "--no-progress"),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN (%s, %s)",
            [RepairOrderEvent._meta.db_table, EstimateLine._meta.db_table],
        )
        planned = dict(cursor.fetchall())
    # A table never analysed plans with -1 (unknown); ANALYZE of a small table counts every row.
    assert planned[RepairOrderEvent._meta.db_table] == RepairOrderEvent.objects.count() > 0
    assert planned[EstimateLine._meta.db_table] == EstimateLine.objects.count() > 0


def test_the_demo_gives_the_service_kpis_realistic_figures():
    """The facts the KPIs read are in the demo: waiting customers' work starts soon, comebacks are linked with the
    earlier order's concern, the job clock gives an efficiency, new cars' first maintenance falls due and is done."""
    import datetime as dt

    from aftersales.analytics import selectors
    from aftersales.analytics.periods import Period
    from aftersales.organisation.models import Store
    from aftersales.service.models import JobClockSegment, RepairOrder

    call_command(
        "seed",
        *("--stores", "1", "--customers", "300", "--months", "10", "--today", "2026-06-30", "--no-progress"),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    scope = selectors.scope_for_store(Store.objects.get())
    now = dt.datetime(2026, 6, 30, 3, 0, tzinfo=dt.UTC)
    figures = selectors.kpi_figures(scope, Period.parse("2026-Q1"), now=now)
    waiting = figures["waiting_time_minutes"]
    assert waiting.denominator >= 20 and 15 <= waiting.value <= 45, waiting
    assert figures["efficiency"].denominator > 0 and 90 <= figures["efficiency"].value <= 135
    assert figures["first_maintenance_conversion_percent"].denominator >= 10
    assert 60 <= figures["first_maintenance_conversion_percent"].value < 100
    comebacks = RepairOrder.objects.filter(comeback_of__isnull=False).select_related("comeback_of")
    assert comebacks.exists() and figures["comeback_rate_percent"].denominator > 0
    for order in comebacks:
        assert order.vehicle_id == order.comeback_of.vehicle_id
        assert order.concern_category_id == order.comeback_of.concern_category_id
        assert order.comeback_of.delivered_at < order.arrived_at <= order.comeback_of.delivered_at + dt.timedelta(30)
    assert comebacks.filter(comeback_confirmed_at__isnull=False).count() > comebacks.count() / 2
    segments = JobClockSegment.objects.select_related("line__estimate__order")
    assert segments.exists()
    for segment in segments:
        order = segment.line.estimate.order
        assert segment.technician_id == order.technician_id
        assert order.work_started_at <= segment.started_at <= (segment.ended_at or segment.started_at)
