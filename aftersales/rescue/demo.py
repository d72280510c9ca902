"""Demo roadside rescue for `aftersales seed`: every store gets a rescue base at its own address (two crews, three at
the first store), then the last four weeks' requests near the stores (mostly completed, with realistic times; one
cancelled, one on an expressway handed to 12122), and today's live ones taken through the real service (matched,
one crew on the way, one on site) so the board opens with something to watch.

The past requests are written as history (their times are the past); their precise locations older than the
retention setting are coarsened by the real retention job at the end, as the nightly sweep would have done."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from aftersales.customers.choices import ConsentChannel
from aftersales.customers.models import Vehicle
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.rescue import services
from aftersales.rescue.choices import RescueSource, RescueStatus, RoadType
from aftersales.rescue.models import RescueBase, RescueRequest

WEEKS = 4
FAULTS = (
    "左前轮爆胎，无备胎",
    "蓄电池亏电，无法启动",
    "仪表盘发动机故障灯亮，动力不足",
    "追尾小事故，车辆无法行驶",
    "钥匙锁在车内",
    "高压系统故障报警，车辆限功率",
    "冷却液温度过高，已靠边停车",
    "油箱没油了",
)
ROADS = (RoadType.CITY,) * 6 + (RoadType.COUNTY,) * 3


def _near(rng: random.Random, store: Store, km: float) -> tuple[Decimal, Decimal]:
    """A point about `km` from the store (0.009° of latitude ≈ 1 km)."""
    dlat = rng.uniform(-1, 1) * km * 0.009
    dlon = rng.uniform(-1, 1) * km * 0.0105
    q = Decimal("0.000001")
    return (
        (store.latitude + Decimal(str(dlat))).quantize(q),
        (store.longitude + Decimal(str(dlon))).quantize(q),
    )


def flush_rescue() -> None:
    """Before the stores go (`seed --flush`): the requests protect their stores."""
    RescueRequest.objects.all().delete()
    RescueBase.objects.all().delete()


def seed_rescue(
    *, rng: random.Random, stores: list[Store], users: dict[str, Any], today: dt.date, now: dt.datetime | None = None
) -> dict[str, int]:
    """The bases, four weeks of history and today's live requests; returns the counts.  `now` is accepted like the
    other generators' but today's calls go through the real service at the real time."""
    for index, store in enumerate(stores):
        RescueBase.objects.update_or_create(
            store=store,
            defaults={"latitude": store.latitude, "longitude": store.longitude, "crews": 3 if index == 0 else 2},
        )
    cars = list(
        Vehicle.objects.filter(store__in=stores).exclude(plate="").select_related("customer").order_by("pk")[:60]
    )
    zone = timezone.get_default_timezone()
    history: list[RescueRequest] = []
    for days_ago in range(WEEKS * 7, 0, -1):
        if rng.random() > 0.45:  # about three a week
            continue
        store = rng.choice(stores)
        car = rng.choice(cars) if cars and rng.random() < 0.7 else None
        road = rng.choice(ROADS) if days_ago % 9 else RoadType.EXPRESSWAY
        at = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(rng.randint(7, 21), rng.randint(0, 59)))
        at = at.replace(tzinfo=zone)
        lat, lon = _near(rng, store, rng.uniform(2, 25 if road != RoadType.CITY else 12))
        values = setting_values_for_store(store)
        km = Decimal(
            str(
                round(
                    services.haversine_km(float(lat), float(lon), float(store.latitude), float(store.longitude))
                    * float(values["rescue_detour_factor"]),
                    1,
                )
            )
        )
        request = RescueRequest(
            group=store.group,
            store=store,
            source=rng.choice((RescueSource.CUSTOMER, RescueSource.STAFF, RescueSource.STAFF)),
            customer=car.customer if car else None,
            vehicle=car,
            plate=car.plate if car else "",
            vin=car.vin if car else "",
            latitude=lat,
            longitude=lon,
            location_consent_at=at,
            location_consent_channel=ConsentChannel.PHONE,
            road_type=road,
            fault=rng.choice(FAULTS),
            created_at=at,
            match_due_at=at + dt.timedelta(minutes=int(values["rescue_match_minutes"])),
        )
        if road == RoadType.EXPRESSWAY:
            request.status = RescueStatus.HANDED_12122
            request.handed_off_at = at
            request.reason = services.expressway_message()[:300]
        else:
            limit = int(
                values["rescue_response_city_minutes" if road == RoadType.CITY else "rescue_response_county_minutes"]
            )
            request.distance_km = km
            request.matched_at = at + dt.timedelta(seconds=rng.randint(20, 200))
            request.respond_by = at + dt.timedelta(minutes=limit)
            request.dispatched_at = request.matched_at + dt.timedelta(minutes=rng.randint(1, 6))
            request.crew = f"救援{rng.randint(1, 3)}号车"
            if rng.random() < 0.1:
                request.status = RescueStatus.CANCELLED
                request.cancelled_at = request.dispatched_at + dt.timedelta(minutes=rng.randint(3, 15))
                request.reason = "客户已自行解决"
            else:
                # about 2 km per minute plus getting out; now and then a late one
                travel = int(float(km) * rng.uniform(1.2, 2.2)) + rng.randint(5, 12)
                request.status = RescueStatus.COMPLETED
                request.on_site_at = request.dispatched_at + dt.timedelta(minutes=travel)
                request.completed_at = request.on_site_at + dt.timedelta(minutes=rng.randint(15, 70))
        history.append(request)
    RescueRequest.objects.bulk_create(history)

    # Today: three calls through the real service, then dated back as if they had come in over the last 40
    # minutes (one crew on site in time, one on the way, one just matched).
    advisor = users.get("advisor") or users.get("manager")
    live = 0
    if advisor is not None:
        first = stores[0]
        calls = (
            (4, RoadType.CITY, "右后轮爆胎", 41),
            (9, RoadType.CITY, "蓄电池亏电", 12),
            (18, RoadType.COUNTY, "发动机异响，不敢继续行驶", 2),
        )
        for index, (km, road, fault, minutes_ago) in enumerate(calls):
            lat, lon = _near(rng, first, km)
            car = cars[index] if len(cars) > index else None
            rescue = services.rescue_request_create(
                by=advisor, lat=lat, lon=lon, road_type=road, fault=fault, vehicle=car, source=RescueSource.STAFF
            )
            if rescue.status == RescueStatus.MATCHED and index < 2:
                rescue = services.rescue_dispatch(request=rescue, by=advisor, crew=f"救援{index + 1}号车")
            if rescue.status == RescueStatus.DISPATCHED and index == 0:
                rescue = services.rescue_transition(request=rescue, by=advisor, target=RescueStatus.ON_SITE)
            back = dt.timedelta(minutes=minutes_ago)
            steps = {"matched_at": 1, "dispatched_at": 3, "on_site_at": 33}
            changes: dict[str, Any] = {
                "created_at": rescue.created_at - back,
                "match_due_at": rescue.match_due_at - back,
            }
            if rescue.respond_by:
                changes["respond_by"] = rescue.respond_by - back
            for name, after in steps.items():
                if getattr(rescue, name):
                    changes[name] = changes["created_at"] + dt.timedelta(minutes=after)
            RescueRequest.objects.filter(pk=rescue.pk).update(**changes)
            live += 1
    coarsened = services.rescue_locations_coarsen()
    return {"bases": len(stores), "history": len(history), "today": live, "coarsened": coarsened}
