"""A CAPA verified from the KPI catalogue (issue 12 part 5): before = the month before it was opened, after = the
latest settled month after its actions were done, both equal to the catalogue's figures for the CAPA's store; the
figures are stored through feedback's service, typed numbers are refused for a catalogue KPI, old typed data stays
readable, and the CAPA closes with them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales.analytics import capa_verification
from aftersales.analytics.periods import Period
from aftersales.analytics.selectors import kpi_figures, scope_for_store
from aftersales.config.testing import make_customer
from aftersales.core.exceptions import ApplicationError
from aftersales.core.models import AuditEntry
from aftersales.feedback import services
from aftersales.feedback.models import Capa

KEY = "complaint_acknowledged_in_time_percent"
UTC = dt.UTC


def at(month: int, day: int, hour: int = 2) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=UTC)  # 10:00 in Shanghai


def complaint(cast, customer, *, acknowledge: bool):
    made = services.complaint_log(
        store=cast.store_a,
        customer=customer,
        channel="phone",
        category="attitude",
        priority="general",
        description="等了很久没人理",
        by=cast.alice,
    )
    if acknowledge:
        services.complaint_acknowledge(complaint=made, by=cast.alice)
    return made


@pytest.fixture
def story(cast):
    """March: two complaints, one acknowledged in time (50 %).  10 April: a CAPA opened; its action done on
    20 April.  May: two complaints, both acknowledged (100 %).  Now: 3 June (May's acknowledgement figure has settled:
    its end + the acknowledge hours)."""
    with time_machine.travel(at(3, 2), tick=False):
        customer = make_customer(cast.store_a, by=cast.mia)
    for day, ack in ((3, True), (4, False)):
        with time_machine.travel(at(3, day), tick=False):
            complaint(cast, customer, acknowledge=ack)
    with time_machine.travel(at(4, 10), tick=False):
        capa = services.capa_open(
            store=cast.store_a,
            by=cast.mia,
            title="投诉响应慢",
            cluster_category="attitude",
            cluster_month=dt.date(2026, 3, 1),
        )
        services.capa_transition(capa=capa, to="analysing", by=cast.mia)
        services.capa_update(capa=capa, by=cast.mia, root_cause="No one watches the complaint queue.")
        action = services.capa_action_add(
            capa=capa,
            by=cast.mia,
            description="Queue on the desk screen",
            owner=cast.bob,
            due_date=dt.date(2026, 4, 30),
        )
        services.capa_transition(capa=capa, to="acting", by=cast.mia)
    with time_machine.travel(at(4, 20), tick=False):
        services.capa_action_done(action=action, by=cast.bob)
        services.capa_transition(capa=capa, to="verifying", by=cast.mia)
    for day in (5, 6):
        with time_machine.travel(at(5, day), tick=False):
            complaint(cast, customer, acknowledge=True)
    with time_machine.travel(at(6, 3), tick=False):
        yield capa


def test_the_periods_are_the_month_before_opening_and_the_latest_settled_month_after_the_actions(cast, story):
    plan = capa_verification.verification_plan(capa=story, key=KEY, user=cast.mia)
    assert (str(plan.before_period), str(plan.after_period)) == ("2026-03", "2026-05")


def test_the_recorded_figures_equal_the_catalogues(client, cast, story):
    scope = scope_for_store(cast.store_a)
    before = kpi_figures(scope, Period.parse("2026-03"), keys=[KEY])[KEY]
    after = kpi_figures(scope, Period.parse("2026-05"), keys=[KEY])[KEY]
    assert (before.numerator, before.denominator, before.value) == (1, 2, Decimal("50.00"))
    assert (after.numerator, after.denominator, after.value) == (2, 2, Decimal("100.00"))

    client.force_login(cast.mia)
    page = client.get(reverse("analytics:capa-verify", args=[story.pk]) + f"?kpi={KEY}")
    assert page.status_code == 200
    assert 'id="verify-record-form"' in page.content.decode()
    response = client.post(reverse("analytics:capa-verify", args=[story.pk]), {"kpi": KEY})
    assert response.status_code == 302
    story.refresh_from_db()
    assert (story.kpi_key, story.kpi_before, story.kpi_after) == (KEY, before.value, after.value)
    assert (story.kpi_before_period, story.kpi_after_period) == ("2026-03", "2026-05")
    assert AuditEntry.objects.filter(action="capa.kpi_verify", object_id=str(story.pk)).exists()
    # The CAPA page shows the catalogue's figures and closes with them and the procedure change.
    detail = client.get(reverse("feedback:capa-detail", args=[story.pk])).content.decode()
    assert 'id="kpi-from-catalogue"' in detail and "2026-03" in detail
    services.capa_update(capa=story, by=cast.mia, procedure_change="The desk screen shows the complaint queue.")
    services.capa_transition(capa=story, to="closed", by=cast.mia)


def test_typed_figures_are_refused_for_a_catalogue_kpi(cast, story):
    capa_verification.capa_verify_from_catalogue(capa=story, key=KEY, by=cast.mia)
    story.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        services.capa_update(capa=story, by=cast.mia, kpi_before="10", kpi_after="99")
    assert set(excinfo.value.message_dict) == {"kpi_before", "kpi_after"}
    # A typed name that is a catalogue KPI is refused too (verify it from the catalogue instead).
    other = Capa.objects.create(
        store=cast.store_a, title="x", cluster_category="price", cluster_month=dt.date(2026, 3, 1)
    )
    with pytest.raises(ValidationError) as excinfo:
        services.capa_update(capa=other, by=cast.mia, kpi_name="Complaints acknowledged in time")
    assert "kpi_name" in excinfo.value.message_dict


def test_an_old_typed_verification_stays_readable(client, cast):
    old = Capa.objects.create(
        store=cast.store_a,
        title="旧的",
        cluster_category="price",
        cluster_month=dt.date(2025, 3, 1),
        kpi_name="Complaints in this category per month",
        kpi_before=Decimal("12"),
        kpi_after=Decimal("4"),
    )
    client.force_login(cast.mia)
    page = client.get(reverse("feedback:capa-detail", args=[old.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Complaints in this category per month" in page and "typed by hand" in page


def test_without_a_closed_month_after_the_actions_nothing_is_recorded(cast, story):
    with time_machine.travel(at(5, 20), tick=False):  # May not over yet
        plan = capa_verification.verification_plan(capa=story, key=KEY, user=cast.mia)
        assert plan.after_period is None
        with pytest.raises(ApplicationError):
            capa_verification.capa_verify_from_catalogue(capa=story, key=KEY, by=cast.mia)


def test_only_a_capa_manager_of_its_store_records_it(client, cast, story):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        capa_verification.capa_verify_from_catalogue(capa=story, key=KEY, by=cast.bob)
    client.force_login(cast.carol)
    assert client.get(reverse("analytics:capa-verify", args=[story.pk])).status_code == 404
