"""The rules: one alert per vehicle, rule and episode (not one per event), the inbox of the store's advisors and
managers, the owner's booking suggestion, the level-3 alarm's rescue lead, backlog events that open nothing, the
sweep that closes an episode, and the rule table a manager edits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.core.models import AuditEntry
from aftersales.messaging.choices import Purpose
from aftersales.messaging.models import OutboxMessage
from aftersales.notifications.models import InboxItem
from aftersales.rescue.models import RescueRequest
from aftersales.telematics import services
from aftersales.telematics.choices import RuleAction, RuleKind
from aftersales.telematics.models import AlertRule, VehicleAlert, VehicleEvent
from aftersales.telematics.tests.conftest import event, post

pytestmark = pytest.mark.django_db


def alerts(kind: str) -> list[VehicleAlert]:
    return list(VehicleAlert.objects.filter(kind=kind).order_by("pk"))


def test_a_low_battery_raises_one_alert_per_episode_to_the_stores_advisors_and_managers(client, fleet):
    cast = fleet.cast
    events = [event(fleet.ev, f"b-{i}", minutes_ago=30 - i, soc_pct=9 - i * 0.5) for i in range(5)]
    assert post(client, fleet.headers, events).json()["accepted"] == 5
    [alert] = alerts(RuleKind.BATTERY_LOW)
    assert alert.events_count == 5 and alert.is_open and alert.store == cast.store_a
    assert str(alert.detail).startswith("State of charge 9.0 %")
    recipients = set(InboxItem.objects.filter(related_id=str(alert.pk)).values_list("recipient__username", flat=True))
    assert recipients == {"alice", "bob", "mia"}  # store A's advisors and manager; not the technician, not store B
    item = InboxItem.objects.filter(related_id=str(alert.pk)).first()
    assert "/telematics/vehicles/" in item.url
    # Each language its own words, whatever the language of the call that raised it.
    assert "State of charge 9.0 %" in item.text_en and "Battery low" in item.text_en
    assert "SOC 9.0%（低于 10%）" in item.text_zh_hans and "车联网报警" in item.title_zh_hans
    # More low readings, sent again or new: still the same alert; a normal reading does not open anything.
    post(client, fleet.headers, events + [event(fleet.ev, "b-9", soc_pct=60), event(fleet.ev, "b-10", soc_pct=8)])
    assert len(alerts(RuleKind.BATTERY_LOW)) == 1 and alerts(RuleKind.BATTERY_LOW)[0].events_count == 6
    assert InboxItem.objects.count() == 3


def test_after_the_episode_window_a_new_alert_opens(client, fleet, clock_now):
    post(client, fleet.headers, [event(fleet.ev, "w-1", soc_pct=5)])
    clock_now.shift(dt.timedelta(hours=25))  # the default window is 24 hours
    post(client, fleet.headers, [event(fleet.ev, "w-2", minutes_ago=-25 * 60 + 1, soc_pct=6)])
    first, second = alerts(RuleKind.BATTERY_LOW)
    assert first.cleared_at is not None and second.is_open
    assert InboxItem.objects.count() == 6


def test_the_sweep_closes_a_quiet_episode(client, fleet, clock_now):
    post(client, fleet.headers, [event(fleet.ev, "s-1", soc_pct=5)])
    assert services.vehicle_alerts_close_stale() == 0
    clock_now.shift(dt.timedelta(hours=24, minutes=2))
    assert services.vehicle_alerts_close_stale() == 1
    assert services.vehicle_alerts_close_stale() == 0
    assert not alerts(RuleKind.BATTERY_LOW)[0].is_open


def test_an_insulation_fault_suggests_a_booking_to_the_owner(client, fleet):
    post(client, fleet.headers, [event(fleet.ev, "i-1", insulation_resistance_kohm=80)])
    [alert] = alerts(RuleKind.INSULATION_FAULT)
    assert alert.action == RuleAction.SUGGEST_BOOKING
    message = OutboxMessage.objects.get(pk=alert.message_id)
    assert message.customer == fleet.ev.customer and message.purpose == Purpose.SERVICE
    assert "绝缘电阻 80 kΩ" in message.body  # the owner's message in Chinese
    assert "沪AD12345" in message.body and "/book/" in message.body


def test_a_dtc_family_rule_matches_by_prefix(client, fleet):
    post(client, fleet.headers, [event(fleet.ev, "d-1", dtcs=["P0143"]), event(fleet.ev, "d-2", dtcs=["P0A80"])])
    [alert] = alerts(RuleKind.DTC_FAMILY)
    assert str(alert.detail) == "Fault codes P0A80" and alert.first_event.event_id == "d-2"


def test_a_level_3_alarm_raises_the_rescue_alert(client, fleet):
    post(
        client,
        fleet.headers,
        [event(fleet.ev, "a-1", alarm_level=3, alarm_flags=["insulation", "hv_interlock"], lat=31.23, lon=121.47)],
    )
    [alert] = alerts(RuleKind.ALARM_LEVEL)
    assert alert.action == RuleAction.RESCUE
    request = RescueRequest.objects.get()
    assert alert.rescue_request == request and request.source == "connected_car" and request.vehicle == fleet.ev
    assert request.latitude is not None and request.fault.startswith("车联网报警：3级报警")
    assert f"#{request.pk}" in str(alert.rescue_note)
    assert "Insulation fault" in str(alert.detail) and "High-voltage interlock" in str(alert.detail)
    item = InboxItem.objects.filter(related_id=str(alert.pk)).first()
    assert item.kind == "telematics_alert_rescue" and "Level-3 alarm" in item.title_en
    # A lower level matches no rule of the defaults.
    post(client, fleet.headers, [event(fleet.ev, "a-2", alarm_level=2)])
    assert len(alerts(RuleKind.ALARM_LEVEL)) == 1 and RescueRequest.objects.count() == 1


def test_a_level_3_alarm_without_a_position_still_opens_a_rescue_request_to_locate_the_car(client, fleet):
    post(client, fleet.headers, [event(fleet.ev, "a-3", alarm_level=3)])
    request = RescueRequest.objects.get()
    assert request.latitude is None and request.address and request.vehicle == fleet.ev


def test_a_backlog_event_is_kept_but_opens_nothing(client, fleet):
    body = post(client, fleet.headers, [event(fleet.ev, "old-1", minutes_ago=3 * 24 * 60, alarm_level=3)]).json()
    assert body["accepted"] == 1
    assert not VehicleAlert.objects.exists() and VehicleEvent.objects.get().evaluated_at is not None


def test_an_event_left_unevaluated_is_picked_up_by_the_sweep(client, fleet):
    post(client, fleet.headers, [event(fleet.ev, "u-1", soc_pct=50)])
    VehicleEvent.objects.update(evaluated_at=None, soc_pct=Decimal(3))
    assert services.vehicle_events_evaluate_pending() == 1
    assert services.vehicle_events_evaluate_pending() == 0
    assert len(alerts(RuleKind.BATTERY_LOW)) == 1


def test_an_inactive_rule_or_a_changed_threshold_applies_to_the_next_events(client, fleet):
    cast = fleet.cast
    services.alert_rules_ensure_defaults(group_id=cast.group.pk)
    battery = AlertRule.objects.get(group=cast.group, kind=RuleKind.BATTERY_LOW)
    services.alert_rule_save(group=cast.group, by=cast.mia, rule=battery, threshold=Decimal(30))
    post(client, fleet.headers, [event(fleet.ev, "c-1", soc_pct=25)])
    assert len(alerts(RuleKind.BATTERY_LOW)) == 1
    services.alert_rule_save(group=cast.group, by=cast.mia, rule=battery, is_active=False)
    VehicleAlert.objects.update(cleared_at=VehicleAlert.objects.get().last_event_at)
    post(client, fleet.headers, [event(fleet.ev, "c-2", soc_pct=2)])
    assert len(alerts(RuleKind.BATTERY_LOW)) == 1
    assert AuditEntry.objects.filter(action="vehicle_alert_rule.save").count() == 2


def test_the_rule_table_is_a_managers_and_bad_values_name_the_field(cast):
    with pytest.raises(PermissionDenied):
        services.alert_rule_save(group=cast.group, by=cast.alice, kind=RuleKind.BATTERY_LOW, threshold=Decimal(20))
    with pytest.raises(PermissionDenied):  # another group's manager
        services.alert_rule_save(group=cast.group, by=cast.otto, kind=RuleKind.BATTERY_LOW, threshold=Decimal(20))
    cases = [
        ({"kind": RuleKind.BATTERY_LOW, "threshold": Decimal(120)}, "threshold"),
        ({"kind": RuleKind.ALARM_LEVEL, "threshold": Decimal(4)}, "threshold"),
        ({"kind": RuleKind.INSULATION_FAULT}, "threshold"),
        ({"kind": RuleKind.DTC_FAMILY, "dtc_prefix": "X12"}, "dtc_prefix"),
        ({"kind": RuleKind.DTC_FAMILY, "dtc_prefix": "P9"}, "dtc_prefix"),
        ({"kind": RuleKind.BATTERY_LOW, "threshold": Decimal(10), "colour": "red"}, "colour"),
    ]
    for fields, name in cases:
        with pytest.raises(ValidationError) as caught:
            services.alert_rule_save(group=cast.group, by=cast.mia, **fields)
        assert set(caught.value.message_dict) == {name}, fields
    assert not AlertRule.objects.exists()
    rule = services.alert_rule_save(group=cast.group, by=cast.grace, kind=RuleKind.DTC_FAMILY, dtc_prefix=" u01 ")
    assert rule.dtc_prefix == "U01" and rule.threshold is None


def test_deleting_a_rule_that_raised_alerts_switches_it_off(client, fleet):
    post(client, fleet.headers, [event(fleet.ev, "x-1", soc_pct=5)])
    rule = alerts(RuleKind.BATTERY_LOW)[0].rule
    services.alert_rule_delete(rule=rule, by=fleet.cast.mia)
    rule.refresh_from_db()
    assert rule.is_active is False
    unused = AlertRule.objects.get(kind=RuleKind.DTC_FAMILY)
    services.alert_rule_delete(rule=unused, by=fleet.cast.mia)
    assert not AlertRule.objects.filter(pk=unused.pk).exists()
