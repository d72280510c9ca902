"""Demo customers and vehicles: Chinese names, local plates, a model range with NEVs, mileage that
grows with time, registrations with seasonality.  Deterministic for a given random generator and day."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from aftersales.customers import crypto
from aftersales.customers.choices import NEV_POWERTRAINS, ConsentChannel, ConsentPurpose, Gender, Powertrain
from aftersales.customers.models import Consent, ConsentEvent, Customer, CustomerStoreLink, LinkReason, Vehicle
from aftersales.customers.services import PRIVACY_NOTICE_VERSION
from aftersales.customers.validators import id_number_check_char, vin_check_digit
from aftersales.organisation.demo import STORE_TEMPLATES, chinese_name
from aftersales.organisation.models import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class ModelLine:
    brand: str
    model: str
    powertrain: str
    price_low: int
    price_high: int
    wmi: str
    share: int  # relative weight in the store's sales


MODEL_RANGES: dict[str, tuple[ModelLine, ...]] = {
    "svw": (
        ModelLine("上汽大众", "朗逸", Powertrain.PETROL, 110_000, 150_000, "LSV", 30),
        ModelLine("上汽大众", "帕萨特", Powertrain.PETROL, 180_000, 260_000, "LSV", 18),
        ModelLine("上汽大众", "途观L", Powertrain.PETROL, 200_000, 290_000, "LSV", 20),
        ModelLine("上汽大众", "途观L PHEV", Powertrain.PHEV, 230_000, 280_000, "LSV", 6),
        ModelLine("上汽大众", "ID.4 X", Powertrain.BEV, 170_000, 230_000, "LSV", 12),
        ModelLine("上汽大众", "途昂", Powertrain.PETROL, 270_000, 360_000, "LSV", 8),
    ),
    "byd": (
        ModelLine("比亚迪", "秦PLUS DM-i", Powertrain.PHEV, 100_000, 150_000, "LGX", 28),
        ModelLine("比亚迪", "宋PLUS DM-i", Powertrain.PHEV, 150_000, 190_000, "LGX", 22),
        ModelLine("比亚迪", "汉EV", Powertrain.BEV, 210_000, 290_000, "LGX", 14),
        ModelLine("比亚迪", "海豹", Powertrain.BEV, 180_000, 260_000, "LGX", 12),
        ModelLine("比亚迪", "元PLUS", Powertrain.BEV, 130_000, 160_000, "LGX", 14),
        ModelLine("比亚迪", "唐DM-i", Powertrain.PHEV, 200_000, 280_000, "LGX", 10),
    ),
    "toyota": (
        ModelLine("广汽丰田", "凯美瑞", Powertrain.PETROL, 170_000, 240_000, "LVG", 22),
        ModelLine("广汽丰田", "凯美瑞双擎", Powertrain.HEV, 200_000, 260_000, "LVG", 14),
        ModelLine("一汽丰田", "卡罗拉", Powertrain.PETROL, 110_000, 150_000, "LFM", 24),
        ModelLine("一汽丰田", "RAV4荣放", Powertrain.HEV, 170_000, 260_000, "LFM", 18),
        ModelLine("广汽丰田", "汉兰达", Powertrain.PETROL, 260_000, 350_000, "LVG", 12),
        ModelLine("一汽丰田", "bZ3", Powertrain.BEV, 110_000, 170_000, "LFM", 10),
    ),
}

MOBILE_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "181",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
ROADS = ("人民路", "中山路", "解放路", "建设路", "长江路", "学府路", "新华路", "东方路", "湖滨路", "文化路", "振兴路")
# Relative number of new customers per calendar month: quiet around the Spring Festival, busy in spring and autumn.
MONTH_WEIGHT = {1: 6, 2: 4, 3: 9, 4: 10, 5: 10, 6: 8, 7: 7, 8: 7, 9: 10, 10: 10, 11: 9, 12: 8}
VIN_YEAR_CODES = {
    2015: "F",
    2016: "G",
    2017: "H",
    2018: "J",
    2019: "K",
    2020: "L",
    2021: "M",
    2022: "N",
    2023: "P",
    2024: "R",
    2025: "S",
    2026: "T",
    2027: "V",
    2028: "W",
}
_VIN_BODY = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _month_starts(today: dt.date, months: int) -> list[dt.date]:
    first = today.replace(day=1)
    result = []
    for back in range(months - 1, -1, -1):
        year, month = divmod(first.month - 1 - back, 12)
        result.append(dt.date(first.year + year, month + 1, 1))
    return result


def registration_dates(rng: random.Random, *, count: int, today: dt.date, months: int) -> list[dt.datetime]:
    """`count` registration times over the last `months` months, weighted by season and by opening hours."""
    starts = _month_starts(today, months)
    weights = [MONTH_WEIGHT[s.month] for s in starts]
    times = []
    for start in rng.choices(starts, weights=weights, k=count):
        next_month = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last_day = min(next_month - dt.timedelta(days=1), today)
        day = start + dt.timedelta(days=rng.randint(0, max((last_day - start).days, 0)))
        moment = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=SHANGHAI)
        times.append(moment)
    times.sort()
    return times


def mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number


def id_number(rng: random.Random, region: str, born: dt.date, male: bool) -> str:
    sequence = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def vin(rng: random.Random, wmi: str, model_year: int, used: set[str]) -> str:
    while True:
        body = "".join(rng.choice(_VIN_BODY) for _ in range(5))
        tail = VIN_YEAR_CODES.get(model_year, "T") + rng.choice("ABCDEFGH") + f"{rng.randint(0, 999_999):06d}"
        draft = f"{wmi}{body}0{tail}"
        value = draft[:8] + vin_check_digit(draft) + draft[9:]
        if value not in used:
            used.add(value)
            return value


def plate(rng: random.Random, prefix: str, nev: bool, used: set[str]) -> str:
    while True:
        if nev:
            tail = rng.choice("DF") + rng.choice(_PLATE_LETTERS + "0123456789") + f"{rng.randint(0, 9999):04d}"
        else:
            chars = [str(rng.randint(0, 9)) for _ in range(5)]
            for position in rng.sample(range(5), k=rng.choice((0, 1, 1, 2))):
                chars[position] = rng.choice(_PLATE_LETTERS)
            tail = "".join(chars)
        value = prefix + tail
        if value not in used:
            used.add(value)
            return value


def _weighted_line(rng: random.Random, lines: tuple[ModelLine, ...]) -> ModelLine:
    return rng.choices(lines, weights=[line.share for line in lines], k=1)[0]


def seed_customers(
    *,
    rng: random.Random,
    stores: list[Store],
    per_store: int,
    today: dt.date,
    months: int,
    progress: Callable[[int], None] = lambda n: None,
    batch_size: int = 500,
) -> int:
    """Customers, vehicles and consents for every store; bulk inserts, returns the customer count."""
    templates = {t.code: t for t in STORE_TEMPLATES}
    total = 0
    # Mobile numbers, VINs and plates are unique in the dealer group (one file per person and per car).
    used_phones: set[str] = set()
    used_vins: set[str] = set()
    used_plates: set[str] = set()
    for store in stores:
        template = templates.get(store.code) or STORE_TEMPLATES[stores.index(store) % len(STORE_TEMPLATES)]
        lines = MODEL_RANGES[template.brand_key]
        moments = registration_dates(rng, count=per_store, today=today, months=months)
        for chunk in _chunks(moments, batch_size):
            customers, profiles = [], []
            for registered in chunk:
                customer, profile = _customer(rng, store, template, registered, today, used_phones)
                customers.append(customer)
                profiles.append(profile)
            Customer.objects.bulk_create(customers)
            vehicles, consents, events = [], [], []
            for customer, profile in zip(customers, profiles, strict=True):
                for _ in range(rng.choices((1, 2, 3), weights=(88, 10, 2))[0]):
                    vehicles.append(
                        _vehicle(
                            rng, store, template, lines, customer, profile["registered"], today, used_vins, used_plates
                        )
                    )
                for consent in _consents(rng, customer, profile["registered"]):
                    consents.append(consent)
                    events.append(
                        ConsentEvent(
                            customer=customer,
                            purpose=consent.purpose,
                            granted=consent.granted,
                            notice_version=consent.notice_version,
                            channel=consent.channel,
                            at=consent.decided_at,
                        )
                    )
            Vehicle.objects.bulk_create(vehicles)
            CustomerStoreLink.objects.bulk_create(
                CustomerStoreLink(customer=c, store=store, reason=LinkReason.REGISTERED, created_at=c.created_at)
                for c in customers
            )
            Consent.objects.bulk_create(consents)
            ConsentEvent.objects.bulk_create(events)
            total += len(customers)
            progress(len(customers))
    return total


def _chunks(items: list[dt.datetime], size: int) -> Iterator[list[dt.datetime]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _customer(
    rng: random.Random, store: Store, template: object, registered: dt.datetime, today: dt.date, used_phones: set[str]
) -> tuple[Customer, dict[str, object]]:
    male = rng.random() < 0.68  # most registered owners in after-sales files are men
    age = rng.choices((rng.randint(22, 30), rng.randint(31, 45), rng.randint(46, 65)), weights=(3, 5, 2))[0]
    born = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    phone = mobile(rng, used_phones)
    has_id = rng.random() < 0.7
    ident = id_number(rng, template.id_region, born, male) if has_id else ""  # type: ignore[attr-defined]
    address = ""
    if rng.random() < 0.6:
        address = (
            f"{template.city}市{template.district}{rng.choice(ROADS)}{rng.randint(1, 999)}号"  # type: ignore[attr-defined]
            f"{rng.randint(1, 30)}栋{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
        )
    customer = Customer(
        group_id=store.group_id,
        store=store,
        name=chinese_name(rng),
        gender=Gender.MALE if male else Gender.FEMALE,
        birthday=born if (has_id or rng.random() < 0.5) else None,
        phone_encrypted=crypto.encrypt(phone),
        phone_hash=crypto.search_hash("phone", phone),
        phone_last4_hash=crypto.search_hash("phone4", phone[-4:]),
        id_number_encrypted=crypto.encrypt(ident),
        id_number_hash=crypto.search_hash("id", ident),
        address_encrypted=crypto.encrypt(address),
        is_priority=rng.random() < 0.08,
        created_at=registered,
    )
    return customer, {"registered": registered}


def _vehicle(
    rng: random.Random,
    store: Store,
    template: object,
    lines: tuple[ModelLine, ...],
    customer: Customer,
    registered: dt.datetime,
    today: dt.date,
    used_vins: set[str],
    used_plates: set[str],
) -> Vehicle:
    line = _weighted_line(rng, lines)
    # Most customers bought the car here when they registered; the rest brought a car bought earlier.
    bought_here = rng.random() < 0.6
    purchase = registered.date() - dt.timedelta(days=0 if bought_here else rng.randint(60, 6 * 365))
    model_year = purchase.year if purchase.month > 3 else purchase.year - rng.choice((0, 1))
    yearly_km = rng.randint(8_000, 25_000)
    recorded_on = registered.date() + dt.timedelta(days=rng.randint(0, max((today - registered.date()).days, 0)))
    mileage = int(yearly_km * (recorded_on - purchase).days / 365) + rng.randint(5, 60)
    nev = line.powertrain in NEV_POWERTRAINS
    prefix = template.plate_prefix if rng.random() < 0.9 else rng.choice(("沪A", "浙A", "苏E", "苏A", "皖A"))  # type: ignore[attr-defined]
    price = Decimal(rng.randrange(line.price_low, line.price_high, 100)).quantize(Decimal("0.01"))
    return Vehicle(
        group_id=store.group_id,
        store=store,
        customer=customer,
        vin=vin(rng, line.wmi, model_year, used_vins),
        plate=plate(rng, prefix, nev, used_plates),
        brand=line.brand,
        model_name=line.model,
        powertrain=line.powertrain,
        purchase_date=purchase,
        purchase_price=price,
        mileage_km=mileage,
        mileage_recorded_on=recorded_on,
        created_at=registered,
    )


# (purpose, share of customers asked, share of those asked who agree)
CONSENT_PATTERN = (
    (ConsentPurpose.SURVEYS, 0.85, 0.78),
    (ConsentPurpose.MARKETING, 0.7, 0.45),
    (ConsentPurpose.VEHICLE_DATA, 0.4, 0.5),
)


def _consents(rng: random.Random, customer: Customer, registered: dt.datetime) -> Iterator[Consent]:
    for purpose, asked, agree in CONSENT_PATTERN:
        if rng.random() < asked:
            yield Consent(
                customer=customer,
                purpose=purpose,
                granted=rng.random() < agree,
                notice_version=PRIVACY_NOTICE_VERSION,
                channel=rng.choices(
                    (ConsentChannel.DESK, ConsentChannel.CUSTOMER_LINK, ConsentChannel.WECHAT), weights=(6, 3, 1)
                )[0],
                decided_at=registered,
                created_at=registered,
            )
