"""The matcher on real coordinates: the nearest store of the group by great-circle distance × the detour factor,
only stores with a free crew, then the least loaded; expressways to 12122; nobody free → the managers are told."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from aftersales.core.audit import AuditEntry
from aftersales.notifications.models import InboxItem
from aftersales.organisation.models import SettingValue
from aftersales.organisation.rules import Party
from aftersales.rescue import services
from aftersales.rescue.choices import RescueSource, RescueStatus
from aftersales.rescue.models import RescueRequest
from aftersales.rescue.services import haversine_km, rescue_request_create

from .conftest import (
    CANTON_TOWER,
    CHUNXI_ROAD,
    HONGQIAO,
    KUNSHAN,
    PEOPLES_SQUARE,
    TIANANMEN,
    XIHU_LINGYIN,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in China


def ask(by, point, road="city", fault="爆胎", **kw):
    return rescue_request_create(by=by, lat=point[0], lon=point[1], road_type=road, fault=fault, **kw)


class DistanceTests:
    def test_haversine_on_known_city_pairs(self):
        # Beijing–Shanghai about 1 067 km, Shanghai–Hangzhou about 165 km, Guangzhou–Chengdu about 1 240 km.
        assert 1060 < haversine_km(39.9042, 116.4074, 31.2304, 121.4737) < 1075
        assert 160 < haversine_km(31.2304, 121.4737, 30.2741, 120.1551) < 172
        assert 1225 < haversine_km(23.1291, 113.2644, 30.5728, 104.0668) < 1255
        assert haversine_km(31.0, 121.0, 31.0, 121.0) == 0

    def test_the_distance_is_the_great_circle_times_the_detour_factor(self, cities):
        rescue = ask(cities.cast.alice, PEOPLES_SQUARE)
        straight = haversine_km(31.2304, 121.4737, 31.2215, 121.5447)
        assert rescue.store == cities.sh
        assert rescue.distance_km == Decimal(str(round(straight * 1.4, 1)))
        SettingValue.objects.create(group=cities.cast.group, key="rescue_detour_factor", value="2.0")
        second = ask(cities.cast.alice, PEOPLES_SQUARE)  # SH has one crew, now busy: Hangzhou
        assert second.store == cities.hz
        assert second.distance_km == Decimal(str(round(haversine_km(31.2304, 121.4737, 30.2741, 120.1551) * 2, 1)))


class NearestStoreTests:
    @pytest.mark.parametrize(
        ("point", "code"),
        [
            (PEOPLES_SQUARE, "SH01"),
            (HONGQIAO, "SH01"),
            (XIHU_LINGYIN, "HZ01"),
            (TIANANMEN, "BJ09"),
            (CANTON_TOWER, "GZ01"),
            (CHUNXI_ROAD, "CD01"),
        ],
    )
    def test_each_city_is_served_by_its_own_store(self, cities, point, code):
        with time_machine.travel(NOW, tick=False):
            rescue = ask(cities.cast.grace, point)
        assert rescue.status == RescueStatus.MATCHED
        assert rescue.store.code == code
        assert rescue.matched_at == NOW
        assert rescue.respond_by == NOW + dt.timedelta(minutes=45)
        assert rescue.match_due_at == NOW + dt.timedelta(minutes=5)

    def test_another_groups_nearer_store_is_never_chosen(self, cities):
        # g2's store stands on Tian'anmen itself; g1's Haidian store is 10 km away and still wins.
        rescue = ask(cities.cast.grace, TIANANMEN)
        assert rescue.store == cities.bj
        assert rescue.distance_km > 10

    def test_county_roads_have_their_own_response_target(self, cities):
        with time_machine.travel(NOW, tick=False):
            rescue = ask(cities.cast.alice, KUNSHAN, road="county")
        assert rescue.respond_by == NOW + dt.timedelta(minutes=60)
        SettingValue.objects.create(group=cities.cast.group, key="rescue_response_county_minutes", value="90")
        with time_machine.travel(NOW, tick=False):
            again = ask(cities.cast.alice, KUNSHAN, road="county")
        assert again.respond_by == NOW + dt.timedelta(minutes=90)


class FullStoreTests:
    def test_a_full_store_passes_the_request_to_the_next_nearest(self, cities):
        first = ask(cities.cast.alice, PEOPLES_SQUARE)
        second = ask(cities.cast.alice, PEOPLES_SQUARE)
        assert (first.store, second.store) == (cities.sh, cities.hz)
        assert second.distance_km > 200  # by road from Hangzhou

    def test_two_crews_take_two_requests_and_a_freed_crew_takes_the_next(self, cities):
        cities.base(cities.sh, crews=2, at=("31.221500", "121.544700"))
        a = ask(cities.cast.alice, PEOPLES_SQUARE)
        b = ask(cities.cast.alice, PEOPLES_SQUARE)
        assert a.store == b.store == cities.sh
        a = services.rescue_dispatch(request=a, by=cities.cast.alice, crew="一号车")
        services.rescue_transition(request=a, by=cities.cast.alice, target="on_site")
        assert ask(cities.cast.alice, PEOPLES_SQUARE).store == cities.hz  # both SH crews busy
        services.rescue_transition(request=RescueRequest.objects.get(pk=a.pk), by=cities.cast.alice, target="completed")
        assert ask(cities.cast.alice, PEOPLES_SQUARE).store == cities.sh

    def test_at_equal_distance_the_less_loaded_store_wins(self, cities):
        # A second Shanghai store on the same spot with two crews, one of them out.
        from aftersales.config.testing import make_store

        twin = make_store(cities.cast.group, "SH02", "上海二店")
        cities.base(twin, crews=3, at=("31.221500", "121.544700"))
        cities.base(cities.sh, crews=3, at=("31.221500", "121.544700"))
        first = ask(cities.cast.alice, PEOPLES_SQUARE)  # equal load: the code decides (SH01)
        second = ask(cities.cast.alice, PEOPLES_SQUARE)  # SH01 has one out: SH02
        third = ask(cities.cast.alice, PEOPLES_SQUARE)  # one each: SH01 again
        assert [first.store.code, second.store.code, third.store.code] == ["SH01", "SH02", "SH01"]

    def test_inactive_bases_and_bases_without_crews_take_nothing(self, cities):
        cities.bases["SH01"].is_active = False
        cities.bases["SH01"].save()
        cities.base(cities.hz, crews=0)
        rescue = ask(cities.cast.alice, PEOPLES_SQUARE)
        assert rescue.store.code not in ("SH01", "HZ01")
        assert rescue.store == cities.bj  # the next nearest of the group

    def test_when_every_store_is_full_the_request_waits_and_the_managers_are_told(self, cities):
        for store in (cities.hz, cities.bj, cities.gz, cities.cd):
            cities.base(store, crews=0)
        with time_machine.travel(NOW, tick=False):
            served = ask(cities.cast.alice, PEOPLES_SQUARE)
            waiting = ask(cities.cast.alice, PEOPLES_SQUARE)
        assert served.status == RescueStatus.MATCHED
        assert waiting.status == RescueStatus.REQUESTED
        assert waiting.store == cities.sh  # responsible: the nearest base
        assert waiting.matched_at is None and waiting.respond_by is None
        told = set(InboxItem.objects.filter(related_id=str(waiting.pk)).values_list("recipient__username", flat=True))
        assert told == {"grace", "mia"}  # the group's manager and the store's manager; nobody of g2
        # The sweep a minute later: still nobody free; at 5 minutes the overdue alert, once.
        with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
            assert services.rescue_retry_waiting().matched == 0
        assert not InboxItem.objects.filter(kind="rescue_overdue").exists()
        with time_machine.travel(NOW + dt.timedelta(minutes=5, seconds=1), tick=False):
            services.rescue_retry_waiting()
            services.rescue_retry_waiting()
        assert InboxItem.objects.filter(kind="rescue_overdue", related_id=str(waiting.pk)).count() == 2
        # The first rescue completes: the next sweep matches the waiting one.
        served = services.rescue_dispatch(request=served, by=cities.cast.alice, crew="一号车")
        served = services.rescue_transition(request=served, by=cities.cast.alice, target="on_site")
        services.rescue_transition(request=served, by=cities.cast.alice, target="completed")
        with time_machine.travel(NOW + dt.timedelta(minutes=7), tick=False):
            assert services.rescue_retry_waiting().matched == 1
        waiting.refresh_from_db()
        assert waiting.status == RescueStatus.MATCHED and waiting.store == cities.sh
        assert waiting.matched_at == NOW + dt.timedelta(minutes=7)
        assert waiting.respond_by == NOW + dt.timedelta(minutes=45)  # the clock runs from the call


class ExpresswayTests:
    def test_an_expressway_request_is_handed_to_12122_and_takes_no_crew(self, cities):
        with time_machine.travel(NOW, tick=False):
            rescue = ask(cities.cast.alice, KUNSHAN, road="expressway")
        assert rescue.status == RescueStatus.HANDED_12122
        assert rescue.handed_off_at == NOW
        assert "12122" in rescue.reason
        assert rescue.respond_by is None and rescue.matched_at is None
        assert ask(cities.cast.alice, PEOPLES_SQUARE).store == cities.sh  # SH's crew is still free
        assert "12122" in services.expressway_message()


class BadInputTests:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"lat": "95"}, "lat"),
            ({"lon": "-181"}, "lon"),
            ({"lat": "north"}, "lat"),
            ({"lat": "NaN"}, "lat"),
            ({"lat": True}, "lat"),
            ({"road_type": "highway"}, "road_type"),
            ({"fault": ""}, "fault"),
            ({"fault": "x" * 501}, "fault"),
            ({"fault": "bad\x00"}, "fault"),
            ({"plate": "ABC"}, "plate"),
            ({"vin": "123"}, "vin"),
            ({"source": "pigeon"}, "source"),
            ({"lat": None, "lon": None}, "lat"),
            ({"lon": None}, "lon"),
            ({"location_consent": False}, "location_consent"),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, cities, changes, field):
        kwargs = {"lat": PEOPLES_SQUARE[0], "lon": PEOPLES_SQUARE[1], "road_type": "city", "fault": "爆胎"}
        kwargs.update(changes)
        with pytest.raises(ValidationError) as caught:
            rescue_request_create(by=cities.cast.alice, **kwargs)
        assert field in caught.value.message_dict
        assert not RescueRequest.objects.exists()
        assert not AuditEntry.objects.filter(action="rescue.request").exists()

    def test_a_described_place_without_coordinates_waits_for_staff(self, cities):
        rescue = rescue_request_create(
            by=cities.cast.alice, lat=None, lon=None, road_type="county", fault="没电", address="S32申嘉湖高速出口附近"
        )
        assert rescue.status == RescueStatus.REQUESTED and rescue.latitude is None
        rescue = services.rescue_match(request=rescue, by=cities.cast.alice, store=cities.hz)
        assert rescue.status == RescueStatus.MATCHED and rescue.store == cities.hz and rescue.distance_km is None


class WhoMayTests:
    def test_a_technician_or_driver_may_not_take_a_request(self, cities):
        for user in (cities.cast.tom, cities.cast.dan):
            with pytest.raises(PermissionDenied):
                ask(user, PEOPLES_SQUARE)
        assert not RescueRequest.objects.exists()

    def test_another_groups_manager_may_not_put_a_request_into_this_group(self, cities, car):
        with pytest.raises(PermissionDenied):
            ask(cities.cast.otto, PEOPLES_SQUARE, vehicle=car)

    def test_the_system_needs_the_owners_vehicle_data_consent(self, cities, car):
        with pytest.raises(ValidationError) as caught:
            ask(Party.SYSTEM, PEOPLES_SQUARE, vehicle=car, source=RescueSource.CONNECTED_CAR, fault="绝缘故障")
        assert "vehicle" in caught.value.message_dict
        from aftersales.customers.services import consent_set

        consent_set(customer=car.customer, purpose="vehicle_data", granted=True, channel="desk", by=cities.cast.alice)
        rescue = ask(Party.SYSTEM, PEOPLES_SQUARE, vehicle=car, source=RescueSource.CONNECTED_CAR, fault="绝缘故障")
        assert rescue.customer == car.customer and rescue.plate == "沪A12345" and rescue.vin == car.vin
        assert rescue.created_by is None and rescue.location_consent_channel == "api"
        entry = AuditEntry.objects.get(action="rescue.request")
        assert entry.actor is None and entry.store_id == cities.sh.pk

    def test_a_plate_names_the_groups_vehicle(self, cities, car):
        rescue = ask(cities.cast.alice, PEOPLES_SQUARE, plate="沪a12345")
        assert rescue.vehicle == car and rescue.customer == car.customer

    def test_the_customer_party_needs_the_group(self, cities):
        with pytest.raises(ValidationError) as caught:
            ask(Party.CUSTOMER, PEOPLES_SQUARE, source=RescueSource.CUSTOMER)
        assert "vehicle" in caught.value.message_dict
        rescue = ask(Party.CUSTOMER, PEOPLES_SQUARE, source=RescueSource.CUSTOMER, group=cities.cast.group)
        assert rescue.store == cities.sh and rescue.location_consent_channel == "customer_link"
