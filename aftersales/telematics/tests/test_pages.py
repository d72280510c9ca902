"""The vehicle's connected-car page, the staff list of recent alerts and the rule table, through the test client."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from aftersales.telematics.models import AlertRule, VehicleAlert
from aftersales.telematics.tests.conftest import event, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the texts compared are the English ones


@pytest.fixture
def alerted(client, fleet):
    post(
        client,
        fleet.headers,
        [
            event(fleet.ev, "p-1", soc_pct=7, odometer_km=12345, dtcs=["P0A80"]),
            event(fleet.ev, "p-2", alarm_level=3, alarm_flags=["insulation"], insulation_resistance_kohm=20),
        ],
    )
    return fleet


def test_the_vehicle_page_shows_its_events_and_the_alerts_with_their_rule(client, alerted):
    client.force_login(alerted.cast.tom)  # a technician sees the workshop: the page too
    html = client.get(reverse("telematics:vehicle", args=[alerted.ev.pk])).content.decode()
    assert "沪AD12345" in html and "P0A80" in html and "12345.0" in html
    for alert in VehicleAlert.objects.all():
        assert f'id="alert-{alert.pk}"' in html and str(alert.rule) in html and str(alert.detail) in html
    assert "Insulation fault" in html and "consented" in html
    assert "31.2" not in html  # no position on the page
    chinese = client.get(reverse("telematics:vehicle", args=[alerted.ev.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "已产生的报警" in chinese.content.decode() and "SOC 7.0%（低于 10%）" in chinese.content.decode()


def test_a_vehicle_without_consent_says_so(client, fleet):
    client.force_login(fleet.cast.alice)
    html = client.get(reverse("telematics:vehicle", args=[fleet.refused.pk])).content.decode()
    assert "no consent" in html and "No event received" in html


def test_another_stores_staff_do_not_find_the_vehicle(client, alerted):
    client.force_login(alerted.cast.carol)  # store B's advisor: the owner deals only with store A
    assert client.get(reverse("telematics:vehicle", args=[alerted.ev.pk])).status_code == 404
    client.force_login(alerted.cast.dan)  # the driver has no workshop
    assert client.get(reverse("telematics:vehicle", args=[alerted.ev.pk])).status_code == 404


def test_the_alert_list_shows_the_stores_alerts_only(client, alerted):
    client.force_login(alerted.cast.alice)
    html = client.get(reverse("telematics:alerts")).content.decode()
    assert html.count('id="alert-') == VehicleAlert.objects.count() == 4
    assert client.get(reverse("telematics:alerts") + "?open=1").status_code == 200
    client.force_login(alerted.cast.carol)
    assert 'id="alert-' not in client.get(reverse("telematics:alerts")).content.decode()
    client.force_login(alerted.cast.dan)
    assert client.get(reverse("telematics:alerts")).status_code == 403


def test_a_manager_changes_a_rule_on_the_page_and_an_advisor_may_not(client, cast):
    client.force_login(cast.mia)
    page = client.get(reverse("telematics:rules"))
    assert page.status_code == 200
    rule = AlertRule.objects.get(group=cast.group, kind="battery_low")
    data = {"rule": rule.pk, "kind": "battery_low", "threshold": "20", "action": "alert", "is_active": "on"}
    assert client.post(reverse("telematics:rules"), data).status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == Decimal(20)
    bad = client.post(reverse("telematics:rules"), {**data, "threshold": "250"})
    assert bad.status_code == 400 and "between" in bad.content.decode()
    client.force_login(cast.alice)
    assert client.get(reverse("telematics:rules")).status_code == 200
    assert client.post(reverse("telematics:rules"), {**data, "threshold": "5"}).status_code == 403
    rule.refresh_from_db()
    assert rule.threshold == Decimal(20)
