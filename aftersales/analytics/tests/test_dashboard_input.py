"""Bad input on the dashboard pages answers like the rest of the site (404 for a person no database holds, 400
naming `period` for a period that is not one), and the pages decide "may read the group" by the API's rule: the
KPI view in every store of the group, active or not (the group's figures count them all)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from aftersales.analytics.periods import LOCAL_TZ
from aftersales.config.testing import make_store
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
HUGE = "99999999999999999999"  # beyond SQLite's 64-bit integers


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


# --------------------------------------------------------------------------------------------- ids


def test_a_staff_page_of_an_id_no_database_holds_is_a_missing_person(client, cast):
    assert _get(client, cast.mia, reverse("analytics:staff-numbers", args=[int(HUGE)])).status_code == 404
    assert _get(client, cast.mia, f"/numbers/staff/{HUGE}/").status_code == 404


@pytest.mark.parametrize("raw", [HUGE, "²", "12a", "-1"])
@pytest.mark.parametrize("cut", ["advisor", "technician"])
def test_a_person_parameter_that_is_no_id_is_a_missing_person(client, cast, raw, cut):
    drill = reverse("analytics:drilldown", args=["csat_percent"])
    trend = reverse("analytics:trend", args=["csat_percent"])
    assert _get(client, cast.mia, drill, store="SH01", **{cut: raw}).status_code == 404
    assert _get(client, cast.mia, trend, store="SH01", **{cut: raw}).status_code == 404


def test_my_numbers_with_a_person_that_is_no_id_shows_ones_own(client, cast):
    for raw in (HUGE, "²"):
        response = _get(client, cast.alice, reverse("analytics:my-numbers"), person=raw)
        assert response.status_code == 200
        assert response.context["person"] == cast.alice


# --------------------------------------------------------------------------------------------- period


def _pages(cast):
    drill = reverse("analytics:drilldown", args=["csat_percent"])
    trend = reverse("analytics:trend", args=["csat_percent"])
    return [
        (cast.mia, reverse("analytics:dashboard"), {}),
        (cast.grace, reverse("analytics:group-dashboard"), {}),
        (cast.alice, reverse("analytics:my-numbers"), {}),
        (cast.mia, reverse("analytics:staff-numbers", args=[cast.bob.pk]), {}),
        (cast.mia, drill, {"store": "SH01"}),
        (cast.mia, trend, {"store": "SH01"}),
    ]


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "1999-05", "2026-Q5", "May", "2026-05x"])
def test_a_bad_period_is_a_400_naming_period_on_every_page(client, cast, bad):
    for user, url, params in _pages(cast):
        response = _get(client, user, url, period=bad, **params)
        assert response.status_code == 400, (url, response.status_code)
        text = response.content.decode()
        assert "“period”" in text and "is not valid" in text
        assert "<script" not in text and response["Content-Type"].startswith("text/plain")


def test_the_400_names_the_reason_in_the_readers_language(client, cast):
    client.force_login(cast.mia)
    response = client.get(reverse("analytics:dashboard"), {"period": "2026-13"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.content.decode() == "The address parameter “period” is not valid: A month is 01 to 12."
    chinese = client.get(reverse("analytics:dashboard"), {"period": "2026-13"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.content.decode() == "网址参数“period”无效：月份须为 01 至 12。"


@pytest.mark.parametrize("params", [{}, {"period": ""}, {"period": "  "}])
def test_a_missing_period_still_means_the_current_month(client, cast, params):
    response = _get(client, cast.mia, reverse("analytics:dashboard"), **params)
    assert response.status_code == 200
    assert 'data-period="2026-06"' in response.content.decode()


# --------------------------------------------------------------------------------------------- the group rule


@pytest.fixture
def regional(cast):
    """A manager of both stores of g1 through store memberships (not a group manager), and g1's closed store
    NJ01 where they hold nothing."""
    user = _store_manager_of(cast, [cast.store_a, cast.store_b])
    closed = make_store(cast.group, "NJ01", "南京店")
    Store.objects.filter(pk=closed.pk).update(is_active=False)
    return user


def _store_manager_of(cast, stores):
    from aftersales.config.testing import make_user

    user = make_user("rex", Role.MANAGER, store=stores[0])
    for store in stores[1:]:
        Membership.objects.create(user=user, group=store.group, store=store, role=Role.MANAGER)
    return user


def test_the_group_pages_refuse_like_the_api_when_an_inactive_store_is_not_readable(client, cast, regional, api_token):
    api = client.get(
        "/api/v1/kpis", {"group": "g1", "period": "2026-05"}, HTTP_ACCEPT_LANGUAGE="en", **api_token(regional)
    )
    assert api.status_code == 403
    assert _get(client, regional, reverse("analytics:group-dashboard"), period="2026-05").status_code == 403
    drill = reverse("analytics:drilldown", args=["csat_percent"])
    assert _get(client, regional, drill, group="g1", period="2026-05").status_code == 403
    home = _get(client, regional, reverse("home")).content.decode()
    assert 'id="home-numbers" data-kind="store"' in home  # their store's month, not the group's
    dashboard = _get(client, regional, reverse("analytics:dashboard"), period="2026-05")
    assert dashboard.status_code == 200 and dashboard.context["may_compare"] is False


def test_the_group_manager_still_reads_the_group_with_a_closed_store(client, cast, regional, api_token):
    api = client.get(
        "/api/v1/kpis", {"group": "g1", "period": "2026-05"}, HTTP_ACCEPT_LANGUAGE="en", **api_token(cast.grace)
    )
    assert api.status_code == 200
    page = _get(client, cast.grace, reverse("analytics:group-dashboard"), period="2026-05")
    assert page.status_code == 200
    assert sorted(s.code for s in page.context["cmp"].stores) == ["HZ01", "SH01"]  # the closed store is not ranked
    assert 'id="home-numbers" data-kind="group"' in _get(client, cast.grace, reverse("home")).content.decode()


def test_a_manager_of_every_store_reads_the_group_once_all_are_readable(client, cast):
    user = _store_manager_of(cast, [cast.store_a, cast.store_b])
    assert _get(client, user, reverse("analytics:group-dashboard"), period="2026-05").status_code == 200
    assert 'id="home-numbers" data-kind="group"' in _get(client, user, reverse("home")).content.decode()
