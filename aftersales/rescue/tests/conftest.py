"""Fixtures for roadside rescue: the cast's group g1 with stores in five cities (real coordinates of places in
Shanghai, Hangzhou, Beijing, Guangzhou and Chengdu), each with a rescue base; the other group g2 has a base in
Beijing too, which g1's requests must never reach."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from aftersales.config.testing import make_customer, make_store, make_user, make_vehicle
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Store
from aftersales.rescue.models import RescueBase

# (latitude, longitude) of real places
SHANGHAI_PUDONG_BASE = ("31.221500", "121.544700")  # Pudong, near Century Park
HANGZHOU_BASE = ("30.274100", "120.155100")  # Hangzhou, West Lake east shore
BEIJING_BASE = ("39.980000", "116.310000")  # Haidian
GUANGZHOU_BASE = ("23.135300", "113.328100")  # Tianhe
CHENGDU_BASE = ("30.658600", "104.064800")  # Chengdu, north of Tianfu Square
OTHER_GROUP_BEIJING = ("39.904200", "116.407400")  # g2's store at Tian'anmen

PEOPLES_SQUARE = ("31.230400", "121.473700")  # Shanghai
HONGQIAO = ("31.197500", "121.336400")  # Shanghai, Hongqiao hub (west)
XIHU_LINGYIN = ("30.240800", "120.101900")  # Hangzhou, Lingyin temple
TIANANMEN = ("39.904200", "116.407400")  # Beijing
CANTON_TOWER = ("23.106500", "113.324500")  # Guangzhou
CHUNXI_ROAD = ("30.657100", "104.080600")  # Chengdu
KUNSHAN = ("31.384900", "120.980800")  # between Shanghai and Suzhou: 50 km from Pudong


@dataclass
class Map:
    cast: Any
    sh: Store
    hz: Store
    bj: Store
    gz: Store
    cd: Store
    other_bj: Store
    bases: dict[str, RescueBase]

    def base(self, store: Store, *, crews: int = 1, at: tuple[str, str] | None = None) -> RescueBase:
        lat, lon = at or (str(store.latitude), str(store.longitude))
        base, _ = RescueBase.objects.update_or_create(
            store=store, defaults={"latitude": Decimal(lat), "longitude": Decimal(lon), "crews": crews}
        )
        return base


def _at(store: Store, point: tuple[str, str]) -> Store:
    store.latitude, store.longitude = Decimal(point[0]), Decimal(point[1])
    store.save(update_fields=["latitude", "longitude"])
    return store


@pytest.fixture
def cities(cast) -> Map:
    sh = _at(cast.store_a, SHANGHAI_PUDONG_BASE)
    hz = _at(cast.store_b, HANGZHOU_BASE)
    bj = _at(make_store(cast.group, "BJ09", "北京海淀店"), BEIJING_BASE)
    gz = _at(make_store(cast.group, "GZ01", "广州天河店"), GUANGZHOU_BASE)
    cd = _at(make_store(cast.group, "CD01", "成都店"), CHENGDU_BASE)
    other_bj = _at(cast.store_c, OTHER_GROUP_BEIJING)
    the_map = Map(cast=cast, sh=sh, hz=hz, bj=bj, gz=gz, cd=cd, other_bj=other_bj, bases={})
    for store in (sh, hz, bj, gz, cd, other_bj):
        the_map.bases[store.code] = the_map.base(store)
    return the_map


@pytest.fixture
def car(cast):
    customer = make_customer(cast.store_a, by=cast.alice, name="王五")
    return make_vehicle(customer, by=cast.alice, plate="沪A12345")


@pytest.fixture
def foreman_b(cast):
    return make_user("fred", Role.FOREMAN, store=cast.store_b)
