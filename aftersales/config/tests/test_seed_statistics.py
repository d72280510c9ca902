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
