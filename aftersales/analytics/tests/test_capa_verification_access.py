"""CAPA verification (fix of the issue-12 review): the figures are the store's KPIs, so the page and the service
need VIEW_KPIS in the CAPA's store (an advisor who reads the CAPA does not see them, whatever `?kpi=` asks), and
recording needs MANAGE_CAPA too; the months compared must have settled for the KPI (its own window:
`snapshots.kpi_settled_at`), else the page says until when verification waits and nothing is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from aftersales.analytics import capa_verification
from aftersales.analytics.periods import Period
from aftersales.analytics.snapshots import kpi_settled_at
from aftersales.analytics.tests import test_warnings_capa_verification as base
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.selectors import setting_values_for_store

pytestmark = pytest.mark.django_db
KEY, at = base.KEY, base.at
story = base.story  # the fixture: a CAPA opened in April, its action done on 20 April, now 2 September


def test_an_advisor_reading_the_capa_does_not_see_the_store_figures(client, cast, story):
    url = reverse("analytics:capa-verify", args=[story.pk])
    client.force_login(cast.alice)  # advisor of the CAPA's store: VIEW_FEEDBACK, no VIEW_KPIS
    for query in (f"?kpi={KEY}", "?kpi=csat_percent", ""):
        response = client.get(url + query)
        assert response.status_code == 403
        assert 'id="verify-figures"' not in response.content.decode()
    assert client.post(url, {"kpi": KEY}).status_code == 403
    story.refresh_from_db()
    assert story.kpi_after is None
    # The service checks the typed user itself, not only the page.
    with pytest.raises(PermissionDenied):
        capa_verification.verification_plan(capa=story, key="csat_percent", user=cast.alice)
    with pytest.raises(PermissionDenied):
        capa_verification.capa_verify_from_catalogue(capa=story, key=KEY, by=cast.alice)
    assert not capa_verification.may_record(capa=story, user=cast.alice)


def test_a_manager_of_another_store_is_refused_by_the_service(cast, story):
    with pytest.raises(PermissionDenied):
        capa_verification.verification_plan(capa=story, key=KEY, user=cast.otto)


def test_the_store_manager_sees_and_records(client, cast, story):
    client.force_login(cast.mia)
    page = client.get(reverse("analytics:capa-verify", args=[story.pk]) + f"?kpi={KEY}")
    assert page.status_code == 200 and 'id="verify-record-form"' in page.content.decode()
    assert capa_verification.may_record(capa=story, user=cast.mia)


def test_an_unsettled_after_month_waits_and_the_page_says_until_when(client, cast, story):
    # 1 June, 01:00 in Shanghai: May has closed, but a complaint received on its last evening may still be
    # acknowledged in time (the KPI's own clock): its figure settles at the end of May + the acknowledge hours.
    values = setting_values_for_store(cast.store_a)
    may = Period.parse("2026-05")
    expected = kpi_settled_at(KEY, may, values)
    assert expected > may.end
    with time_machine.travel(may.end + dt.timedelta(hours=1), tick=False):
        plan = capa_verification.verification_plan(capa=story, key=KEY, user=cast.mia)
        assert plan.after_period is None and plan.waits_until == expected
        with pytest.raises(ApplicationError) as excinfo:
            capa_verification.capa_verify_from_catalogue(capa=story, key=KEY, by=cast.mia)
        assert expected.date().isoformat()[:7] in str(excinfo.value.message)
        client.force_login(cast.mia)
        page = client.get(reverse("analytics:capa-verify", args=[story.pk]) + f"?kpi={KEY}").content.decode()
        assert 'id="verify-waits"' in page
    story.refresh_from_db()
    assert story.kpi_after is None
    # Once May has settled for this KPI, it is the month after.
    with time_machine.travel(expected + dt.timedelta(seconds=1), tick=False):
        plan = capa_verification.verification_plan(capa=story, key=KEY, user=cast.mia)
        assert str(plan.after_period) == "2026-05" and plan.waits_until is None


def test_each_kpi_waits_for_its_own_window(cast, story):
    # 20 June: the complaint figures of March and May settled long ago; the win-back rate of March (recalls
    # returning within 90 days) has not, so a verification by win-back waits and records nothing.
    with time_machine.travel(at(6, 20), tick=False):
        assert capa_verification.verification_plan(capa=story, key=KEY, user=cast.mia).before_settled
        plan = capa_verification.verification_plan(capa=story, key="win_back_rate_percent", user=cast.mia)
        assert not plan.before_settled and plan.waits_until is not None
        with pytest.raises(ApplicationError):
            capa_verification.capa_verify_from_catalogue(capa=story, key="win_back_rate_percent", by=cast.mia)


def test_the_latest_settled_month_is_chosen_not_the_latest_closed(cast, story):
    # 2 September: for the win-back rate June and July have closed but not settled (90 days); May has.
    with time_machine.travel(at(9, 2), tick=False):
        plan = capa_verification.verification_plan(capa=story, key="win_back_rate_percent", user=cast.mia)
        assert str(plan.after_period) == "2026-05" and plan.waits_until is None and plan.before_settled
        # For the acknowledgement clock (hours) August has settled already.
        later = capa_verification.verification_plan(capa=story, key=KEY, user=cast.mia)
        assert str(later.after_period) == "2026-08"


def test_the_capa_page_offers_verification_only_to_who_may_read_the_figures(client, cast, story):
    url = reverse("feedback:capa-detail", args=[story.pk])
    client.force_login(cast.alice)  # reads the CAPA, may not read the store's figures
    assert 'id="verify-from-catalogue"' not in client.get(url).content.decode()
    client.force_login(cast.mia)
    assert 'id="verify-from-catalogue"' in client.get(url).content.decode()
