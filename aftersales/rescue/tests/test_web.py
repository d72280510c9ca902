"""The rescue pages and the API: the board and its htmx rows, taking a request, the detail with the vehicle's
history across the group, the bases, the customer's phone pages, and POST /api/v1/rescue-requests."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.urls import reverse

from aftersales.customers.services import consent_set
from aftersales.rescue import selectors, services
from aftersales.rescue.choices import RescueStatus
from aftersales.rescue.models import RescueRequest
from aftersales.service import services as service_services

from .conftest import KUNSHAN, PEOPLES_SQUARE, XIHU_LINGYIN

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


def ask(by, point=PEOPLES_SQUARE, road="city", **kw):
    return services.rescue_request_create(by=by, lat=point[0], lon=point[1], road_type=road, fault="爆胎", **kw)


class BoardTests:
    def test_the_board_shows_the_stores_open_requests_with_their_clocks(self, client, cities):
        with time_machine.travel(NOW, tick=False):
            sh = ask(cities.cast.alice)
            hz = ask(cities.cast.alice, XIHU_LINGYIN)
        with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
            client.force_login(cities.cast.alice)
            page = client.get(reverse("rescue:board"))
            rows = client.get(reverse("rescue:board") + "?rows=1")
        body = page.content.decode()
        assert page.status_code == 200 and f'id="rescue-{sh.pk}"' in body
        assert f'id="rescue-{hz.pk}"' not in body  # Hangzhou's: not alice's store
        assert "35:00" in body  # 45 min target, 10 min gone
        assert 'hx-trigger="every 15s"' in body
        assert rows.status_code == 200 and "<html" not in rows.content.decode()
        assert f'id="rescue-{sh.pk}"' in rows.content.decode()

    def test_closed_requests_stay_on_the_board_for_twelve_hours(self, client, cities):
        with time_machine.travel(NOW, tick=False):
            done = ask(cities.cast.alice)
            services.rescue_transition(request=done, by=cities.cast.alice, target="cancelled", reason="误报")
        client.force_login(cities.cast.alice)
        with time_machine.travel(NOW + dt.timedelta(hours=11), tick=False):
            assert f'id="rescue-{done.pk}"' in client.get(reverse("rescue:board")).content.decode()
        with time_machine.travel(NOW + dt.timedelta(hours=13), tick=False):
            assert f'id="rescue-{done.pk}"' not in client.get(reverse("rescue:board")).content.decode()

    def test_the_group_manager_sees_the_whole_group_and_nobody_else_does(self, client, cities):
        sh, hz = ask(cities.cast.grace), ask(cities.cast.grace, XIHU_LINGYIN)
        client.force_login(cities.cast.grace)
        body = client.get(reverse("rescue:board")).content.decode()
        assert f'id="rescue-{sh.pk}"' in body and f'id="rescue-{hz.pk}"' in body
        client.force_login(cities.cast.otto)
        assert f'id="rescue-{sh.pk}"' not in client.get(reverse("rescue:board")).content.decode()
        client.force_login(cities.cast.tom)
        assert client.get(reverse("rescue:board")).status_code == 403
        assert client.get(reverse("rescue:detail", args=[hz.pk])).status_code == 404


class TakeRequestTests:
    def test_staff_take_a_request_and_land_on_its_page(self, client, cities, car):
        client.force_login(cities.cast.alice)
        response = client.post(
            reverse("rescue:new"),
            {
                "latitude": PEOPLES_SQUARE[0],
                "longitude": PEOPLES_SQUARE[1],
                "road_type": "city",
                "fault": "左前轮爆胎",
                "plate": "沪A12345",
                "location_consent": "on",
            },
        )
        rescue = RescueRequest.objects.get()
        assert response.status_code == 302 and response.url == reverse("rescue:detail", args=[rescue.pk])
        assert rescue.vehicle == car and rescue.status == RescueStatus.MATCHED

    def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(self, client, cities):
        client.force_login(cities.cast.alice)
        response = client.post(
            reverse("rescue:new"),
            {"latitude": PEOPLES_SQUARE[0], "longitude": PEOPLES_SQUARE[1], "road_type": "city", "fault": "爆胎"},
        )
        assert response.status_code == 400
        assert 'data-error-for="location_consent"' not in response.content.decode()  # a checkbox: in the block
        assert "consent" in response.content.decode()
        response = client.post(reverse("rescue:new"), {"road_type": "city", "fault": "爆胎", "plate": "ABC"})
        body = response.content.decode()
        assert response.status_code == 400 and 'data-error-for="plate"' in body
        assert not RescueRequest.objects.exists()

    def test_an_expressway_request_says_12122(self, client, cities):
        client.force_login(cities.cast.alice)
        response = client.post(
            reverse("rescue:new"),
            {
                "latitude": KUNSHAN[0],
                "longitude": KUNSHAN[1],
                "road_type": "expressway",
                "fault": "追尾",
                "location_consent": "on",
            },
            follow=True,
        )
        assert "12122" in response.content.decode()
        assert 'id="rescue-12122"' in response.content.decode()


class DetailTests:
    def test_the_crew_sees_the_vehicles_visits_at_every_store_of_the_group(self, client, cities, car):
        # A visit at Hangzhou (another store of the group): registered there by carol.
        service_services.walk_in_register(store=cities.hz, by=cities.cast.carol, service_type="repair", plate=car.plate)
        rescue = ask(cities.cast.alice, vehicle=car)
        client.force_login(cities.cast.alice)
        body = client.get(reverse("rescue:detail", args=[rescue.pk])).content.decode()
        assert "杭州店" in body.split('id="vehicle-history"')[1]

    def test_dispatch_arrive_complete_through_the_page(self, client, cities):
        rescue = ask(cities.cast.alice)
        client.force_login(cities.cast.alice)
        url = reverse("rescue:detail", args=[rescue.pk])
        bad = client.post(url, {"action": "dispatch", "crew": ""})
        assert bad.status_code == 400 and 'data-error-for="crew"' in bad.content.decode()
        assert (
            client.post(url, {"action": "dispatch", "crew": "一号车", "crew_lead": str(cities.cast.tom.pk)}).status_code
            == 302
        )
        client.force_login(cities.cast.tom)
        assert client.post(url, {"action": "arrive"}).status_code == 302
        assert client.post(url, {"action": "cancel", "reason": "x"}).status_code == 403  # not his move
        assert client.post(url, {"action": "complete"}).status_code == 302
        assert RescueRequest.objects.get(pk=rescue.pk).status == RescueStatus.COMPLETED

    def test_a_waiting_request_is_matched_by_hand(self, client, cities):
        for store in (cities.sh, cities.hz, cities.bj, cities.gz, cities.cd):
            cities.base(store, crews=0)
        rescue = ask(cities.cast.alice)
        client.force_login(cities.cast.alice)
        url = reverse("rescue:detail", args=[rescue.pk])
        response = client.post(url, {"action": "match", "store": ""}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        assert "No store of the group has a free rescue crew" in response.content.decode()
        cities.base(cities.hz, crews=1, at=("30.274100", "120.155100"))
        client.post(url, {"action": "match", "store": str(cities.hz.pk)})
        assert RescueRequest.objects.get(pk=rescue.pk).store == cities.hz


class BaseTests:
    def test_the_manager_edits_the_base_and_others_may_not(self, client, cities):
        client.force_login(cities.cast.mia)
        assert client.get(reverse("rescue:bases")).status_code == 200
        url = reverse("rescue:base-edit", args=[cities.sh.pk])
        bad = client.post(url, {"latitude": "95", "longitude": "121.5", "crews": "2"})
        assert bad.status_code == 400 and 'data-error-for="latitude"' in bad.content.decode()
        assert (
            client.post(url, {"latitude": "31.2", "longitude": "121.5", "crews": "2", "is_active": "on"}).status_code
            == 302
        )
        assert cities.sh.rescue_base.__class__.objects.get(store=cities.sh).crews == 2
        client.force_login(cities.cast.alice)
        assert client.get(url).status_code == 404
        client.force_login(cities.cast.otto)
        assert client.get(url).status_code == 404


class CustomerPageTests:
    def test_the_customer_asks_for_help_with_consent_and_follows_the_request(self, client, cities, car):
        url = reverse("rescue:customer-new", args=[cities.cast.group.code])
        page = client.get(url + "?plate=沪A12345&lang=en")
        assert page.status_code == 200 and "data-geo-consent" in page.content.decode()
        # Coordinates without the consent box: dropped, so the described place is needed.
        response = client.post(
            url,
            {
                "plate": "沪A12345",
                "road_type": "city",
                "fault": "没电了",
                "latitude": PEOPLES_SQUARE[0],
                "longitude": PEOPLES_SQUARE[1],
            },
        )
        assert response.status_code == 400 and not RescueRequest.objects.exists()
        response = client.post(
            url,
            {
                "plate": "沪A12345",
                "road_type": "city",
                "fault": "没电了",
                "location_consent": "on",
                "latitude": PEOPLES_SQUARE[0],
                "longitude": PEOPLES_SQUARE[1],
            },
        )
        rescue = RescueRequest.objects.get()
        assert response.status_code == 302 and rescue.vehicle == car and rescue.source == "customer"
        assert rescue.location_consent_channel == "customer_link" and rescue.store == cities.sh
        status = client.get(response.url)
        body = status.content.decode()
        assert status.status_code == 200 and "上海店" in body and 'id="customer-eta"' in body
        assert client.get(response.url.split("?")[0] + "?part=status").status_code == 200
        client.post(response.url.split("?")[0], {"action": "cancel"})
        assert RescueRequest.objects.get().status == RescueStatus.CANCELLED

    def test_a_forged_or_revoked_link_opens_nothing(self, client, cities):
        rescue = ask(cities.cast.alice)
        token = selectors.request_link_token(rescue)
        assert client.get(reverse("rescue:customer-request", args=[token + "x"])).status_code == 403
        rescue.link_nonce = "rotated"
        rescue.save()
        assert client.get(reverse("rescue:customer-request", args=[token])).status_code == 403

    def test_a_described_place_without_coordinates_is_enough(self, client, cities):
        url = reverse("rescue:customer-new", args=[cities.cast.group.code])
        response = client.post(
            url,
            {"plate": "沪B54321", "road_type": "county", "fault": "爆胎", "address": "G15沈海高速嘉定出口往南2公里"},
        )
        assert response.status_code == 302
        assert RescueRequest.objects.get().status == RescueStatus.REQUESTED


class ApiTests:
    def test_the_contract(self, client, cities, api_token):
        with time_machine.travel(NOW, tick=False):
            response = client.post(
                "/api/v1/rescue-requests",
                data=json.dumps(
                    {"lat": 31.2304, "lon": 121.4737, "road_type": "city", "fault": "爆胎", "plate": "沪A12345"}
                ),
                content_type="application/json",
                **api_token(cities.cast.alice),
            )
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) >= {"id", "store", "distance_km", "respond_by"}
        assert body["store"] == "SH01" and 6 < body["distance_km"] < 12
        assert dt.datetime.fromisoformat(body["respond_by"]) == NOW + dt.timedelta(minutes=45)
        read = client.get(f"/api/v1/rescue-requests/{body['id']}", **api_token(cities.cast.alice))
        assert read.status_code == 200 and read.json()["status"] == "matched"
        assert client.get(f"/api/v1/rescue-requests/{body['id']}", **api_token(cities.cast.carol)).status_code == 404

    def test_expressway_and_bad_input(self, client, cities, api_token):
        headers = api_token(cities.cast.alice)
        response = client.post(
            "/api/v1/rescue-requests",
            data=json.dumps({"lat": 31.38, "lon": 120.98, "road_type": "expressway", "fault": "追尾"}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 201 and response.json()["respond_by"] is None
        assert "12122" in response.json()["message"]
        for body, field in (
            ({"lat": 91, "lon": 121, "road_type": "city", "fault": "x"}, "lat"),
            ({"lat": 31, "lon": 121, "road_type": "highway", "fault": "x"}, "road_type"),
            ({"lat": 31, "lon": 121, "road_type": "city", "fault": "x", "vin": "123"}, "vin"),
            ({"lat": 31, "road_type": "city", "fault": "x"}, "lon"),
        ):
            bad = client.post(
                "/api/v1/rescue-requests", data=json.dumps(body), content_type="application/json", **headers
            )
            assert bad.status_code == 422, (body, bad.content)
            assert field in bad.content.decode()
        assert RescueRequest.objects.count() == 1

    def test_a_technician_token_is_refused(self, client, cities, api_token):
        response = client.post(
            "/api/v1/rescue-requests",
            data=json.dumps({"lat": 31.2, "lon": 121.4, "road_type": "city", "fault": "x"}),
            content_type="application/json",
            **api_token(cities.cast.tom),
        )
        assert response.status_code == 403 and not RescueRequest.objects.exists()


def test_the_connected_car_lead_uses_the_public_service(cities, car):
    from aftersales.organisation.rules import Party

    consent_set(customer=car.customer, purpose="vehicle_data", granted=True, channel="desk", by=cities.cast.alice)
    rescue = services.rescue_request_create(
        by=Party.SYSTEM,
        lat=31.2304,
        lon=121.4737,
        road_type="city",
        fault="三级报警：绝缘故障",
        vehicle=car,
        source="connected_car",
    )
    assert rescue.status == RescueStatus.MATCHED and rescue.source == "connected_car"


def test_the_known_customer_gets_the_status_link_once_matched(cities, car, client):
    from aftersales.messaging.models import OutboxMessage

    with time_machine.travel(NOW, tick=False):
        rescue = ask(cities.cast.alice, vehicle=car)
        ask(cities.cast.alice, XIHU_LINGYIN)  # no customer known: nothing to send
    message = OutboxMessage.objects.get(template="rescue_matched")
    assert message.customer == car.customer and message.purpose == "service"
    assert "10:45" in message.body and "/rescue/c/" in message.body  # 02:00 UTC + 45 min, in China
    link = message.body.split("/rescue/c/")[1].split(" ")[0]
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        assert client.get(f"/rescue/c/{link}").status_code == 200
    assert OutboxMessage.objects.filter(related_id=str(rescue.pk)).count() == 1


def test_the_crew_lead_is_told_and_opens_only_their_own_job(cities, client):
    from aftersales.notifications.models import InboxItem

    rescue = ask(cities.cast.alice)
    other = ask(cities.cast.alice, point=XIHU_LINGYIN)  # Hangzhou's, not tom's
    url = reverse("rescue:detail", args=[rescue.pk])
    client.force_login(cities.cast.tom)
    assert client.get(url).status_code == 404  # not yet his job
    services.rescue_dispatch(request=rescue, by=cities.cast.alice, crew="一号车", crew_lead=cities.cast.tom)
    item = InboxItem.objects.get(recipient=cities.cast.tom, kind="rescue_dispatched")
    assert item.url == url and "一号车" in item.text_en
    assert client.get(url).status_code == 200
    assert client.get(reverse("rescue:detail", args=[other.pk])).status_code == 404
    client.force_login(cities.cast.dan)  # the store's driver: no rescue pages at all
    assert client.get(url).status_code == 404
