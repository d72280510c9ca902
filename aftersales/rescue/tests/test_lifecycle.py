"""The request's lifecycle (dispatch, arrival, completion, cancellation) by who may make each move, the rescue bases,
the retention job that coarsens precise locations, and two requests racing for a store's last crew (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from aftersales.core.audit import AuditEntry
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.models import SettingValue
from aftersales.organisation.rules import Party
from aftersales.rescue import services
from aftersales.rescue.choices import RescueStatus
from aftersales.rescue.models import RescueBase, RescueRequest
from aftersales.rescue.transitions import rescue_moves_for

from .conftest import PEOPLES_SQUARE

NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


def ask(by, point=PEOPLES_SQUARE, road="city", **kw):
    return services.rescue_request_create(by=by, lat=point[0], lon=point[1], road_type=road, fault="打不着火", **kw)


@pytest.mark.django_db
class MoveTests:
    def test_the_whole_way_with_each_time_stamped(self, cities):
        alice, tom = cities.cast.alice, cities.cast.tom
        with time_machine.travel(NOW, tick=False):
            rescue = ask(alice)
        with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
            rescue = services.rescue_dispatch(request=rescue, by=alice, crew="救援车 沪A·R0001", crew_lead=tom)
        assert [m.name for m in rescue_moves_for(obj=rescue, user=tom)] == ["arrive"]  # his own job
        with time_machine.travel(NOW + dt.timedelta(minutes=38), tick=False):
            rescue = services.rescue_transition(request=rescue, by=tom, target="on_site")
        with time_machine.travel(NOW + dt.timedelta(minutes=80), tick=False):
            rescue = services.rescue_transition(request=rescue, by=tom, target="completed")
        assert rescue.status == RescueStatus.COMPLETED
        assert (rescue.dispatched_at, rescue.on_site_at, rescue.completed_at) == (
            NOW + dt.timedelta(minutes=3),
            NOW + dt.timedelta(minutes=38),
            NOW + dt.timedelta(minutes=80),
        )
        actions = list(
            AuditEntry.objects.filter(object_id=str(rescue.pk)).order_by("id").values_list("action", flat=True)
        )
        assert actions == ["rescue.request", "rescue.dispatch", "rescue.transition", "rescue.transition"]

    def test_a_technician_may_not_move_someone_elses_job(self, cities):
        from aftersales.config.testing import make_user
        from aftersales.organisation.choices import Role

        other = make_user("ted", Role.TECHNICIAN, store=cities.sh)
        rescue = services.rescue_dispatch(
            request=ask(cities.cast.alice), by=cities.cast.alice, crew="一号车", crew_lead=cities.cast.tom
        )
        with pytest.raises(PermissionDenied):
            services.rescue_transition(request=rescue, by=other, target="on_site")
        with pytest.raises(PermissionDenied):
            services.rescue_dispatch(request=ask(cities.cast.alice), by=cities.cast.tom, crew="二号车")

    def test_a_store_outside_the_users_reach_is_refused(self, cities):
        rescue = ask(cities.cast.alice)
        with pytest.raises(PermissionDenied):
            services.rescue_dispatch(request=rescue, by=cities.cast.carol, crew="x")  # HZ advisor, SH request
        with pytest.raises(PermissionDenied):
            services.rescue_transition(request=rescue, by=cities.cast.otto, target="cancelled", reason="x")

    def test_moves_out_of_order_are_refused_with_409(self, cities):
        rescue = ask(cities.cast.alice)
        with pytest.raises(ApplicationError) as caught:
            services.rescue_transition(request=rescue, by=cities.cast.alice, target="completed")
        assert caught.value.extra["code"] == "invalid_transition"
        with pytest.raises(ValidationError) as bad:
            services.rescue_transition(request=rescue, by=cities.cast.alice, target="flying")
        assert "target" in bad.value.message_dict

    def test_cancelling_needs_a_reason_and_frees_the_crew(self, cities):
        rescue = ask(cities.cast.alice)
        with pytest.raises(ValidationError) as caught:
            services.rescue_transition(request=rescue, by=cities.cast.alice, target="cancelled", reason=" ")
        assert "reason" in caught.value.message_dict
        services.rescue_transition(request=rescue, by=cities.cast.alice, target="cancelled", reason="客户自行解决")
        assert ask(cities.cast.alice).store == cities.sh  # the crew is free again

    def test_the_customer_may_cancel_but_not_dispatch(self, cities):
        rescue = ask(cities.cast.alice)
        with pytest.raises(PermissionDenied):
            services.rescue_dispatch(request=rescue, by=Party.CUSTOMER, crew="x")
        rescue = services.rescue_transition(request=rescue, by=Party.CUSTOMER, target="cancelled", reason="不需要了")
        assert rescue.status == RescueStatus.CANCELLED and rescue.cancelled_at is not None

    def test_a_manual_match_needs_a_free_crew_in_the_chosen_store(self, cities):
        for store in (cities.sh, cities.hz, cities.bj, cities.gz, cities.cd):
            cities.base(store, crews=0)
        waiting = ask(cities.cast.alice)
        assert waiting.status == RescueStatus.REQUESTED
        with pytest.raises(ValidationError) as caught:
            services.rescue_match(request=waiting, by=cities.cast.alice, store=cities.cd)
        assert "store" in caught.value.message_dict
        with pytest.raises(ValidationError):
            services.rescue_match(request=waiting, by=cities.cast.alice, store=cities.other_bj)
        cities.base(cities.cd, crews=1, at=("30.658600", "104.064800"))
        matched = services.rescue_match(request=waiting, by=cities.cast.alice, store=cities.cd)
        assert matched.store == cities.cd and matched.distance_km > 1500  # Chengdu is far, but it is a choice


@pytest.mark.django_db
class BaseTests:
    def test_a_manager_saves_the_base_and_bad_values_are_named(self, cities):
        mia = cities.cast.mia
        base = services.rescue_base_save(store=cities.sh, by=mia, latitude="31.1", longitude="121.5", crews="3")
        assert (base.latitude, base.crews) == (Decimal("31.100000"), 3)
        with pytest.raises(ValidationError) as caught:
            services.rescue_base_save(store=cities.sh, by=mia, latitude="91", longitude="x", crews="-1", note="\x07")
        assert set(caught.value.message_dict) == {"latitude", "longitude", "crews", "note"}
        assert RescueBase.objects.get(store=cities.sh).crews == 3
        assert AuditEntry.objects.filter(action="rescue.base_save").count() == 1

    def test_only_the_stores_managers_may(self, cities):
        for user in (cities.cast.alice, cities.cast.carol):
            with pytest.raises(PermissionDenied):
                services.rescue_base_save(store=cities.sh, by=user, latitude="31", longitude="121", crews=1)


@pytest.mark.django_db
class RetentionTests:
    def test_closed_requests_are_coarsened_after_the_retention_days_once(self, cities):
        with time_machine.travel(NOW, tick=False):
            done = ask(cities.cast.alice, address="人民广场地铁站2号口")
            done = services.rescue_dispatch(request=done, by=cities.cast.alice, crew="一号车")
            done = services.rescue_transition(request=done, by=cities.cast.alice, target="on_site")
            done = services.rescue_transition(request=done, by=cities.cast.alice, target="completed")
            still_open = ask(cities.cast.alice)
        # 29 days later: nothing yet (the setting is 30 days).
        with time_machine.travel(NOW + dt.timedelta(days=29), tick=False):
            assert services.rescue_locations_coarsen() == 0
        with time_machine.travel(NOW + dt.timedelta(days=30, minutes=1), tick=False):
            assert services.rescue_locations_coarsen() == 1
            assert services.rescue_locations_coarsen() == 0  # once
        done.refresh_from_db()
        assert (done.latitude, done.longitude, done.address) == (Decimal("31.230000"), Decimal("121.470000"), "")
        assert done.location_coarsened_at == NOW + dt.timedelta(days=30, minutes=1)
        still_open.refresh_from_db()
        assert still_open.latitude == Decimal("31.230400")  # an open rescue keeps its place
        assert AuditEntry.objects.filter(action="rescue.location_coarsen", object_id=str(done.pk)).exists()

    def test_the_store_setting_decides(self, cities):
        SettingValue.objects.create(group=cities.cast.group, store=cities.sh, key="location_retention_days", value=7)
        with time_machine.travel(NOW, tick=False):
            rescue = ask(cities.cast.alice)
            services.rescue_transition(request=rescue, by=cities.cast.alice, target="cancelled", reason="误报")
        with time_machine.travel(NOW + dt.timedelta(days=7, seconds=1), tick=False):
            assert services.rescue_sweep().coarsened == 1
        assert RescueRequest.objects.get(pk=rescue.pk).longitude == Decimal("121.470000")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.parametrize("attempt", range(3))
def test_two_requests_racing_for_the_last_crew_take_it_once(cities, attempt):
    from aftersales.service.tests.test_concurrency import race

    for store in (cities.hz, cities.bj, cities.gz, cities.cd):
        cities.base(store, crews=0)
    results = race(lambda index: ask(cities.cast.alice if index else cities.cast.mia), 2)
    assert all(isinstance(r, RescueRequest) for r in results), results
    statuses = sorted(r.status for r in results)
    assert statuses == ["matched", "requested"]
    assert RescueRequest.objects.filter(store=cities.sh, status="matched").count() == 1


@pytest.mark.django_db
class LocateTests:
    def waiting(self, cities):
        return services.rescue_request_create(
            by=cities.cast.alice, lat=None, lon=None, road_type="city", fault="车辆报警", address="车主未接电话"
        )

    def test_a_call_back_places_the_request_and_it_is_matched(self, cities):
        with time_machine.travel(NOW, tick=False):
            rescue = self.waiting(cities)
        assert rescue.status == RescueStatus.REQUESTED
        with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
            rescue = services.rescue_request_locate(
                request=rescue, by=cities.cast.alice, lat="30.2408", lon="120.1019", road_type="county"
            )
        assert rescue.status == RescueStatus.MATCHED and rescue.store == cities.hz
        assert rescue.respond_by == NOW + dt.timedelta(minutes=60)  # county, from the first call
        assert rescue.address == "车主未接电话"
        assert AuditEntry.objects.filter(action="rescue.locate", object_id=str(rescue.pk)).exists()

    def test_bad_values_are_named_and_only_waiting_requests_move(self, cities):
        rescue = self.waiting(cities)
        with pytest.raises(ValidationError) as caught:
            services.rescue_request_locate(request=rescue, by=cities.cast.alice, lat="99", lon="", road_type="x")
        assert set(caught.value.message_dict) == {"lat", "road_type"}
        assert RescueRequest.objects.get(pk=rescue.pk).latitude is None
        with pytest.raises(PermissionDenied):
            services.rescue_request_locate(request=rescue, by=cities.cast.tom, lat="31", lon="121", road_type="city")
        matched = ask(cities.cast.alice)
        with pytest.raises(ApplicationError):
            services.rescue_request_locate(request=matched, by=cities.cast.alice, lat="31", lon="121", road_type="city")

    def test_on_an_expressway_it_is_handed_to_12122(self, cities):
        rescue = services.rescue_request_locate(
            request=self.waiting(cities), by=cities.cast.alice, lat="31.3849", lon="120.9808", road_type="expressway"
        )
        assert rescue.status == RescueStatus.HANDED_12122 and "12122" in rescue.reason
