"""A stored figure is read only while it is the figure the records give (snapshots.py): its KPI's clocks had run
out when it was stored, and none of its records changed since.  Each test tampers with a stored row, so a figure
that was read from the snapshot shows the tampered numerator and one computed from the records the true one.
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.analytics.catalogue import Scope
from aftersales.analytics.models import KpiSnapshot
from aftersales.analytics.selectors import known_keys, kpi_figures, kpi_figures_by_store, scope_for_store
from aftersales.analytics.snapshots import CHILD_SOURCES, SOURCES, snapshot_refresh
from aftersales.analytics.tests.test_kpi_hand_computed import MAY, at, build_may, order
from aftersales.config.testing import make_customer, make_vehicle
from aftersales.feedback.models import SurveyResponse
from aftersales.organisation.services import settings_update
from aftersales.service.choices import RepairOrderStatus as S

KEY = "csat_percent"  # no clock: settled at May's end
STORED_AT = at(6, 5)
LATER = at(6, 20)


def _csat(cast: Any, now: Any = LATER) -> Any:
    return kpi_figures(scope_for_store(cast.store_a), MAY, keys=[KEY], now=now)[KEY]


@pytest.fixture
def stored(cast: Any) -> Any:
    """May built, stored on 5 June, the stored CSAT numerator tampered to 1 (the records give 2 of 3)."""
    with time_machine.travel(at(5, 31, 12), tick=False):
        build_may(cast)
    assert snapshot_refresh(now=STORED_AT, store_ids=[cast.store_a.pk]) > 0
    KpiSnapshot.objects.filter(store=cast.store_a, period=str(MAY), key=KEY).update(numerator=1, value=Decimal("33.33"))
    return cast


@pytest.mark.django_db
def test_an_untouched_settled_figure_is_read_from_its_snapshot(stored: Any) -> None:
    assert _csat(stored).numerator == 1
    by_store = kpi_figures_by_store(Scope(frozenset({stored.store_a.pk})), MAY, keys=[KEY], now=LATER)
    assert by_store[stored.store_a.pk][KEY].numerator == 1
    assert kpi_figures(scope_for_store(stored.store_a), MAY, keys=[KEY], now=LATER, stored=False)[KEY].numerator == 2


@pytest.mark.django_db
def test_a_record_of_the_period_saved_after_the_snapshot_makes_it_computed(stored: Any) -> None:
    response = SurveyResponse.objects.filter(store=stored.store_a).order_by("pk").first()
    assert response is not None
    with time_machine.travel(at(6, 10), tick=False):
        response.save()
    assert _csat(stored).numerator == 2  # computed from the records
    by_store = kpi_figures_by_store(Scope(frozenset({stored.store_a.pk})), MAY, keys=[KEY], now=LATER)
    assert by_store[stored.store_a.pk][KEY].numerator == 2
    # The nightly job recomputes the stale snapshot: read again, now the records' figure.
    assert snapshot_refresh(now=at(6, 21), store_ids=[stored.store_a.pk]) > 0
    row = KpiSnapshot.objects.get(store=stored.store_a, period=str(MAY), key=KEY)
    assert (row.numerator, row.computed_at) == (2, at(6, 21))


@pytest.mark.django_db
def test_a_record_created_after_the_period_does_not_make_it_computed(stored: Any) -> None:
    vehicle = make_vehicle(make_customer(stored.store_a, name="六"))
    with time_machine.travel(at(6, 10), tick=False):  # a June order, entered after the snapshot
        order(stored.store_a, vehicle, "maintenance", S.IN_PROGRESS, at(6, 10))
    assert _csat(stored).numerator == 1
    # One entered a few hours after May's end may belong to May (LATE_ENTRY): changed after the snapshot, it counts.
    with time_machine.travel(at(6, 1, 1), tick=False):
        early = order(stored.store_a, vehicle, "maintenance", S.IN_PROGRESS, at(5, 31, 20))
    assert _csat(stored).numerator == 1  # entered before the snapshot: it was in it
    with time_machine.travel(at(6, 12), tick=False):
        early.save()
    assert _csat(stored).numerator == 2


@pytest.mark.django_db
def test_a_setting_changed_after_the_snapshot_makes_it_computed(stored: Any) -> None:
    with time_machine.travel(at(6, 10), tick=False):
        settings_update(group=stored.store_a.group, store=None, changes={"target_csat_percent": "92"}, by=stored.grace)
    assert _csat(stored).numerator == 2


@pytest.mark.django_db
def test_a_figure_stored_before_its_window_closed_is_computed(stored: Any) -> None:
    key = "first_time_fix_percent"  # settles 30 days after May's end
    true = kpi_figures(scope_for_store(stored.store_a), MAY, keys=[key], now=LATER, stored=False)[key]
    KpiSnapshot.objects.filter(store=stored.store_a, period=str(MAY), key=key).update(numerator=true.numerator + 5)
    assert kpi_figures(scope_for_store(stored.store_a), MAY, keys=[key], now=LATER)[key] == true


@pytest.mark.django_db
def test_the_sources_cover_every_table_a_kpi_reads(stored: Any) -> None:
    """A KPI reading a table that is not a source could be served a stale figure: every table in the SQL of
    every KPI is a source, a child written with one, or a table of reference data."""
    with CaptureQueriesContext(connection) as captured:
        kpi_figures(scope_for_store(stored.store_a), MAY, keys=known_keys(), now=LATER, stored=False)
    tables = {t for q in captured.captured_queries for t in re.findall(r'(?:FROM|JOIN) "(\w+)"', q["sql"])}
    sources = {apps.get_model(label)._meta.db_table for label, _lookup in SOURCES}
    children = {apps.get_model(label)._meta.db_table for label in CHILD_SOURCES}
    reference = {
        "organisation_store",
        "organisation_dealergroup",
        "organisation_settingvalue",
        "analytics_evaluationmodel",  # CSI's weights: its updated_at is checked with the settings'
        "analytics_evaluationnode",
        "customers_customer",  # counted through their orders (churn, repurchase)
        "customers_vehicle",  # its home store (first-maintenance conversion): see snapshots.py
        "service_concerncategory",
        "service_slot",  # a booking's slot: its start never changes (a reschedule saves the appointment)
        "feedback_surveyitem",
        "parts_movement",  # the stock ledger is append-only and stamped when written: it never reaches back
        "parts_part",  # the core flag: a stored month keeps the core list it was computed with
        "auth_user",  # the technicians of the roster (their memberships and grade records are sources)
        "organisation_staffprofile",  # the grade of a person without history: changed only with a grade record
        # SOP acknowledgement: a closed period's figure reads only what happened before its end (asked, acknowledged,
        # published, effective), which a later save cannot change; the staff's memberships are a source.
        "standards_acknowledgement",
        "standards_procedureversion",
        "standards_procedure",
    }
    assert tables - sources - children - reference == set()
    assert tables & sources  # the capture did see the sources
