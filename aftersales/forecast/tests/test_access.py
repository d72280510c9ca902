"""Who sees the forecast: managers of the store (VIEW_KPIS); another store's or group's code is refused like a
missing one; a store without history shows the empty state."""

from __future__ import annotations

import pytest

from aftersales.forecast.models import StoreForecast

pytestmark = pytest.mark.django_db


def test_a_manager_sees_the_empty_state_without_history(client, cast):
    client.force_login(cast.mia)
    response = client.get("/forecast/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="forecast-empty"' in html
    assert "the forecast needs 26" in html
    assert 'data-chart="forecast-chart"' not in html
    assert StoreForecast.objects.filter(store=cast.store_a).count() == 1  # filled on the first view


@pytest.mark.parametrize("user", ["alice", "tom", "dan"])
def test_staff_without_the_kpi_view_are_refused(client, cast, user):
    client.force_login(getattr(cast, user))
    assert client.get("/forecast/").status_code == 403
    assert not StoreForecast.objects.exists()


def test_another_groups_store_is_not_found(client, cast):
    client.force_login(cast.mia)
    assert client.get("/forecast/", {"store": cast.store_c.code}).status_code == 404
    assert client.get("/forecast/", {"store": cast.store_b.code}).status_code == 404  # not mia's store
    client.force_login(cast.grace)  # the group manager picks either store of her group
    assert client.get("/forecast/", {"store": cast.store_b.code}).status_code == 200
    client.force_login(cast.otto)
    assert client.get("/forecast/", {"store": cast.store_a.code}).status_code == 404
    assert not StoreForecast.objects.filter(store=cast.store_a).exists()


def test_the_api_is_scoped_like_the_page(client, cast, api_token):
    answer = client.get("/api/v1/forecast", {"store": cast.store_a.code}, **api_token(cast.mia))
    assert answer.status_code == 200
    assert answer.json()["enough_history"] is False and answer.json()["mase"] is None
    refused = client.get("/api/v1/forecast", {"store": cast.store_a.code}, **api_token(cast.otto))
    assert refused.status_code == 422 and "store" in refused.content.decode()
    assert client.get("/api/v1/forecast", {"store": cast.store_a.code}, **api_token(cast.alice)).status_code == 403
    assert client.get("/api/v1/forecast", {"store": "NOPE"}, **api_token(cast.mia)).status_code == 422
    assert client.get("/api/v1/forecast", **api_token(cast.mia)).status_code == 422
    assert not StoreForecast.objects.filter(store=cast.store_c).exists()
