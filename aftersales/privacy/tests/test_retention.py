"""The retention purge (SPEC §10, issue 17): the policy's clocks, the dry run, and the purge that carries out exactly
the reviewed dry run ("the purge dry-run equals the purge"); who may do it; the page."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import types
import uuid
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.config.testing import make_customer, make_user, make_vehicle
from aftersales.core.audit import AuditEntry
from aftersales.messaging.choices import Channel, MessageStatus, Purpose
from aftersales.messaging.models import InboundMessage, OutboxMessage
from aftersales.organisation.choices import Role
from aftersales.organisation.models import SettingValue
from aftersales.privacy import retention
from aftersales.privacy.models import RetentionRun
from aftersales.rescue.choices import RescueSource, RescueStatus, RoadType
from aftersales.rescue.models import RescueRequest
from aftersales.service.choices import RepairOrderStatus, ServiceType
from aftersales.service.models import RepairOrder
from aftersales.telematics.models import VehicleEvent

NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
YEAR = dt.timedelta(days=365)
_numbers = itertools.count(1)


def at(moment: dt.datetime) -> Any:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def anonymised(monkeypatch) -> list[int]:
    """A stand-in for privacy.erasure.anonymise_customer when the real one is not there: records who it was
    called for.  With the real module present, the real function runs (and the list stays empty)."""
    calls: list[int] = []
    try:
        import aftersales.privacy.erasure  # noqa: F401
    except ImportError:
        module = types.ModuleType("aftersales.privacy.erasure")

        def anonymise_customer(customer, *, scope="all"):
            calls.append(customer.pk)
            return {"customers.Customer": 1}

        module.anonymise_customer = anonymise_customer  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "aftersales.privacy.erasure", module)
    return calls


@pytest.fixture
def officer(cast):
    return make_user("pia", Role.PRIVACY_OFFICER, group=cast.group)


def customer_visited(store, *, created: dt.datetime, visit: dt.datetime | None, name: str = "王五"):
    with at(created):
        customer = make_customer(store, name=name)
        vehicle = make_vehicle(customer)
    if visit is not None:
        RepairOrder.objects.create(
            store=store,
            number=f"RT{next(_numbers):08d}",
            customer=customer,
            vehicle=vehicle,
            service_type=ServiceType.MAINTENANCE,
            status=RepairOrderStatus.DELIVERED,
            arrived_at=visit,
            delivered_at=visit + dt.timedelta(hours=3),
            billed_total=Decimal("500.00"),
            link_nonce="x",
        )
    return customer


def rescue(store, *, status=RescueStatus.COMPLETED, ended: dt.datetime | None = None) -> RescueRequest:
    return RescueRequest.objects.create(
        group=store.group,
        store=store,
        source=RescueSource.STAFF,
        latitude=Decimal("31.230416"),
        longitude=Decimal("121.473701"),
        address="人民广场东侧 南京东路口",
        road_type=RoadType.CITY,
        fault="打不着火",
        status=status,
        match_due_at=NOW - 40 * DAY,
        completed_at=ended if status == RescueStatus.COMPLETED else None,
        cancelled_at=ended if status == RescueStatus.CANCELLED else None,
    )


def event(vehicle, *, processed: dt.datetime) -> VehicleEvent:
    return VehicleEvent.objects.create(
        source="oem",
        event_id=str(uuid.uuid4()),
        vehicle=vehicle,
        occurred_at=processed - dt.timedelta(minutes=1),
        received_at=processed - dt.timedelta(seconds=30),
        evaluated_at=processed,
        intake=uuid.uuid4(),
        latitude=Decimal("31.230416"),
        longitude=Decimal("121.473701"),
    )


def message(customer, *, status=MessageStatus.SENT, sent: dt.datetime | None, channel=Channel.SMS) -> OutboxMessage:
    return OutboxMessage.objects.create(
        store=customer.store,
        customer=customer,
        channel=channel,
        purpose=Purpose.SERVICE,
        template="estimate_ready",
        body=f"{customer.name}您好！报价请点击 https://example.invalid/e/abc123",
        status=status,
        sent_at=sent,
    )


@pytest.fixture
def world(cast):
    """Something of every category on both sides of its threshold (as of NOW), in the group and outside it."""
    store = cast.store_a
    old = customer_visited(store, created=NOW - 5 * YEAR, visit=NOW - 4 * YEAR, name="老客户")
    recent = customer_visited(store, created=NOW - 5 * YEAR, visit=NOW - 2 * YEAR, name="常客")
    never = customer_visited(store, created=NOW - 4 * YEAR, visit=None, name="只登记")
    new = customer_visited(store, created=NOW - 200 * DAY, visit=None, name="新客户")
    elsewhere = customer_visited(cast.store_c, created=NOW - 5 * YEAR, visit=NOW - 4 * YEAR, name="别的集团")
    vehicle = make_vehicle(recent)
    return {
        "customers": (old, never, recent, new, elsewhere),
        "rescues": (
            rescue(store, ended=NOW - 31 * DAY),  # past its 30 days
            rescue(store, ended=NOW - 29 * DAY),  # not yet
            rescue(store, status=RescueStatus.DISPATCHED),  # still going on
            rescue(cast.store_c, ended=NOW - 60 * DAY),  # another group
        ),
        "events": (event(vehicle, processed=NOW - 31 * DAY), event(vehicle, processed=NOW - 29 * DAY)),
        "messages": (
            message(recent, sent=NOW - 8 * DAY),
            message(recent, sent=NOW - 6 * DAY),
            message(recent, status=MessageStatus.PENDING, sent=None),
        ),
        "replies": (
            InboundMessage.objects.create(
                store=store,
                gateway="gw",
                gateway_message_id="old",
                channel=Channel.SMS,
                sender_encrypted="x",
                sender_hash="h1",
                text="你好",
                received_at=NOW - 4 * YEAR,
                intent="other",
            ),
            InboundMessage.objects.create(
                store=store,
                gateway="gw",
                gateway_message_id="new",
                channel=Channel.SMS,
                sender_encrypted="x",
                sender_hash="h2",
                text="你好",
                received_at=NOW - 2 * YEAR,
                intent="other",
            ),
        ),
    }


@pytest.mark.django_db
class PlanTests:
    def test_the_plan_names_exactly_the_rows_past_their_time(self, cast, world):
        old, never, recent, new, elsewhere = world["customers"]
        plan = retention.retention_plan(group=cast.group, as_of=NOW)
        assert plan["customers"] == {"action": "anonymise", "count": 2, "ids": sorted([old.pk, never.pk])}
        assert plan["rescue_locations"]["ids"] == [world["rescues"][0].pk]
        assert plan["vehicle_event_locations"]["ids"] == [world["events"][0].pk]
        assert plan["outbox_texts"] == {"action": "redact", "count": 1, "ids": [world["messages"][0].pk]}
        assert plan["unmatched_replies"] == {"action": "delete", "count": 1, "ids": [world["replies"][0].pk]}

    def test_a_longer_setting_keeps_the_customer_and_the_minimum_is_one_year(self, cast, world):
        old, never, recent, new, _elsewhere = world["customers"]
        mid = customer_visited(cast.store_a, created=NOW - 548 * DAY, visit=None, name="一年半")
        SettingValue.objects.create(group=cast.group, store=None, key="record_retention_years", value=5)
        assert retention.retention_plan(group=cast.group, as_of=NOW)["customers"]["ids"] == []
        # A value below the legal minimum (stored before the rule) counts as the minimum: one year.
        SettingValue.objects.filter(group=cast.group, key="record_retention_years").update(value=0)
        ids = retention.retention_plan(group=cast.group, as_of=NOW)["customers"]["ids"]
        assert new.pk not in ids  # registered 200 days ago: younger than a year
        # The repair file is kept 2 years after the last repair whatever the setting: the 2-year-old visit stays.
        assert ids == sorted([old.pk, never.pk, mid.pk]) and recent.pk not in ids

    def test_an_open_order_keeps_the_customer(self, cast, world):
        old = world["customers"][0]
        RepairOrder.objects.filter(customer=old).update(status=RepairOrderStatus.IN_PROGRESS)
        assert old.pk not in retention.retention_plan(group=cast.group, as_of=NOW)["customers"]["ids"]

    def test_the_plan_writes_nothing(self, cast, world):
        before = (RetentionRun.objects.count(), AuditEntry.objects.count())
        retention.retention_plan(group=cast.group, as_of=NOW)
        assert (RetentionRun.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.django_db
class PurgeTests:
    def test_the_purge_does_exactly_what_the_dry_run_reported(self, cast, world, officer, anonymised):
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
        assert dry.dry_run and dry.as_of == NOW and dry.started_by == officer
        with at(NOW + 2 * DAY):
            purge = retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
        assert purge.report == dry.report  # same categories, actions, counts and ids
        assert not purge.dry_run and purge.dry_run_of == dry and purge.as_of == dry.as_of
        assert sum(e["count"] for e in purge.report.values()) == 6
        if getattr(sys.modules["aftersales.privacy.erasure"], "__file__", None) is None:  # the stand-in ran
            assert anonymised == dry.report["customers"]["ids"]
        assert [a.action for a in AuditEntry.objects.filter(action__startswith="retention.").order_by("id")] == [
            "retention.dry_run",
            "retention.purge",
        ]

    def test_what_was_done_and_what_was_left(self, cast, world, officer, anonymised):
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
            retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
        done, waiting, going, other = (RescueRequest.objects.get(pk=r.pk) for r in world["rescues"])
        assert (done.latitude, done.longitude, done.address) == (Decimal("31.23"), Decimal("121.47"), "")
        assert done.location_coarsened_at == NOW
        for untouched in (waiting, going, other):
            assert (
                untouched.latitude == Decimal("31.230416") and untouched.address and not untouched.location_coarsened_at
            )
        old_event, fresh_event = (VehicleEvent.objects.get(pk=e.pk) for e in world["events"])
        assert (old_event.latitude, old_event.longitude, old_event.location_coarsened) == (
            Decimal("31.23"),
            Decimal("121.47"),
            True,
        )
        assert fresh_event.latitude == Decimal("31.230416") and not fresh_event.location_coarsened
        redacted, fresh, pending = (OutboxMessage.objects.get(pk=m.pk) for m in world["messages"])
        assert redacted.body == retention.REDACTED_BODY
        assert (redacted.template, redacted.channel, redacted.status, redacted.sent_at) == (
            "estimate_ready",
            Channel.SMS,
            MessageStatus.SENT,
            NOW - 8 * DAY,
        )
        assert "常客" in fresh.body and "常客" in pending.body
        assert list(InboundMessage.objects.values_list("gateway_message_id", flat=True)) == ["new"]
        # Nothing left to do as of the same moment: a second dry run is empty (customers aside when the stand-in ran).
        with at(NOW):
            again = retention.retention_plan(group=cast.group, as_of=NOW)
        assert all(again[k]["count"] == 0 for k in again if k != "customers")

    def test_a_row_changed_since_the_dry_run_is_left_alone(self, cast, world, officer, anonymised):
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
        old = world["customers"][0]
        RepairOrder.objects.filter(customer=old).update(status=RepairOrderStatus.RECEPTION)  # came back
        with at(NOW + DAY):
            purge = retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
        assert old.pk not in purge.report["customers"]["ids"]
        assert purge.report["customers"]["count"] == dry.report["customers"]["count"] - 1
        assert old.pk not in anonymised

    def test_a_row_that_came_due_after_the_dry_run_waits_for_the_next(self, cast, world, officer, anonymised):
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
        waiting = world["rescues"][1]
        with at(NOW + 5 * DAY):
            purge = retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
        assert waiting.pk not in purge.report["rescue_locations"]["ids"]
        assert RescueRequest.objects.get(pk=waiting.pk).address

    def test_a_dry_run_is_carried_out_once(self, cast, world, officer, anonymised):
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
            retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
            with pytest.raises(ValidationError) as refused:
                retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
        assert "dry_run" in refused.value.message_dict
        assert RetentionRun.objects.filter(dry_run=False).count() == 1


@pytest.mark.django_db
class PermissionTests:
    @pytest.mark.parametrize("who", ["mia", "grace", "alice", "otto"])
    def test_others_may_neither_plan_nor_purge(self, cast, world, officer, who):
        user = getattr(cast, who)
        with at(NOW):
            with pytest.raises(PermissionDenied):
                retention.retention_dry_run(group=cast.group, by=user)
            dry = retention.retention_dry_run(group=cast.group, by=officer)
            with pytest.raises(PermissionDenied):
                retention.retention_purge(group=cast.group, by=user, dry_run=dry)
        assert RetentionRun.objects.count() == 1
        assert retention.retention_moves_for(group=cast.group, user=user, run=dry) == {
            "dry_run": False,
            "purge": False,
        }

    def test_a_store_administrator_is_not_enough_for_the_group(self, cast):
        store_admin = make_user("sid", Role.ADMIN, store=cast.store_a)
        with pytest.raises(PermissionDenied):
            retention.retention_dry_run(group=cast.group, by=store_admin)
        group_admin = make_user("gad", Role.ADMIN, group=cast.group)
        assert retention.retention_dry_run(group=cast.group, by=group_admin).dry_run

    def test_a_dry_run_of_another_group_is_refused(self, cast, officer):
        other_officer = make_user("poe", Role.PRIVACY_OFFICER, group=cast.other_group)
        theirs = retention.retention_dry_run(group=cast.other_group, by=other_officer)
        with pytest.raises(ValidationError):
            retention.retention_purge(group=cast.group, by=officer, dry_run=theirs)


@pytest.mark.django_db
class JobTests:
    def test_the_weekly_job_makes_a_dry_run_and_tells_the_officers_without_purging(self, cast, world, officer):
        from aftersales.notifications.models import InboxItem
        from aftersales.privacy import tasks_retention

        with at(NOW):
            made = tasks_retention.retention_weekly_dry_run.call_local()
        assert made[cast.group.code] == 6
        run = RetentionRun.objects.get(group=cast.group)
        assert run.dry_run and run.started_by is None
        assert InboxItem.objects.filter(recipient=officer).count() == 1
        assert not RetentionRun.objects.filter(dry_run=False).exists()
        assert RescueRequest.objects.get(pk=world["rescues"][0].pk).address  # nothing carried out


@pytest.mark.django_db
class PageTests:
    @pytest.fixture(autouse=True)
    def english(self, client):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def test_the_page_shows_the_policy_and_the_latest_dry_run_in_bounded_queries(self, client, cast, world, officer):
        client.force_login(officer)
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/privacy/retention/")
        assert response.status_code == 200
        text = response.content.decode()
        assert "Customers" in text and "Rescue locations" in text and "Carry out this dry run" in text
        assert f'name="dry_run" value="{dry.pk}"' in text
        assert len(queries) <= 25, [q["sql"] for q in queries.captured_queries]
        # More runs, more customers past their time: not one query more.
        for days in range(1, 6):
            customer_visited(cast.store_a, created=NOW - 6 * YEAR, visit=NOW - 5 * YEAR, name=f"客户{days}")
            with at(NOW + days * DAY):
                retention.retention_dry_run(group=cast.group, by=officer)
        with CaptureQueriesContext(connection) as again:
            assert client.get("/privacy/retention/").status_code == 200
        assert len(again) == len(queries)

    def test_the_buttons_make_a_dry_run_and_carry_it_out(self, client, cast, world, officer, anonymised):
        client.force_login(officer)
        with at(NOW):
            response = client.post("/privacy/retention/", {"action": "dry_run"})
        assert response.status_code == 302
        dry = RetentionRun.objects.get(dry_run=True)
        with at(NOW + DAY):
            response = client.post("/privacy/retention/", {"action": "purge", "dry_run": dry.pk, "confirm": "on"})
        assert response.status_code == 302
        assert RetentionRun.objects.get(dry_run=False).report == dry.report

    def test_carrying_out_needs_the_confirmation(self, client, cast, world, officer):
        client.force_login(officer)
        with at(NOW):
            dry = retention.retention_dry_run(group=cast.group, by=officer)
            response = client.post("/privacy/retention/", {"action": "purge", "dry_run": dry.pk})
        assert response.status_code == 200
        assert not RetentionRun.objects.filter(dry_run=False).exists()

    def test_the_empty_page_and_the_refusals(self, client, cast, officer):
        client.force_login(officer)
        assert "No dry run yet" in client.get("/privacy/retention/").content.decode()
        chinese = client.get("/privacy/retention/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "数据保存期限" in chinese
        client.force_login(cast.grace)
        assert client.get("/privacy/retention/").status_code == 403
        assert client.post("/privacy/retention/", {"action": "dry_run"}).status_code == 403
        assert not RetentionRun.objects.exists()


@pytest.mark.django_db
def test_anonymise_customer_integration(cast, officer):
    """With the real erasure: a customer last seen 4 years ago is anonymised by the purge, one seen 2 years ago
    keeps their name."""
    erasure = pytest.importorskip("aftersales.privacy.erasure")
    assert callable(erasure.anonymise_customer)
    old = customer_visited(cast.store_a, created=NOW - 5 * YEAR, visit=NOW - 4 * YEAR, name="老客户")
    recent = customer_visited(cast.store_a, created=NOW - 5 * YEAR, visit=NOW - 2 * YEAR, name="常客")
    # The old customer's own car positions and messages are due in their categories too: anonymising the
    # customer must not make those categories' counts fall short of the dry run's.
    old_event = event(old.vehicles.get(), processed=NOW - 4 * YEAR)
    old_message = message(old, sent=NOW - 4 * YEAR)
    with at(NOW):
        dry = retention.retention_dry_run(group=cast.group, by=officer)
        purge = retention.retention_purge(group=cast.group, by=officer, dry_run=dry)
    assert dry.report["vehicle_event_locations"]["ids"] == [old_event.pk]
    assert dry.report["outbox_texts"]["ids"] == [old_message.pk]
    assert purge.report == dry.report
    assert purge.report["customers"]["ids"] == [old.pk]
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.name != "老客户" and recent.name == "常客"
    with at(NOW):  # not listed again
        assert retention.retention_plan(group=cast.group, as_of=NOW)["customers"]["ids"] == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
def test_two_officers_carrying_out_the_same_dry_run_purge_once(cast, world, officer, anonymised):
    from aftersales.config.testing import race

    other = make_user("pam", Role.PRIVACY_OFFICER, group=cast.group)
    with at(NOW):
        dry = retention.retention_dry_run(group=cast.group, by=officer)
    people = (officer, other)
    results = race(lambda index: retention.retention_purge(group=cast.group, by=people[index], dry_run=dry), 2, at=NOW)
    done = [r for r in results if isinstance(r, RetentionRun)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(done) == 1 and len(refused) == 1, results
    assert done[0].report == dry.report
    assert RetentionRun.objects.filter(dry_run=False).count() == 1


@pytest.mark.django_db
def test_the_command_makes_a_dry_run_and_carries_it_out(cast, world, officer, anonymised, capsys):
    from django.core.management import CommandError, call_command

    with at(NOW):
        call_command("purge", "--dry-run", "--group", cast.group.code)
    dry = RetentionRun.objects.get(group=cast.group)
    assert "customers 2" in capsys.readouterr().out and dry.started_by is None
    with at(NOW), pytest.raises(CommandError):
        call_command("purge", "--carry-out", str(dry.pk), "--by", cast.grace.username)  # no right
    with at(NOW):
        call_command("purge", "--carry-out", str(dry.pk), "--by", officer.username, "--json")
    assert RetentionRun.objects.get(dry_run=False).report == dry.report
