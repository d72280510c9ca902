"""Demo organisation: a dealer group with stores, opening hours, bays and staff for every role."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from aftersales.organisation.choices import GROUP_ROLES, BayCapability, Role, TechnicianGrade
from aftersales.organisation.models import Bay, DealerGroup, Membership, OpeningHours, StaffProfile, Store


@dataclass(frozen=True)
class StoreTemplate:
    code: str
    name: str
    city: str
    district: str
    address: str
    latitude: str
    longitude: str
    plate_prefix: str
    id_region: str  # first six digits of resident ID numbers issued locally
    brand_key: str


DIRECTIONS = {
    "SH01": "地铁6号线民生路站2号口步行8分钟，门店有免费客户停车位",
    "HZ01": "地铁2号线文三路站C口步行5分钟，入口在文三路辅路",
    "SZ01": "地铁1号线星湖街站4号口步行6分钟",
    "NJ01": "地铁1号线双龙大道站1号口步行10分钟",
    "NB01": "地铁3号线天童庄站B口步行7分钟",
    "WX01": "地铁1号线蠡湖大道站3号口步行6分钟",
}

STORE_TEMPLATES: tuple[StoreTemplate, ...] = (
    StoreTemplate(
        "SH01",
        "上海浦东大众4S店",
        "上海",
        "浦东新区",
        "上海市浦东新区张杨路1888号",
        "31.228900",
        "121.544800",
        "沪A",
        "310115",
        "svw",
    ),
    StoreTemplate(
        "HZ01",
        "杭州西湖比亚迪4S店",
        "杭州",
        "西湖区",
        "浙江省杭州市西湖区文三路477号",
        "30.278900",
        "120.125400",
        "浙A",
        "330106",
        "byd",
    ),
    StoreTemplate(
        "SZ01",
        "苏州园区丰田4S店",
        "苏州",
        "工业园区",
        "江苏省苏州市工业园区星湖街328号",
        "31.304500",
        "120.671300",
        "苏E",
        "320506",
        "toyota",
    ),
    StoreTemplate(
        "NJ01",
        "南京江宁大众4S店",
        "南京",
        "江宁区",
        "江苏省南京市江宁区双龙大道1118号",
        "31.953100",
        "118.839900",
        "苏A",
        "320115",
        "svw",
    ),
    StoreTemplate(
        "NB01",
        "宁波鄞州比亚迪4S店",
        "宁波",
        "鄞州区",
        "浙江省宁波市鄞州区天童南路588号",
        "29.818400",
        "121.558300",
        "浙B",
        "330212",
        "byd",
    ),
    StoreTemplate(
        "WX01",
        "无锡滨湖丰田4S店",
        "无锡",
        "滨湖区",
        "江苏省无锡市滨湖区蠡湖大道2099号",
        "31.530400",
        "120.262200",
        "苏B",
        "320211",
        "toyota",
    ),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕晓东文斌子涵欣怡浩然梓萱"
    "宇轩雨桐思远晨曦佳怡俊杰嘉怡一诺博文若曦鹏飞晓燕丹丹婷婷慧敏家豪志伟振华春梅秋菊玉兰红梅立新"
)

DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    # username (named after the role, as the README lists them), role, display name
    ("advisor", Role.ADVISOR, "张晓东（服务顾问）"),
    ("technician", Role.TECHNICIAN, "李建国（技师）"),
    ("agent", Role.AGENT, "王欣怡（客服）"),
    ("parts", Role.PARTS_CLERK, "赵立新（配件员）"),
    ("driver", Role.DRIVER, "孙海涛（取送车司机）"),
    ("manager", Role.MANAGER, "陈志强（站长）"),
    ("group", Role.GROUP_MANAGER, "刘振华（集团经理）"),
    ("quality", Role.QUALITY, "周静（服务质量部）"),
    ("shopper", Role.AUDITOR, "林悦（神秘顾客）"),
    ("privacy", Role.PRIVACY_OFFICER, "黄敏（个人信息保护负责人）"),
    ("admin", Role.ADMIN, "系统管理员"),
)

DRIVER_NAMES = ("周立伟", "吴建平", "郑国庆", "冯志刚", "何永强", "许海军")

BAY_LAYOUT: tuple[tuple[str, str, list[str]], ...] = (
    ("A1", "机电工位1", [BayCapability.GENERAL, BayCapability.DIAGNOSIS]),
    ("A2", "机电工位2", [BayCapability.GENERAL]),
    ("A3", "机电工位3", [BayCapability.GENERAL, BayCapability.ALIGNMENT]),
    ("M1", "快保工位1", [BayCapability.MAINTENANCE]),
    ("M2", "快保工位2", [BayCapability.MAINTENANCE]),
    ("E1", "新能源高压工位", [BayCapability.NEV_HIGH_VOLTAGE, BayCapability.GENERAL, BayCapability.DIAGNOSIS]),
    ("B1", "钣金工位", [BayCapability.BODYWORK]),
    ("P1", "烤漆房", [BayCapability.PAINT]),
)


def chinese_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def seed_organisation(*, rng: random.Random, stores: int) -> tuple[DealerGroup, list[Store], dict[str, object]]:
    """The group, `stores` stores and the staff; returns demo users by username."""
    group = DealerGroup.objects.create(code="east-china", name="华东汽车服务集团")
    created: list[Store] = []
    for index in range(stores):
        template = STORE_TEMPLATES[index % len(STORE_TEMPLATES)]
        suffix = "" if index < len(STORE_TEMPLATES) else str(index // len(STORE_TEMPLATES) + 1)
        store = Store.objects.create(
            group=group,
            code=template.code if not suffix else f"{template.code[:2]}{index + 1:02d}",
            name=template.name + suffix,
            city=template.city,
            address=template.address,
            phone=f"400-8{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            latitude=Decimal(template.latitude),
            longitude=Decimal(template.longitude),
            plate_prefix=template.plate_prefix,
            directions=DIRECTIONS.get(template.code, ""),
            rescue_capacity=rng.choice((1, 2, 2, 3)),
        )
        OpeningHours.objects.bulk_create(
            [OpeningHours(store=store, weekday=d, opens=dt.time(8, 30), closes=dt.time(20, 0)) for d in range(5)]
            + [OpeningHours(store=store, weekday=d, opens=dt.time(9, 0), closes=dt.time(18, 0)) for d in (5, 6)]
        )
        Bay.objects.bulk_create(
            [Bay(store=store, code=c, name=n, capabilities=list(caps)) for c, n, caps in BAY_LAYOUT]
        )
        created.append(store)

    # One password hash for every demo account: hashing is deliberately slow, and they share the password.
    password = make_password(settings.DEMO_PASSWORD)
    user_model = get_user_model()
    users: dict[str, object] = {}
    first = created[0]
    for username, role, display in DEMO_USERS:
        user = user_model.objects.create(
            username=username,
            password=password,
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
            first_name=display,
        )
        StaffProfile.objects.create(
            user=user, display_name=display, technician_grade=TechnicianGrade.SENIOR if role == Role.TECHNICIAN else ""
        )
        in_group = role in GROUP_ROLES
        Membership.objects.create(user=user, group=group, store=None if in_group else first, role=role)
        if role == Role.TECHNICIAN:
            # The senior technician is also the workshop foreman: QC, the board and efficiency warnings.
            Membership.objects.create(user=user, group=group, store=first, role=Role.FOREMAN)
        users[username] = user

    # A realistic team in every store (a 4S workshop with eight bays): four advisors at the desk, eight
    # technicians of mixed grades under a foreman, two customer-service agents and two parts clerks.
    team = (
        (Role.ADVISOR, 4),
        (Role.TECHNICIAN, 8),
        (Role.FOREMAN, 1),
        (Role.AGENT, 2),
        (Role.PARTS_CLERK, 2),
        (Role.MANAGER, 1),
    )
    grades = (
        TechnicianGrade.SENIOR,
        TechnicianGrade.SENIOR,
        TechnicianGrade.INTERMEDIATE,
        TechnicianGrade.INTERMEDIATE,
        TechnicianGrade.JUNIOR,
        TechnicianGrade.SENIOR,
        TechnicianGrade.INTERMEDIATE,
        TechnicianGrade.JUNIOR,
    )
    for store in created:
        for role, count in team:
            for n in range(1, count + 1):
                if store is first and n == 1 and role != Role.TECHNICIAN:
                    continue  # the named demo user already fills this place (the demo technician is the foreman)
                name = chinese_name(rng)
                user = user_model.objects.create(
                    username=f"{store.code.lower()}-{role}-{n}", password=password, first_name=name
                )
                StaffProfile.objects.create(
                    user=user,
                    display_name=name,
                    technician_grade=(
                        grades[(n - 1) % len(grades)]
                        if role == Role.TECHNICIAN
                        else TechnicianGrade.SENIOR
                        if role == Role.FOREMAN
                        else ""
                    ),
                )
                Membership.objects.create(user=user, group=group, store=store, role=role)
        # Two pick-up drivers per store (取送车), named without drawing on the generator so the rest of the
        # seeded data stays as it was; the demo driver is the first store's first.
        for n in range(1, 3):
            if store is first and n == 1:
                continue
            name = DRIVER_NAMES[(created.index(store) * 2 + n) % len(DRIVER_NAMES)]
            user = user_model.objects.create(
                username=f"{store.code.lower()}-{Role.DRIVER}-{n}", password=password, first_name=name
            )
            StaffProfile.objects.create(user=user, display_name=name)
            Membership.objects.create(user=user, group=group, store=store, role=Role.DRIVER)
    return group, created, users
