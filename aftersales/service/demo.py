"""Demo service history: slots, appointments and repair orders with their events, estimates, QC checks and
deferred work, over the whole history window, plus today's busy day for every role.

Everything is built in memory first, deterministically from the seed's random generator, then inserted in
bulk, in the order of the foreign keys (Slot → Appointment → RepairOrder → events, estimates, checks → lines →
deferred work).  The per-row services are never called: they would take minutes and write audit entries and
messages for history that never happened.

Rules the data keeps (the seed tests assert them):
- every order's events are a path through `transitions.REPAIR_ORDER_FLOW`, starting with reception;
- a delivered order's `billed_total` is the sum of its approved lines;
- `Slot.booked` counts the slot's appointments that were not cancelled before arrival (`cancelled_at` empty):
  cancelling a booking gives the place back, a no-show or a cancelled repair order does not (as in the services);
- a vehicle has at most one open order, and no bay holds two open orders in a bay state;
- odometer readings only grow: each order's `mileage_in` follows the vehicle's yearly distance, and the vehicle
  ends with the latest reading;
- a comeback (返修) is a later order of the same vehicle with the same `service_type`, arriving within 30 days of
  the earlier delivery, whose `customer_words` start with the same complaint (the part before "；") — see
  `complaint_category`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.customers import crypto
from aftersales.customers.choices import NEV_POWERTRAINS, Powertrain
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.choices import GRADE_RANK, Role, TechnicianGrade
from aftersales.organisation.models import Bay, Membership, OpeningHours, StaffProfile, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.parts.models import Batch, Movement, Part, Stock
from aftersales.reminders.choices import ReminderKind, ReminderState
from aftersales.reminders.maths import add_months
from aftersales.reminders.models import Reminder
from aftersales.reminders.selectors import interval_for, interval_rules
from aftersales.service.choices import (
    DAMAGE_KINDS,
    DAMAGE_ZONES,
    AppointmentStatus,
    BookingChannel,
    DecisionChannel,
    DeferredStatus,
    EstimateStatus,
    LineDecision,
    LineKind,
    PartGrade,
    PickupStatus,
    RepairOrderStatus,
    ServiceType,
)
from aftersales.service.models import (
    ANOTHER_GRADE_CHOSEN,
    AdvisorSlotLoad,
    Appointment,
    ConcernCategory,
    DeferredWork,
    Estimate,
    EstimateLine,
    JobClockSegment,
    LinePartIssue,
    PickupEvent,
    QualityCheck,
    RepairOrder,
    RepairOrderEvent,
    Slot,
)
from aftersales.service.services.booking import slot_capacity
from aftersales.service.services.orders import QC_CHECKLIST

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = RepairOrderStatus
CENT = Decimal("0.01")
COMEBACK_SUFFIX = "；上次修完后又出现了"
ACCIDENT_WORDS = "车头撞了，保险公司已定损"
# Who the customers are, so the tiers of SPEC §5 all appear in plausible shares: regulars who come every two or
# three months (some of them after an insured accident repair: the loyal, tier A), customers who stop coming
# (they moved, or went to an independent garage: churn risk, tier D), and everybody else.
REGULAR_SHARE = 0.15
REGULAR_ACCIDENT_SHARE = 0.6
LAPSING_SHARE = 0.3
# Spring Festival (春节) days: visits are postponed around it, bodywork peaks after it.
SPRING_FESTIVAL = {
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}


# The concern category (KPIS.md) read from the service type, else from the customer's words.
CATEGORY_BY_TYPE = {
    ServiceType.MAINTENANCE: "maintenance",
    ServiceType.BODYWORK: "body",
    ServiceType.NEV_CHECK: "nev_battery",
}
CATEGORY_WORDS = (
    (("刹车", "制动"), "brakes"),
    (("空调", "冷气", "暖风"), "ac"),
    (("轮胎", "胎压", "扎胎"), "tyres"),
    (("电池", "续航", "充电"), "nev_battery"),
    (("发动机", "机油", "抖", "故障灯", "油耗"), "engine"),
    (("异响", "底盘", "悬挂", "跑偏", "方向"), "chassis"),
    (("电瓶", "灯", "电", "雨刮", "车窗"), "electrical"),
    (("钣金", "喷漆", "刮", "撞"), "body"),
)


def concern_code(service_type: str, words: str) -> str:
    if service_type in CATEGORY_BY_TYPE:
        return CATEGORY_BY_TYPE[service_type]
    for keys, code in CATEGORY_WORDS:
        if any(key in words for key in keys):
            return code
    return "other"


def complaint_category(words: str) -> str:
    """The complaint a visit is about: what the customer said, up to the first "；" (a comeback adds a remark)."""
    return words.split("；", 1)[0].strip()


# --- The catalogue of work -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One estimate line template.  For parts, `alt_price` offers a brand-aftermarket alternative."""

    kind: str
    description: str
    code: str = ""
    hours: str = ""  # labour: standard hours
    grade: str = ""  # labour: minimum technician grade
    price: int = 0  # part: OEM unit price; fee: amount
    qty: str = "1"
    alt_price: int = 0
    alt_origin: str = ""


def L(description: str, code: str, hours: str, grade: str = "") -> Op:  # noqa: N802 - short catalogue builders
    return Op(LineKind.LABOUR, description, code=code, hours=hours, grade=grade)


def P(description: str, code: str, price: int, qty: str = "1", alt: int = 0, alt_origin: str = "") -> Op:  # noqa: N802
    return Op(LineKind.PART, description, code=code, price=price, qty=qty, alt_price=alt, alt_origin=alt_origin)


def F(description: str, amount: int) -> Op:  # noqa: N802
    return Op(LineKind.FEE, description, price=amount)


@dataclass(frozen=True)
class Job:
    service_type: str
    words: str  # the customer's words; the complaint category
    ops: tuple[Op, ...]
    weight: int = 10
    months: tuple[int, ...] = ()  # peak months (weight ×3)
    nev: bool | None = None  # True: NEVs only; False: combustion engines only; None: any
    extras: tuple[tuple[Op, ...], ...] = ()  # advice the customer may decline (becomes deferred work)


BRAKE_FLUID = (
    L("更换制动液", "BRK-05", "0.5"),
    P("制动液 DOT4 1L", "B000750M3", 120, alt=75, alt_origin="博世（苏州）"),
)
WIPERS = (P("雨刮片（一对）", "5G1955425", 260, alt=150, alt_origin="博世（苏州）"),)
ALIGNMENT = (L("四轮定位", "SUS-09", "1.0", TechnicianGrade.INTERMEDIATE),)
FRONT_PADS = (
    L("更换前刹车片", "BRK-01", "1.0"),
    P("前刹车片", "5QD698151", 680, alt=420, alt_origin="博世（苏州）"),
)
THROTTLE = (L("清洗节气门", "ENG-12", "0.8"),)
AC_FILTER = (P("空调滤芯", "5QD819653", 150, alt=70, alt_origin="曼牌滤清器（上海）"),)

JOBS: tuple[Job, ...] = (
    # Maintenance: every six months or 10 000 km; summer and the weeks before holidays are busy.
    Job(
        ServiceType.MAINTENANCE,
        "常规保养，到里程了",
        (
            L("更换机油机滤", "MNT-01", "0.5"),
            P("全合成机油 0W-20（升）", "G052167M4", 98, qty="4", alt=68, alt_origin="美孚（天津）"),
            P("机油滤清器", "06L115562B", 68, alt=35, alt_origin="曼牌滤清器（上海）"),
            F("环保处理费", 20),
        ),
        weight=30,
        months=(6, 7, 8),
        nev=False,
        extras=(BRAKE_FLUID, WIPERS, THROTTLE, AC_FILTER, FRONT_PADS),
    ),
    Job(
        ServiceType.MAINTENANCE,
        "做大保养，顺便检查一下空调",
        (
            L("更换机油机滤", "MNT-01", "0.5"),
            L("更换空气滤芯、空调滤芯、火花塞", "MNT-03", "1.2"),
            P("全合成机油 0W-20（升）", "G052167M4", 98, qty="4", alt=68, alt_origin="美孚（天津）"),
            P("机油滤清器", "06L115562B", 68, alt=35, alt_origin="曼牌滤清器（上海）"),
            P("空气滤清器", "5QD129620", 120, alt=60, alt_origin="曼牌滤清器（上海）"),
            AC_FILTER[0],
            P("火花塞", "06K905601B", 85, qty="4", alt=55, alt_origin="博世（苏州）"),
            F("环保处理费", 20),
        ),
        weight=12,
        months=(6, 7, 9),
        nev=False,
        extras=(BRAKE_FLUID, ALIGNMENT, WIPERS),
    ),
    Job(
        ServiceType.MAINTENANCE,
        "新能源车常规保养",
        (
            L("新能源常规保养（底盘、制动、空调检查）", "NEV-M1", "0.6"),
            AC_FILTER[0],
            F("车辆清洁", 30),
        ),
        weight=30,
        months=(6, 7, 8),
        nev=True,
        extras=(BRAKE_FLUID, WIPERS, ALIGNMENT),
    ),
    # Repairs: A/C in summer, batteries and heating in winter.
    Job(
        ServiceType.REPAIR,
        "空调不制冷，出风是热的",
        (
            L("空调系统检测", "AC-01", "0.5", TechnicianGrade.INTERMEDIATE),
            L("空调抽真空、加注冷媒", "AC-02", "0.8"),
            P("冷媒 R134a（瓶）", "G052410A2", 260),
        ),
        weight=6,
        months=(6, 7, 8),
        extras=(AC_FILTER,),
    ),
    Job(
        ServiceType.REPAIR,
        "空调有异味",
        (L("空调管路杀菌清洗", "AC-05", "0.6"), AC_FILTER[0]),
        weight=3,
        months=(5, 6, 7),
    ),
    Job(
        ServiceType.REPAIR,
        "刹车有异响",
        (
            *FRONT_PADS,
            L("前刹车盘光盘", "BRK-03", "0.8"),
        ),
        weight=6,
    ),
    Job(
        ServiceType.REPAIR,
        "发动机故障灯亮",
        (
            F("电脑诊断费", 200),
            L("更换点火线圈", "ENG-07", "1.0", TechnicianGrade.INTERMEDIATE),
            P("点火线圈", "06H905110G", 420, alt=260, alt_origin="博世（苏州）"),
        ),
        weight=4,
        nev=False,
        extras=(THROTTLE,),
    ),
    Job(
        ServiceType.REPAIR,
        "早上打不着火，电瓶没电",
        (
            L("更换蓄电池", "ELE-02", "0.3"),
            P("蓄电池 12V 70Ah", "000915105DH", 980, alt=650, alt_origin="瓦尔塔（上海）"),
        ),
        weight=4,
        months=(12, 1, 2),
    ),
    Job(
        ServiceType.REPAIR,
        "过减速带底盘有异响",
        (
            L("更换前减震器（一对）", "SUS-03", "2.0", TechnicianGrade.INTERMEDIATE),
            P("前减震器", "5QD413031", 1150, qty="2", alt=720, alt_origin="萨克斯（上海）"),
        ),
        weight=3,
        extras=(ALIGNMENT,),
    ),
    Job(
        ServiceType.REPAIR,
        "轮胎鼓包，跑偏",
        (
            L("更换轮胎、动平衡", "TYR-01", "0.6"),
            P("轮胎 225/55 R17", "TYR22555R17", 1100, alt=850, alt_origin="米其林（沈阳）"),
            ALIGNMENT[0],
        ),
        weight=3,
    ),
    # Inspection: before the annual test and before long holiday drives.
    Job(
        ServiceType.INSPECTION,
        "年检前做个检测",
        (L("年检前安全检测", "INS-01", "0.5"), F("尾气检测费", 80)),
        weight=5,
        extras=(WIPERS, FRONT_PADS),
    ),
    Job(
        ServiceType.INSPECTION,
        "长途出行前安全检查",
        (L("长途出行安全检查（24项）", "INS-03", "0.8"),),
        weight=3,
        months=(1, 9, 10),
        extras=(BRAKE_FLUID, WIPERS),
    ),
    # Warranty (索赔): parts and labour paid by the manufacturer.
    Job(
        ServiceType.WARRANTY,
        "中控屏黑屏（在保修期内）",
        (L("更换中控主机（索赔）", "WTY-11", "1.5", TechnicianGrade.SENIOR), P("中控主机（索赔件）", "5QD035874", 0)),
        weight=3,
    ),
    Job(
        ServiceType.WARRANTY,
        "天窗漏水（在保修期内）",
        (L("疏通天窗排水管（索赔）", "WTY-23", "1.2"),),
        weight=2,
        months=(5, 6, 7),
    ),
    # Bodywork and paint: after winter ice and after the Spring Festival trips.
    Job(
        ServiceType.BODYWORK,
        "前保险杠刮擦",
        (
            L("前保险杠钣金修复", "BDY-02", "2.0"),
            L("前保险杠喷漆", "PNT-02", "3.0", TechnicianGrade.INTERMEDIATE),
            F("油漆辅料费", 380),
        ),
        weight=4,
        months=(1, 2, 3, 12),
    ),
    Job(
        ServiceType.BODYWORK,
        "左前门被刮凹陷",
        (
            L("左前门钣金整形", "BDY-05", "3.5", TechnicianGrade.INTERMEDIATE),
            L("左前门喷漆", "PNT-05", "3.0", TechnicianGrade.INTERMEDIATE),
            F("油漆辅料费", 420),
        ),
        weight=3,
        months=(1, 2, 3),
    ),
    # An insurance claim after a front-end collision: the big bill of a 4S store's body shop (not seasonal).
    Job(
        ServiceType.BODYWORK,
        ACCIDENT_WORDS,
        (
            L("前部钣金校正", "BDY-20", "6.0", TechnicianGrade.SENIOR),
            P("前保险杠总成", "5QD807221", 2600, alt=1600, alt_origin="广州骏达（品牌件）"),
            P("左前大灯总成", "5QD941005", 3800),
            P("发动机盖", "5QD823031", 2400),
            P("左前翼子板", "5QD821021", 1200),
            L("前部喷漆（三件）", "PNT-20", "8.0", TechnicianGrade.INTERMEDIATE),
            F("油漆辅料费", 980),
        ),
        weight=1,
    ),
    Job(
        ServiceType.BODYWORK,
        "追尾，后保险杠要换",
        (
            L("拆装后保险杠", "BDY-11", "1.5"),
            P("后保险杠总成", "5QD807421", 1800, alt=1100, alt_origin="广州骏达（品牌件）"),
            L("后保险杠喷漆", "PNT-11", "3.0", TechnicianGrade.INTERMEDIATE),
            F("油漆辅料费", 450),
        ),
        weight=2,
        months=(1, 2, 3),
    ),
    # NEV checks: battery health in winter, high-voltage safety.
    Job(
        ServiceType.NEV_CHECK,
        "冬天续航掉得厉害",
        (L("动力电池健康度检测", "NEV-02", "1.0", TechnicianGrade.SENIOR), F("高压系统绝缘检测", 150)),
        weight=8,
        months=(12, 1, 2),
        nev=True,
    ),
    Job(
        ServiceType.NEV_CHECK,
        "新能源三电年度检测",
        (
            L("三电系统检测", "NEV-01", "1.0", TechnicianGrade.SENIOR),
            P("电池冷却液（升）", "G13050A1", 95, qty="2"),
        ),
        weight=6,
        nev=True,
        extras=(BRAKE_FLUID,),
    ),
)

SUPPLEMENTARY: tuple[tuple[Op, ...], ...] = (
    (L("更换后刹车片", "BRK-02", "1.0"), P("后刹车片", "5QD698451", 560, alt=350, alt_origin="博世（苏州）")),
    (L("更换发动机下护板", "ENG-30", "0.5"), P("发动机下护板", "5QD825235", 380)),
    (P("空调干燥瓶", "5Q0820191", 320),),
    (L("更换球头", "SUS-12", "0.8", TechnicianGrade.INTERMEDIATE), P("下摆臂球头", "5QD407366", 450)),
)
DECLINE_REASONS = ("下次保养再做", "先考虑一下价格", "这次时间来不及", "", "想先问问朋友", "等年底再说")
CANCEL_REASONS = ("行程有变，改天再约", "临时出差", "车已经好了", "家里有事")
WAITING_PARTS_REASONS = (
    "原厂件缺货，已从中心库调货（预计明天到）",
    "等待厂家索赔件发货",
    "配件型号不符，重新订货",
    "品牌件供应商送货中",
)
QC_FAIL_NOTES = (
    "路试时仍有轻微异响，重新紧固",
    "机油液位偏低，补加",
    "仪表有故障码未清除",
    "漆面有橘皮，需打磨抛光",
    "轮胎螺栓未按扭矩紧固",
)
OEM_ORIGIN = {"svw": "上汽大众原厂（上海安亭）", "byd": "比亚迪原厂（深圳坪山）", "toyota": "丰田原厂（天津）"}
PARTS_PREFIX = {"svw": "", "byd": "BYD-", "toyota": "TYT-"}


# --- Context ---------------------------------------------------------------------------------------------


@dataclass
class StoreCtx:
    store: Store
    brand_key: str
    slot_minutes: int
    per_advisor: int
    capacity: int
    rate: Decimal
    deferred_days: int
    hours: dict[int, list[tuple[dt.time, dt.time]]]
    advisors: list[int]
    technicians: list[tuple[int, str]]  # (user id, grade)
    foreman: int | None
    staff: list[int]
    drivers: list[int]
    bays: dict[str, Bay]
    slots: dict[dt.datetime, Slot] = field(default_factory=dict)
    by_day: dict[dt.date, list[dt.datetime]] = field(default_factory=dict)
    loads: dict[tuple[dt.datetime, int], AdvisorSlotLoad] = field(default_factory=dict)


@dataclass
class Built:
    appointments: list[Appointment] = field(default_factory=list)
    orders: list[RepairOrder] = field(default_factory=list)
    events: list[RepairOrderEvent] = field(default_factory=list)
    estimates: list[Estimate] = field(default_factory=list)
    lines: list[EstimateLine] = field(default_factory=list)
    checks: list[QualityCheck] = field(default_factory=list)
    deferred: list[DeferredWork] = field(default_factory=list)
    segments: list[JobClockSegment] = field(default_factory=list)
    reminders: list[Any] = field(default_factory=list)


@dataclass
class VehicleState:
    vehicle: Vehicle
    customer: Customer
    nev: bool
    rate: int  # km per year
    open_deferred: list[DeferredWork] = field(default_factory=list)
    last_reading: tuple[dt.date, int] | None = None


@dataclass
class Visit:
    """What one visit adds, kept aside until the visit is known to count (see ServiceDemo._keep)."""

    state: VehicleState
    order: RepairOrder = field(init=False)
    events: list[RepairOrderEvent] = field(default_factory=list)
    estimates: list[Estimate] = field(default_factory=list)
    lines: list[EstimateLine] = field(default_factory=list)
    checks: list[QualityCheck] = field(default_factory=list)
    deferred: list[DeferredWork] = field(default_factory=list)
    resolved: list[DeferredWork] = field(default_factory=list)
    dismissed: list[DeferredWork] = field(default_factory=list)
    reading: tuple[dt.date, int] | None = None
    standard: float = 0.0
    cancel_appointment: bool = False

    def event(self, old: str, new: str, at: dt.datetime, by: int | None, reason: str = "") -> None:
        self.events.append(
            record(
                RepairOrderEvent, order=self.order, from_status=old, to_status=new, at=at, by_id=by, reason=reason[:300]
            )
        )
        self.order.status = new


class Record:
    """A plain row for `fast_insert`, with the model's defaults: building a model instance costs ~20 µs, and the
    history has a few hundred thousand rows.  Foreign keys are kept as objects (by field name) or ids."""

    @property
    def pk(self) -> Any:
        return self.__dict__.get("id")


_DEFAULTS: dict[type, tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]] = {}


def record(model: type[models.Model], **values: Any) -> Any:
    if model not in _DEFAULTS:
        static, dynamic = {}, []
        for f in model._meta.concrete_fields:
            if f.has_default() and callable(f.default):
                dynamic.append((f.attname, f.default))
            else:
                static[f.attname] = f.get_default() if not f.primary_key else None
        _DEFAULTS[model] = (static, dynamic)
    static, dynamic = _DEFAULTS[model]
    row = Record()
    row.__dict__.update(static)
    for name, factory in dynamic:
        if name not in values:
            row.__dict__[name] = factory()
    row.__dict__.update(values)
    return row


def _copy_line(source: EstimateLine, estimate: Estimate) -> EstimateLine:
    """Deferred work offered again at a later visit."""
    return record(
        EstimateLine,
        estimate=estimate,
        kind=source.kind,
        description=source.description,
        operation_code=source.operation_code,
        standard_hours=source.standard_hours,
        hourly_rate=source.hourly_rate,
        min_grade=source.min_grade,
        part_number=source.part_number,
        grade=source.grade,
        unit_price=source.unit_price,
        quantity=source.quantity,
        amount=source.amount,
        origin=source.origin,
    )


def _warned_at(events: list[RepairOrderEvent], standard: float) -> dt.datetime | None:
    """When work time passed standard time + 10 % (the efficiency warning), from the order's events."""
    limit = dt.timedelta(minutes=standard * 1.1)
    spent = dt.timedelta(0)
    started = None
    for event in events:
        if event.to_status == S.IN_PROGRESS and started is None:
            started = event.at
        elif event.to_status != S.IN_PROGRESS and started is not None:
            if spent + (event.at - started) > limit:
                return started + (limit - spent)
            spent += event.at - started
            started = None
    return None


def _local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=SHANGHAI)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _later(moment: dt.datetime, minutes: float) -> dt.datetime:
    """`minutes` of workshop time after `moment`: work stops at 19:30 and goes on at 08:30 the next day."""
    remaining = dt.timedelta(minutes=minutes)
    current = moment.astimezone(SHANGHAI)
    while True:
        close = _local(current.date(), dt.time(19, 30))
        if current + remaining <= close:
            return current + remaining
        remaining -= max(close - current, dt.timedelta(0))
        current = _local(current.date() + dt.timedelta(days=1), dt.time(8, 30))


def _wait_share(job: Job, arrived: dt.datetime) -> float:
    """How likely the customer waits on site rather than leaving the car: by the job's standard hours (a
    customer waits for an oil change, not for a new gearbox) and the time of day (late arrivals leave the car)."""
    if job.service_type == ServiceType.BODYWORK:
        return 0.0
    hours = sum(float(op.hours) for op in job.ops if op.kind == LineKind.LABOUR)
    share = 0.6 if hours <= 1.0 else 0.3 if hours <= 2.0 else 0.05
    if job.service_type == ServiceType.WARRANTY:
        share /= 2  # a warranty claim often waits for the maker's part
    local = arrived.astimezone(SHANGHAI).time()
    return share * (0.25 if local >= dt.time(16, 30) else 1.0)


def _workshop_spans(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) cut to workshop hours (08:30–19:30, as `_later`): the stretches a technician can clock."""
    spans = []
    current = start.astimezone(SHANGHAI)
    while current < end:
        day = current.date()
        opens, closes = _local(day, dt.time(8, 30)), _local(day, dt.time(19, 30))
        a, b = max(current, opens), min(end, closes)
        if a < b:
            spans.append((a, b))
        current = _local(day + dt.timedelta(days=1), dt.time.min)
    return spans


def _odometer(state: VehicleState, day: dt.date) -> int:
    """The vehicle's reading on `day`: the recorded figure moved along its yearly distance (never backwards)."""
    vehicle = state.vehicle
    recorded = vehicle.mileage_recorded_on or vehicle.purchase_date or day
    if day >= recorded:
        return vehicle.mileage_km + int(state.rate * (day - recorded).days / 365)
    purchase = vehicle.purchase_date or recorded
    span = max((recorded - purchase).days, 1)
    return max(5, int(vehicle.mileage_km * max((day - purchase).days, 0) / span))


def _yearly_rate(vehicle: Vehicle) -> int:
    recorded, purchase = vehicle.mileage_recorded_on, vehicle.purchase_date
    if recorded and purchase and (recorded - purchase).days > 60:
        return int(min(max(vehicle.mileage_km * 365 / (recorded - purchase).days, 8_000), 25_000))
    return 8_000 + (sum(map(ord, vehicle.vin)) * 97) % 17_000


def _store_ctx(store: Store, brand_key: str) -> StoreCtx:
    values = setting_values_for_store(store)
    per_advisor = int(values["bookings_per_advisor_per_slot"])
    members = list(
        Membership.objects.filter(store=store, role__in=[Role.ADVISOR, Role.TECHNICIAN, Role.FOREMAN, Role.DRIVER])
        .order_by("user_id", "role")
        .values_list("user_id", "role")
    )
    grades = dict(
        StaffProfile.objects.filter(user_id__in=[m[0] for m in members]).values_list("user_id", "technician_grade")
    )
    advisors = sorted({uid for uid, role in members if role == Role.ADVISOR})
    technicians = sorted({(uid, grades.get(uid, "")) for uid, role in members if role == Role.TECHNICIAN})
    foremen = sorted({uid for uid, role in members if role == Role.FOREMAN})
    hours: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for weekday, opens, closes in (
        OpeningHours.objects.filter(store=store).order_by("weekday", "opens").values_list("weekday", "opens", "closes")
    ):
        hours[weekday].append((opens, closes))
    staff = sorted(set(Membership.objects.filter(store=store).values_list("user_id", flat=True)))
    return StoreCtx(
        store=store,
        brand_key=brand_key,
        slot_minutes=int(values["slot_minutes"]),
        per_advisor=per_advisor,
        capacity=slot_capacity(store, per_advisor=per_advisor),
        rate=Decimal(values["default_hourly_rate"]).quantize(CENT),
        deferred_days=int(values["deferred_work_days"]),
        hours=dict(hours),
        advisors=advisors,
        technicians=technicians,
        foreman=foremen[0] if foremen else (technicians[0][0] if technicians else None),
        staff=staff,
        drivers=sorted({uid for uid, role in members if role == Role.DRIVER}),
        bays={bay.code: bay for bay in Bay.objects.filter(store=store, is_active=True).order_by("code")},
    )


def _make_slots(ctx: StoreCtx, first: dt.date, last: dt.date) -> None:
    length = dt.timedelta(minutes=ctx.slot_minutes)
    day = first
    while day <= last:
        for opens, closes in ctx.hours.get(day.weekday(), []):
            start, end = _local(day, opens), _local(day, closes)
            while start + length <= end:
                ctx.slots[start] = Slot(
                    store=ctx.store, start=start, end=start + length, capacity=ctx.capacity, created_at=start
                )
                ctx.by_day.setdefault(day, []).append(start)
                start += length
        day += dt.timedelta(days=1)


def _day_slots(ctx: StoreCtx, day: dt.date) -> list[dt.datetime]:
    return ctx.by_day.get(day, [])


# --- The generator ---------------------------------------------------------------------------------------


class ServiceDemo:
    def __init__(self, *, rng: random.Random, today: dt.date, now: dt.datetime, window_start: dt.date) -> None:
        self.rng = rng
        self._categories: dict[str, int] | None = None
        self.today = today
        self.now = now
        self.window_start = window_start
        self.built = Built()
        self.today_start = _local(today, dt.time.min)
        self._clocked_in: set[int] = set()  # technicians with a running clock now (one each)
        # Vehicles whose first maintenance falls due while they are the store's: (store, vehicle state, due day).
        self.first_due: list[tuple[StoreCtx, VehicleState, dt.date]] = []

    # -- small helpers --
    def _facts(self, order: RepairOrder, words: str, job: Job) -> random.Random:
        """Reception a few minutes after arrival, the concern category from the service type or the words, and
        whether the customer waits on site: likely for a quick job (maintenance, inspection, a small repair) when
        there is time left in the day, rare for long repairs, never for bodywork.  Drawn from the order's own seed,
        so the demo's main sequence (and its figures) is unchanged; returns that generator for the order's other
        own draws (a waiting customer's quick timeline, the job clock)."""
        if self._categories is None:
            self._categories = dict(ConcernCategory.objects.filter(group=None).values_list("code", "pk"))
        own = random.Random(order.link_nonce)  # noqa: S311 - demo data, not secrets
        wait = own.uniform(1, 9) if own.random() < 0.85 else own.uniform(10, 25)
        order.reception_started_at = min(order.arrived_at + dt.timedelta(minutes=wait), max(order.arrived_at, self.now))
        order.waits_on_site = own.random() < _wait_share(job, order.arrived_at)
        order.concern_category_id = self._categories.get(concern_code(order.service_type, words))
        return own

    def pick(self, items: Any) -> Any:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def minutes(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    # -- slots and appointments --
    def book_slot(self, ctx: StoreCtx, start: dt.datetime, advisor: int | None, *, holds: bool) -> tuple[Slot, Any]:
        """The slot at `start` (or the next free one that day) and the advisor who keeps the booking."""
        slot = ctx.slots[start]
        if holds:
            if slot.booked >= slot.capacity:
                later = [
                    s
                    for s in _day_slots(ctx, start.astimezone(SHANGHAI).date())
                    if s > start and ctx.slots[s].booked < ctx.slots[s].capacity
                ]
                if not later:
                    return slot, "full"
                slot = ctx.slots[later[0]]
            slot.booked += 1
            if advisor is not None:
                key = (slot.start, advisor)
                load = ctx.loads.get(key)
                if load is None:
                    load = ctx.loads[key] = AdvisorSlotLoad(slot=slot, advisor_id=advisor, booked=0)
                if load.booked < ctx.per_advisor:
                    load.booked += 1
                else:
                    advisor = None
        return slot, advisor

    def appointment(
        self,
        ctx: StoreCtx,
        state: VehicleState,
        start: dt.datetime,
        service_type: str,
        words: str,
        *,
        channel: str,
        status: str,
        booked_at: dt.datetime,
        pickup: bool = False,
        driver: bool = True,
        driver_id: int | None = None,
    ) -> Appointment | None:
        advisor = self.pick(ctx.advisors) if ctx.advisors and self.chance(0.3) else None
        cancelled = status == AppointmentStatus.CANCELLED
        slot, advisor = self.book_slot(ctx, start, advisor, holds=not cancelled)
        if advisor == "full":
            return None
        appointment = Appointment(
            store=ctx.store,
            slot=slot,
            customer_id=state.customer.pk,
            vehicle_id=state.vehicle.pk,
            service_type=service_type,
            channel=channel,
            advisor_id=advisor,
            status=status,
            customer_words=words[:300],
            created_at=booked_at,
            created_by_id=self.pick(ctx.advisors) if channel in (BookingChannel.PHONE, BookingChannel.WECHAT) else None,
        )
        if pickup:
            appointment.pickup = True
            appointment.pickup_address_encrypted = crypto.encrypt(
                f"{ctx.store.city}{self.pick(('人民路', '中山路', '学府路', '长江路'))}{self.rng.randint(1, 999)}号"
            )
            appointment.pickup_from = slot.start - dt.timedelta(minutes=90)
            appointment.pickup_to = slot.start - dt.timedelta(minutes=30)
            appointment.pickup_status = PickupStatus.PLANNED
            if driver_id is not None:
                appointment.driver_id = driver_id
            elif driver and ctx.drivers:  # only the store's drivers are ever assigned (the rulebook's rule)
                appointment.driver_id = self.pick(ctx.drivers)
        if cancelled:
            appointment.cancelled_at = max(booked_at, slot.start - dt.timedelta(hours=self.rng.randint(2, 48)))
            appointment.cancel_reason = self.pick(CANCEL_REASONS)
        self.built.appointments.append(appointment)
        return appointment

    def channel(self, when: dt.date) -> str:
        """Bookings drift towards the customer's phone over the window."""
        span = max((self.today - self.window_start).days, 1)
        progress = min(max((when - self.window_start).days / span, 0.0), 1.0)
        weights = (20 + 35 * progress, 38 - 18 * progress, 27, 15 - 8 * progress)
        return self.rng.choices(
            (BookingChannel.ONLINE, BookingChannel.PHONE, BookingChannel.WECHAT, BookingChannel.WALK_IN), weights
        )[0]

    # -- jobs and estimates --
    def job(self, state: VehicleState, month: int) -> Job:
        candidates = [
            j
            for j in JOBS
            if j.nev is None or j.nev == state.nev or (j.nev is False and state.vehicle.powertrain != Powertrain.BEV)
        ]
        candidates = [j for j in candidates if not (j.nev is False and state.vehicle.powertrain == Powertrain.BEV)]
        weights = [j.weight * (3 if month in j.months else 1) for j in candidates]
        return self.rng.choices(candidates, weights)[0]

    def lines_for(
        self, ctx: StoreCtx, estimate: Estimate, ops: tuple[Op, ...], *, warranty: bool, group_start: int
    ) -> tuple[list[EstimateLine], int]:
        """Lines of `ops`; a part with an alternative is offered in both grades half of the time."""
        lines = []
        group = group_start
        for op in ops:
            line = self.line(ctx, estimate, op, warranty=warranty)
            lines.append(line)
            if op.kind == LineKind.PART and op.alt_price and not warranty and self.chance(0.5):
                group += 1
                alt = self.line(ctx, estimate, op, warranty=False, grade=PartGrade.EQUIVALENT)
                line.choice_group = alt.choice_group = group
                lines.append(alt)
        return lines, group

    def line(self, ctx: StoreCtx, estimate: Estimate, op: Op, *, warranty: bool, grade: str = "") -> EstimateLine:
        line = record(
            EstimateLine,
            estimate=estimate,
            kind=op.kind,
            description=op.description,
            operation_code=op.code,
            created_at=estimate.created_at,
        )
        if op.kind == LineKind.LABOUR:
            rate = Decimal(0) if warranty else ctx.rate
            line.standard_hours, line.hourly_rate, line.min_grade = Decimal(op.hours), rate, op.grade
            line.amount = _money(Decimal(op.hours) * rate)
        elif op.kind == LineKind.PART:
            brand = grade == PartGrade.EQUIVALENT
            price = Decimal(op.alt_price if brand else op.price)
            line.grade = PartGrade.EQUIVALENT if brand else PartGrade.OEM
            line.part_number = (f"AM-{op.code}" if brand else f"{PARTS_PREFIX.get(ctx.brand_key, '')}{op.code}")[:40]
            if brand:
                line.description = f"{op.description}（品牌件）"
            line.unit_price, line.quantity = price, Decimal(op.qty)
            line.amount = _money(price * Decimal(op.qty))
            line.origin = op.alt_origin if brand else OEM_ORIGIN.get(ctx.brand_key, "原厂")
        else:
            line.amount = _money(Decimal(op.price))
        return line

    def decide(
        self,
        lines: list[EstimateLine],
        at: dt.datetime,
        advisor: int,
        *,
        approve_p: float,
        link_share: float,
    ) -> dt.datetime:
        """The customer's decisions, line by line; returns when the last decision was made."""
        channel = self.rng.choices(
            (DecisionChannel.LINK, DecisionChannel.DESK, DecisionChannel.PHONE),
            (link_share, (1 - link_share) * 0.7, (1 - link_share) * 0.3),
        )[0]
        last = at
        groups: dict[int, list[EstimateLine]] = defaultdict(list)
        for line in lines:
            if line.choice_group is not None:
                groups[line.choice_group].append(line)
        for line in lines:
            if line.decision != LineDecision.PENDING:
                continue
            when = at + dt.timedelta(minutes=self.minutes(2, 45 if channel == DecisionChannel.LINK else 15))
            last = max(last, when)
            staff = None if channel == DecisionChannel.LINK else advisor
            if line.choice_group is not None and approve_p > 0:
                pair = groups[line.choice_group]
                chosen = pair[0] if self.chance(0.55) else pair[-1]
                for other in pair:
                    other.decision = LineDecision.APPROVED if other is chosen else LineDecision.DECLINED
                    other.decline_reason = "" if other is chosen else ANOTHER_GRADE_CHOSEN
                    other.decided_at, other.decision_channel, other.decided_by_id = when, channel, staff
                continue
            approved = self.chance(approve_p)
            line.decision = LineDecision.APPROVED if approved else LineDecision.DECLINED
            line.decline_reason = "" if approved else self.pick(DECLINE_REASONS)
            line.decided_at, line.decision_channel, line.decided_by_id = when, channel, staff
        return last

    def defer_declined(self, ctx: StoreCtx, state: VehicleState, lines: list[EstimateLine]) -> list[DeferredWork]:
        items = []
        for line in lines:
            if line.decision != LineDecision.DECLINED or line.decline_reason == ANOTHER_GRADE_CHOSEN:
                continue
            item = record(
                DeferredWork,
                store=ctx.store,
                vehicle_id=state.vehicle.pk,
                source_line=line,
                description=line.description,
                amount=line.amount,
                reason=line.decline_reason,
                suggested_date=line.decided_at.astimezone(SHANGHAI).date() + dt.timedelta(days=ctx.deferred_days),
                created_at=line.decided_at,
            )
            items.append(item)
        return items

    def trace(self, line: EstimateLine, fitted: dt.datetime) -> None:
        if line.kind != LineKind.PART or line.decision != LineDecision.APPROVED:
            return
        made = fitted.astimezone(SHANGHAI).date() - dt.timedelta(days=self.rng.randint(20, 400))
        line.batch_number = (
            f"{'B' if line.grade == PartGrade.EQUIVALENT else 'P'}{made:%y%m}-{self.rng.randint(0, 99999):05d}"
        )
        line.production_date = made
        line.warranty_months = 24 if line.grade == PartGrade.OEM else 12

    # -- one repair order --
    def order(
        self,
        ctx: StoreCtx,
        state: VehicleState,
        job: Job,
        arrived: dt.datetime,
        *,
        appointment: Appointment | None,
        words: str,
        comeback: bool = False,
        stop: str | None = None,
        timeline: dict[str, dt.datetime] | None = None,
        technician: int | None = None,
        advisor: int | None = None,
        bay: str | None = None,
        cancel: bool = False,
        qc_fail: bool | None = None,
        parts_wait: bool | None = None,
        over: bool | None = None,
        alternative: bool = False,
    ) -> RepairOrder | None:
        """One visit from arrival to delivery, or to `stop` (the state it is in now).  `timeline` fixes when the
        listed states were entered (today's scripted orders); otherwise times follow realistic durations.
        Nothing is kept when a history visit would not be finished before today (returns None)."""
        rng = self.rng
        t = timeline or {}
        advisor = advisor or (appointment.advisor_id if appointment and appointment.advisor_id else None)
        advisor = advisor or self.pick(ctx.advisors)
        warranty = job.service_type == ServiceType.WARRANTY or comeback
        day = arrived.astimezone(SHANGHAI).date()
        visit = Visit(state=state)
        order = visit.order = RepairOrder(
            store=ctx.store,
            customer_id=state.customer.pk,
            vehicle_id=state.vehicle.pk,
            appointment=appointment,
            service_type=job.service_type,
            status=S.RECEPTION,
            advisor_id=advisor,
            walk_in=appointment is None,
            priority=state.customer.is_priority,
            arrived_at=arrived,
            customer_words=words,
            link_nonce=f"{rng.getrandbits(64):016x}",
            created_at=arrived,
        )
        own = self._facts(order, words, job)
        # A customer who waits on site is taken through quickly (inspection, estimate at the desk, the next free
        # bay): those times are the order's own draws, the main sequence draws as for everybody else.
        quick = order.waits_on_site and not t
        visit.event("", S.RECEPTION, arrived, advisor, _("walk-in") if order.walk_in else _("booked arrival"))
        if stop == S.RECEPTION and "inspection" not in t:
            return self._keep(visit)

        # The walk-around inspection.
        inspected = t.get("inspection") or arrived + dt.timedelta(
            minutes=self.minutes(8, 28) if self.chance(0.88) else self.minutes(31, 55)
        )
        if quick:
            inspected = (order.reception_started_at or arrived) + dt.timedelta(minutes=own.uniform(3, 9))
        reading = _odometer(state, day)
        order.inspection_done_at, order.mileage_in = inspected, reading
        order.fuel_level = self.pick((25, 50, 50, 75, 75, 100)) if not state.nev else rng.randint(20, 90)
        order.valuables_reminded = self.chance(0.93)
        if self.chance(0.35):
            order.damage_marks = [
                {"zone": self.pick(DAMAGE_ZONES)[0], "kind": self.pick(DAMAGE_KINDS)[0], "note": ""}
                for _n in range(rng.randint(1, 3))
            ]
        visit.reading = (day, reading)

        # The estimate: the job, advice the customer may decline, deferred work brought back from earlier visits.
        estimate = Estimate(order=order, number=1, status=EstimateStatus.SENT, sent_by_id=advisor)
        visit.estimates.append(estimate)
        ops = job.ops
        if comeback:  # the rework is free
            ops = tuple(op for op in job.ops if op.kind == LineKind.LABOUR)[:1] or job.ops[:1]
        lines, group = self.lines_for(ctx, estimate, ops, warranty=warranty, group_start=0)
        if alternative and not any(line.choice_group for line in lines):
            pad = FRONT_PADS[1]
            oem = self.line(ctx, estimate, pad, warranty=False)
            brand = self.line(ctx, estimate, pad, warranty=False, grade=PartGrade.EQUIVALENT)
            group += 1
            oem.choice_group = brand.choice_group = group
            lines += [self.line(ctx, estimate, FRONT_PADS[0], warranty=False), oem, brand]
        extra: list[EstimateLine] = []
        if job.extras and not comeback and self.chance(0.45):
            extra, group = self.lines_for(ctx, estimate, self.pick(job.extras), warranty=False, group_start=group)
        carried: list[tuple[DeferredWork, EstimateLine]] = []
        for item in state.open_deferred:
            if item.suggested_date <= day + dt.timedelta(days=30) and self.chance(0.35):
                carried.append((item, _copy_line(item.source_line, estimate)))  # type: ignore[arg-type]
        visit.lines = lines + extra + [again for _item, again in carried]
        drafted = inspected + dt.timedelta(minutes=self.minutes(2, 8))
        sent = t.get("sent") or drafted + dt.timedelta(minutes=self.minutes(3, 12))
        if quick:
            drafted = inspected + dt.timedelta(minutes=own.uniform(1, 2))
            sent = drafted + dt.timedelta(minutes=own.uniform(1, 3))
        estimate.created_at = estimate.updated_at = min(drafted, sent)
        estimate.sent_at = sent
        for line in visit.lines:
            line.created_at = estimate.created_at
        if stop == S.RECEPTION and "approved" not in t:
            return self._keep(visit)  # the customer has not decided yet

        link_share = 0.35 + 0.3 * min(max((day - self.window_start).days / 730, 0), 1)
        decided = self.decide(lines, sent, advisor, approve_p=0.0 if cancel else 0.985, link_share=link_share)
        if extra:
            decided = max(decided, self.decide(extra, sent, advisor, approve_p=0.4, link_share=link_share))
        if quick:  # decided at the desk, line by line within a few minutes
            for line in lines + extra:
                if line.decided_at is not None:
                    line.decided_at = sent + dt.timedelta(minutes=own.uniform(0.5, 4))
            decided = max((ln.decided_at for ln in lines + extra if ln.decided_at is not None), default=sent)
        for item, again in carried:
            again.decision = LineDecision.APPROVED
            again.decided_at, again.decision_channel, again.decided_by_id = sent, DecisionChannel.DESK, advisor
            visit.resolved.append(item)
        for item in state.open_deferred:
            if item.suggested_date < day - dt.timedelta(days=150) and item not in visit.resolved and self.chance(0.3):
                visit.dismissed.append(item)
        if "approved" in t:
            shift = t["approved"] - decided
            for line in visit.lines:
                if line.decided_at:
                    line.decided_at = max(sent, line.decided_at + shift)
            decided = t["approved"]
        estimate.status = EstimateStatus.DECIDED
        visit.deferred += self.defer_declined(ctx, state, visit.lines)
        if not any(line.decision == LineDecision.APPROVED for line in visit.lines):
            reason = self.pick(("客户觉得价格太高，先不修了", "客户要回去考虑", "客户有急事先把车开走了"))
            visit.event(S.RECEPTION, S.CANCELLED, decided + dt.timedelta(minutes=self.minutes(1, 10)), advisor, reason)
            visit.cancel_appointment = appointment is not None
            return self._keep(visit)

        # Dispatch: a technician whose grade the job allows, a bay that can take it.
        approved_labour = [
            ln for ln in visit.lines if ln.kind == LineKind.LABOUR and ln.decision == LineDecision.APPROVED
        ]
        needed = max((ln.min_grade for ln in approved_labour), key=lambda g: GRADE_RANK.get(g, 0), default="")
        if technician is None:
            able = [uid for uid, grade in ctx.technicians if GRADE_RANK.get(grade, 0) >= GRADE_RANK.get(needed, 0)]
            technician = self.pick(able or [uid for uid, _g in ctx.technicians])
        order.technician_id = technician
        foreman = ctx.foreman or technician
        visit.standard = sum(float(ln.standard_hours or 0) for ln in approved_labour) * 60 or 30.0
        waiting = t.get(S.WAITING) or decided + dt.timedelta(minutes=self.minutes(1, 6))
        if quick:
            waiting = decided + dt.timedelta(minutes=own.uniform(0.5, 2))
        visit.event(S.RECEPTION, S.WAITING, waiting, advisor)
        if stop == S.WAITING:
            return self._keep(visit)
        order.bay = ctx.bays.get(bay or self._bay_code(job, state)) or next(iter(ctx.bays.values()))
        in_bay = t.get(S.IN_BAY) or waiting + dt.timedelta(
            minutes=self.minutes(3, 50) if self.chance(0.8) else self.minutes(50, 150)
        )
        if quick:  # the next free quick-service bay; now and then the customer waits for one
            in_bay = waiting + dt.timedelta(minutes=own.uniform(1, 8) if own.random() < 0.85 else own.uniform(8, 25))
        order.bay_assigned_at = in_bay
        visit.event(S.WAITING, S.IN_BAY, in_bay, foreman)
        if stop == S.IN_BAY:
            return self._keep(visit)
        started = t.get(S.IN_PROGRESS) or in_bay + dt.timedelta(minutes=self.minutes(2, 12))
        if quick:
            started = in_bay + dt.timedelta(minutes=own.uniform(1, 4))
        factor = rng.lognormvariate(-0.1, 0.15)
        if over is not None:
            factor = 1.6 if over else min(factor, 1.0)
        work = visit.standard * factor
        local_start = started.astimezone(SHANGHAI)
        if not t and work < 600 and _later(started, work).date() != local_start.date():
            # Too late to finish today: the car stays in its bay and work starts the next morning.
            started = _local(local_start.date() + dt.timedelta(days=1), dt.time(8, 30)) + dt.timedelta(
                minutes=self.minutes(0, 20)
            )
        late = started - arrived > dt.timedelta(minutes=75) or started.astimezone(SHANGHAI).date() != day
        if order.waits_on_site and late:
            order.waits_on_site = False  # the work could not start soon after all: the customer left the car
        order.work_started_at = started
        visit.event(S.IN_BAY, S.IN_PROGRESS, started, technician)
        cursor = started
        if parts_wait is None:
            parts_wait = job.service_type in (ServiceType.REPAIR, ServiceType.BODYWORK, ServiceType.WARRANTY)
            parts_wait = parts_wait and self.chance(0.09)
        if parts_wait:
            stopped = t.get(S.WAITING_PARTS) or _later(cursor, work * self.minutes(0.2, 0.5))
            done_before = (stopped - cursor).total_seconds() / 60
            reason = self.pick(WAITING_PARTS_REASONS)
            visit.event(S.IN_PROGRESS, S.WAITING_PARTS, stopped, technician, reason)
            order.waiting_parts_reason = reason
            if stop == S.WAITING_PARTS:
                return self._keep(visit)
            cursor = _later(stopped, self.minutes(120, 1500))
            visit.event(S.WAITING_PARTS, S.IN_PROGRESS, cursor, technician)
            work = max(work - done_before, 10)
        if stop == S.IN_PROGRESS:
            return self._keep(visit)  # an order over its standard time is not warned yet: the sweep is due
        # A supplementary estimate while the car is opened up.
        if job.service_type in (ServiceType.REPAIR, ServiceType.BODYWORK) and not comeback and self.chance(0.1):
            supplement = Estimate(order=order, number=2, status=EstimateStatus.DECIDED, sent_by_id=advisor)
            supplement.created_at = _later(cursor, min(work * 0.3, 40))
            supplement.sent_at = supplement.created_at + dt.timedelta(minutes=self.minutes(3, 10))
            more, _g = self.lines_for(ctx, supplement, self.pick(SUPPLEMENTARY), warranty=False, group_start=group)
            self.decide(more, supplement.sent_at, advisor, approve_p=0.7, link_share=link_share)
            visit.deferred += self.defer_declined(ctx, state, more)
            visit.estimates.append(supplement)
            visit.lines += more
            added = sum(
                float(ln.standard_hours or 0) * 60
                for ln in more
                if ln.decision == LineDecision.APPROVED and ln.kind == LineKind.LABOUR
            )
            work += added
            visit.standard += added
        qc_at = t.get(S.QC) or _later(cursor, work)
        visit.event(S.IN_PROGRESS, S.QC, qc_at, technician)
        for line in visit.lines:  # the parts fitted, with their batch (entered on the line until parts stock)
            self.trace(line, started)
        if stop == S.QC:
            return self._keep(visit)
        if qc_fail is None:
            qc_fail = self.chance(0.05)
        checked = qc_at + dt.timedelta(minutes=self.minutes(8, 25))
        if qc_fail:
            notes = self.pick(QC_FAIL_NOTES)
            ticked = {key: True for key, _label in QC_CHECKLIST}
            ticked[self.pick(QC_CHECKLIST)[0]] = False
            visit.checks.append(
                QualityCheck(order=order, passed=False, checklist=ticked, notes=notes, by_id=foreman, at=checked)
            )
            visit.event(S.QC, S.IN_PROGRESS, checked, foreman, _("quality check failed: {notes}").format(notes=notes))
            order.qc_failures = 1
            back = _later(checked, self.minutes(15, 60))
            visit.event(S.IN_PROGRESS, S.QC, back, technician)
            checked = back + dt.timedelta(minutes=self.minutes(8, 20))
        passed_at = t.get("passed") or checked
        everything = {key: True for key, _label in QC_CHECKLIST}
        visit.checks.append(QualityCheck(order=order, passed=True, checklist=everything, by_id=foreman, at=passed_at))
        wash = stop == S.WASHING or (job.service_type != ServiceType.INSPECTION and self.chance(0.8))
        if wash:
            visit.event(S.QC, S.WASHING, passed_at, foreman, _("quality check passed"))
            if stop == S.WASHING:
                return self._keep(visit)
            ready = t.get(S.READY) or _later(passed_at, self.minutes(15, 40))
            visit.event(S.WASHING, S.READY, ready, foreman)
        else:
            ready = t.get(S.READY) or passed_at
            visit.event(S.QC, S.READY, ready, foreman, _("quality check passed"))
        order.ready_at = ready
        if stop == S.READY:
            return self._keep(visit)
        if self.chance(0.85):
            delivered = ready + dt.timedelta(minutes=self.minutes(10, 180))
        else:  # picked up the next morning
            next_day = ready.astimezone(SHANGHAI).date() + dt.timedelta(days=1)
            delivered = _local(next_day, dt.time(8, 45)) + dt.timedelta(minutes=self.minutes(0, 300))
        if order.waits_on_site and not t and ready.astimezone(SHANGHAI).date() == day:
            delivered = ready + dt.timedelta(minutes=own.uniform(5, 25))  # the customer is there to take the car
        delivered = t.get(S.DELIVERED) or delivered
        if stop is None and delivered >= self.today_start:
            return None  # would still be in the workshop today: history ends yesterday
        visit.event(S.READY, S.DELIVERED, delivered, advisor)
        order.delivered_at = delivered
        approved = [ln for ln in visit.lines if ln.decision == LineDecision.APPROVED]
        order.billed_total = sum((ln.amount for ln in approved), Decimal("0.00"))
        order.delivery_explanation = "已向客户说明本次作业：" + "、".join(ln.description for ln in approved[:4])
        delivered_day = delivered.astimezone(SHANGHAI).date()
        order.next_service_date = delivered_day + dt.timedelta(days=365 if state.nev else 182)
        order.next_service_km = reading + (20_000 if state.nev else 10_000)
        if self.chance(0.78):
            hours_in = (ready - arrived).total_seconds() / 3600
            expected = visit.standard / 60 + 1.5
            score = 9.3 - max(hours_in - expected, 0) * 0.35 if hours_in < 12 else 8.6
            score -= 3.0 if comeback else 0
            score -= 0.8 * order.qc_failures + (1.0 if parts_wait else 0)
            score += rng.gauss(0, 0.9)
            order.rating = int(min(max(round(score), 0), 10))
        return self._keep(visit)

    def _keep(self, visit: Visit) -> RepairOrder:
        """Commit one visit to what will be inserted."""
        built, state, order = self.built, visit.state, visit.order
        built.orders.append(order)
        built.events.extend(visit.events)
        built.estimates.extend(visit.estimates)
        built.lines.extend(visit.lines)
        built.checks.extend(visit.checks)
        built.deferred.extend(visit.deferred)
        for item in visit.resolved:
            item.status, item.resolved_order = DeferredStatus.DONE, order
        for item in visit.dismissed:
            item.status = DeferredStatus.DISMISSED
        closed = set(map(id, visit.resolved + visit.dismissed))
        state.open_deferred = [item for item in state.open_deferred if id(item) not in closed] + visit.deferred
        if visit.reading:
            state.last_reading = visit.reading
        if visit.cancel_appointment and order.appointment is not None:
            order.appointment.status = AppointmentStatus.CANCELLED  # as the service does; the place stays taken
        if order.status not in (S.RECEPTION, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS, S.CANCELLED):
            order.efficiency_warned_at = _warned_at(visit.events, visit.standard)
        if order.work_started_at is not None and order.technician_id is not None:
            self._clock(visit)
        return order

    def _clock(self, visit: Visit) -> None:
        """The technician's job clock on the approved labour lines, one after the other, while the order is in
        progress (workshop hours only; stopped while waiting for parts) until the first quality check: the work
        time split between the lines by their standard hours, most of it clocked (the rest is fetching parts and
        tidying up), a line now and then paused and resumed.  An order in progress now has its line's clock
        running.  Its own generator: the main sequence is untouched."""
        order = visit.order
        labour = [ln for ln in visit.lines if ln.kind == LineKind.LABOUR and ln.decision == LineDecision.APPROVED]
        if not labour:
            return
        windows: list[tuple[dt.datetime, dt.datetime]] = []
        opened: dt.datetime | None = None
        finished = False
        for event in visit.events:
            if event.to_status == S.IN_PROGRESS and opened is None:
                opened = event.at
            elif opened is not None and event.to_status != S.IN_PROGRESS:
                windows.append((opened, event.at))
                opened = None
                if event.to_status == S.QC:
                    finished = True
                    break
        running = opened is not None and not finished
        if opened is not None and running:
            windows.append((opened, max(self.now, opened)))
        spans = [span for a, b in windows for span in _workshop_spans(a, b)]
        available = sum((b - a).total_seconds() / 60 for a, b in spans)
        if available <= 0:
            return
        own = random.Random(f"{order.link_nonce}:clock")  # noqa: S311 - demo data
        weights = [float(ln.standard_hours or 0) * 60 * own.uniform(0.85, 1.15) for ln in labour]
        # A pause now and then (a phone call, a part from the store, lunch): (share clocked before it, minutes).
        pauses = [(own.uniform(0.3, 0.7), own.uniform(5, 20)) if own.random() < 0.2 else None for _ln in labour]
        gaps = [own.uniform(0.5, 3) for _ln in labour]
        if finished:  # the lines share the work time, pauses and changes of job aside
            idle = sum(p[1] for p in pauses if p) + sum(gaps[:-1])
            if idle > available * 0.3:
                pauses, idle = [None] * len(labour), sum(gaps[:-1])
            scale = max(available * own.uniform(0.95, 1.0) - idle, 1) / (sum(weights) or 1)
            targets = [w * scale for w in weights]
        else:  # at work (or stopped for parts): each line as long as it takes, the last one still going
            targets = [w * own.uniform(0.95, 1.25) for w in weights]
        technician = order.technician_id
        if technician is None:
            return
        spans_left = list(spans)
        cursor = spans_left[0][0]
        segments: list[tuple[EstimateLine, dt.datetime, dt.datetime]] = []

        def clock(line: EstimateLine, minutes: float) -> float:
            """Clock `minutes` on `line` from the cursor across the spans; returns the minutes left undone."""
            nonlocal cursor
            while minutes > 0.01 and spans_left:
                a, b = spans_left[0]
                start = max(cursor, a)
                if start >= b:
                    spans_left.pop(0)
                    continue
                end = min(b, start + dt.timedelta(minutes=minutes))
                segments.append((line, start, end))
                minutes -= (end - start).total_seconds() / 60
                cursor = end
                if end >= b:
                    spans_left.pop(0)
            return max(minutes, 0.0)

        def skip(minutes: float) -> None:
            nonlocal cursor
            cursor += dt.timedelta(minutes=minutes)

        for index, (line, target) in enumerate(zip(labour, targets, strict=True)):
            if line.decided_at is not None and line.decided_at > cursor:
                cursor = line.decided_at  # a supplementary line is started once approved
            last = index == len(labour) - 1
            pause = pauses[index]
            if pause is not None and target >= 20:
                left = clock(line, target * pause[0])
                skip(pause[1])
                left = clock(line, target * (1 - pause[0]) + left)
            else:
                left = clock(line, target)
            if running and last and spans_left:
                clock(line, 10**6)  # still at it now (up to the end of the spans)
            ends = [end for seg_line, _s, end in segments if seg_line is line]
            # Finished: every clocked line of an order that went to the quality check; else those done before now.
            if ends and (finished or (left <= 0.01 and not (running and last))):
                line.work_finished_at = max(ends)
            if not spans_left:
                break
            skip(gaps[index])
        for index, (line, start, end) in enumerate(segments):
            still = running and index == len(segments) - 1 and end >= self.now and technician not in self._clocked_in
            if still:
                self._clocked_in.add(technician)
            self.built.segments.append(
                record(
                    JobClockSegment,
                    line=line,
                    technician_id=technician,
                    started_at=start,
                    ended_at=None if still else end,
                )
            )

    def _bay_code(self, job: Job, state: VehicleState) -> str:
        if job.service_type == ServiceType.BODYWORK:
            return self.pick(("B1", "P1"))
        if job.service_type == ServiceType.NEV_CHECK or (state.nev and job.service_type == ServiceType.REPAIR):
            return "E1"
        if job.service_type == ServiceType.MAINTENANCE:
            return self.pick(("M1", "M2", "A2"))
        return self.pick(("A1", "A2", "A3"))


# --- History ---------------------------------------------------------------------------------------------


# An invitation does not bring in a vehicle that was at the store fewer days than this before it.
INVITATION_MIN_GAP_DAYS = 30


def _visit_time(demo: ServiceDemo, ctx: StoreCtx, day: dt.date) -> dt.datetime | None:
    """A slot start on `day`, mornings busiest, evenings and weekends used."""
    starts = _day_slots(ctx, day)
    if not starts:
        return None
    weights = [6 if s.hour < 12 else 4 if s.hour < 17 else 2 for s in starts]
    return demo.rng.choices(starts, weights)[0]


def _shift_for_holidays(demo: ServiceDemo, day: dt.date) -> dt.date:
    """Most visits due around the Spring Festival are put off until after it."""
    festival = SPRING_FESTIVAL.get(day.year)
    if festival and -10 <= (day - festival).days <= 7 and demo.chance(0.7):
        return festival + dt.timedelta(days=demo.rng.randint(8, 25))
    return day


def _first_due(state: VehicleState, interval: Any) -> dt.date | None:
    """When the vehicle's first maintenance falls due, as the reminders compute it: whichever comes first of
    purchase + the interval's first months and the day its yearly distance reaches the first mileage."""
    purchase = state.vehicle.purchase_date
    if purchase is None:
        return None
    by_date = add_months(purchase, interval.first_months)
    by_km = purchase + dt.timedelta(days=math.ceil(interval.first_km * 365 / max(state.rate, 1)))
    return min(by_date, by_km)


def _plan_first_maintenance(
    demo: ServiceDemo,
    ctx: StoreCtx,
    state: VehicleState,
    registered: dt.date,
    yesterday: dt.date,
    first_due: Callable[[VehicleState], dt.date | None],
) -> tuple[dt.date | None, bool]:
    """The day of a new car's first visit, its first maintenance, when that falls due after the customer came to
    the store: most come around the due day (within the grace days), some late, a few never for it (it was done
    elsewhere: their first visit here is a later job).  The vehicle's own draws."""
    due = first_due(state)
    if due is None or due < max(registered, demo.window_start):
        return None, False
    demo.first_due.append((ctx, state, due))
    own = random.Random(f"first-maintenance:{state.vehicle.vin}")  # noqa: S311 - demo data
    roll = own.random()
    if roll < 0.87:
        day = due + dt.timedelta(days=own.randint(-20, 21))
    elif roll < 0.95:
        day = due + dt.timedelta(days=own.randint(35, 100))
    else:
        return None, False  # done elsewhere: its visits here are what they would be anyway
    return max(day, registered + dt.timedelta(days=7)), True


def _history(
    demo: ServiceDemo,
    ctx: StoreCtx,
    states: list[VehicleState],
    invited: Mapping[int, dt.date] | None = None,
    first_due: Callable[[VehicleState], dt.date | None] = lambda state: None,
) -> None:
    """Each vehicle's visits over the window, one after the other (so its odometer only grows and its orders
    never overlap).  `invited` (vehicle id → day) brings a vehicle's next visit forward to a maintenance visit on
    that day — see `seed_service`."""
    rng = demo.rng
    yesterday = demo.today - dt.timedelta(days=1)
    invited = invited or {}
    for state in states:
        registered = state.customer.created_at.astimezone(SHANGHAI).date()
        day = max(registered, demo.window_start) + dt.timedelta(days=rng.randint(0, 45))
        invitation = invited.get(state.vehicle.pk)
        if invitation is not None and not max(registered, demo.window_start) <= invitation <= yesterday:
            invitation = None
        last_in: dt.date | None = None  # when the vehicle was last at the store
        first_day, first_maintenance = _plan_first_maintenance(demo, ctx, state, registered, yesterday, first_due)
        roll = rng.random()
        regular = roll < REGULAR_SHARE
        window_days = max((yesterday - demo.window_start).days, 1)
        accident = (
            demo.window_start + dt.timedelta(days=rng.randint(0, window_days))
            if regular and rng.random() < REGULAR_ACCIDENT_SHARE
            else None
        )
        # A lapsing customer stops coming 6 to 14 months ago, after at least four months as a customer; only a
        # history of 18 months or more has room for that (the demo's default is 24).
        lapse_after = (
            max(demo.today - dt.timedelta(days=rng.randint(185, 420)), demo.window_start + dt.timedelta(days=120))
            if REGULAR_SHARE <= roll < REGULAR_SHARE + LAPSING_SHARE and (demo.today - demo.window_start).days >= 540
            else None
        )
        while True:
            if day <= yesterday:
                day = _shift_for_holidays(demo, day)
            responds = False
            if invitation is not None and invitation <= day:
                # Invited before its next visit: it comes then, unless it was in only just before.
                responds = last_in is None or (invitation - last_in).days >= INVITATION_MIN_GAP_DAYS
                day = invitation if responds else day
                invitation = None
            if day > yesterday:
                break
            if not responds and lapse_after is not None and day > lapse_after and last_in is not None:
                # Came at least once, then stopped coming (a churn risk) — unless a campaign invites the car back.
                if invitation is None or invitation < last_in:
                    break
                day = invitation + dt.timedelta(days=1)
                continue
            if responds:
                job, first_maintenance = _job_of(ServiceType.MAINTENANCE, state), False
            elif accident is not None and day >= accident:
                job, accident = _job_of(ServiceType.BODYWORK, state, ACCIDENT_WORDS), None
            else:
                job = demo.job(state, day.month)
                if first_maintenance and first_day is not None:
                    if job.service_type == ServiceType.MAINTENANCE and day < first_day - dt.timedelta(days=20):
                        # A new car is not maintained weeks after the purchase: it comes for a warranty matter.
                        own = random.Random(f"early:{state.vehicle.vin}:{day}")  # noqa: S311 - demo data
                        early = [j for j in JOBS if j.service_type == ServiceType.WARRANTY]
                        early += [j for j in JOBS if j.service_type == ServiceType.NEV_CHECK and j.nev == state.nev]
                        job = early[own.randrange(len(early))]
                    elif day >= first_day - dt.timedelta(days=20):
                        # The first maintenance comes on its planned day.
                        first_maintenance = False
                        if last_in is None or first_day > last_in:
                            day = first_day
                        if day > yesterday:
                            break
                        job = _job_of(ServiceType.MAINTENANCE, state)
            delivered = _visit(demo, ctx, state, job, day, job.words, comeback=False)
            if delivered and job.service_type in (ServiceType.REPAIR, ServiceType.BODYWORK, ServiceType.WARRANTY):
                order = demo.built.orders[-1]
                risk = 0.04 + 0.08 * order.qc_failures + (0.03 if order.efficiency_warned_at else 0)
                if demo.chance(risk):
                    back_day = delivered.astimezone(SHANGHAI).date() + dt.timedelta(days=rng.randint(2, 25))
                    if back_day <= yesterday:
                        kept = len(demo.built.orders)
                        came = _visit(demo, ctx, state, job, back_day, job.words + COMEBACK_SUFFIX, comeback=True)
                        if len(demo.built.orders) > kept:
                            _link_comeback(demo, demo.built.orders[-1], order)
                        if came:
                            delivered = came
            last_in = delivered.astimezone(SHANGHAI).date() if delivered else day
            if regular:
                gap = rng.randint(45, 85)
            elif job.service_type == ServiceType.MAINTENANCE:
                gap = rng.randint(100, 220)
            else:
                gap = rng.randint(45, 200)
            day = max(last_in + dt.timedelta(days=gap), day + dt.timedelta(days=1))


def _link_comeback(demo: ServiceDemo, comeback: RepairOrder, earlier: RepairOrder) -> None:
    """The visit of a car back with the same complaint: linked to the earlier order and given its concern
    category (as the suggestion at reception does), and most links confirmed by the advisor once the car has
    been looked at (a cancelled order keeps its suggestion only).  The order's own draws."""
    comeback.comeback_of = earlier
    comeback.concern_category_id = earlier.concern_category_id
    own = random.Random(f"{comeback.link_nonce}:comeback")  # noqa: S311 - demo data
    if comeback.status != S.CANCELLED and own.random() < 0.85:
        seen = comeback.inspection_done_at or comeback.reception_started_at or comeback.arrived_at
        comeback.comeback_confirmed_at = min(seen + dt.timedelta(minutes=own.uniform(2, 30)), demo.now)
        comeback.comeback_confirmed_by_id = comeback.advisor_id


def _visit(
    demo: ServiceDemo, ctx: StoreCtx, state: VehicleState, job: Job, day: dt.date, words: str, *, comeback: bool
) -> dt.datetime | None:
    """One historic visit: a booking (maybe cancelled or missed) or a walk-in, and its order.  Returns the
    delivery time, or None when nothing was delivered."""
    rng = demo.rng
    start = _visit_time(demo, ctx, day)
    if start is None:
        return None
    walk_in = rng.random() < (0.35 if comeback else 0.2)
    appointment = None
    if walk_in:
        opens = min(ctx.slots[s].start for s in _day_slots(ctx, day))
        arrived = start + dt.timedelta(minutes=rng.uniform(0, 50))
        arrived = max(arrived, opens)
    else:
        fate = rng.random()
        status = (
            AppointmentStatus.CANCELLED
            if fate < 0.05
            else AppointmentStatus.NO_SHOW
            if fate < 0.08
            else AppointmentStatus.ARRIVED
        )
        booked_at = start - dt.timedelta(hours=rng.uniform(3, 240))
        appointment = demo.appointment(
            ctx,
            state,
            start,
            job.service_type,
            words,
            channel=demo.channel(day),
            status=status,
            booked_at=booked_at,
            pickup=rng.random() < 0.05,
        )
        if appointment is None:
            return None
        if status != AppointmentStatus.ARRIVED:
            return None
        arrived = appointment.slot.start + dt.timedelta(minutes=rng.uniform(-15, 25))
    order = demo.order(
        ctx, state, job, arrived, appointment=appointment, words=words, comeback=comeback, cancel=rng.random() < 0.012
    )
    if order is None:
        if appointment is not None:
            # Not finished by today: the booking stays in the books as arrived, its car left on an earlier day.
            appointment.status = AppointmentStatus.NO_SHOW
        return None
    return order.delivered_at


# --- Today ------------------------------------------------------------------------------------------------


def _pick_state(
    states: list[VehicleState], used: set[int], rng: random.Random, test: Callable[[VehicleState], bool]
) -> VehicleState | None:
    """A vehicle not picked yet (one open order or booking each), preferably one that passes `test`."""
    candidates = [s for s in states if s.vehicle.pk not in used and test(s)]
    if not candidates:
        candidates = [s for s in states if s.vehicle.pk not in used]
    if not candidates:
        return None
    state = candidates[rng.randrange(len(candidates))]
    used.add(state.vehicle.pk)
    return state


def _pick_booking(states: list[VehicleState], used: set[int], rng: random.Random) -> VehicleState:
    """A vehicle for a future booking: one without an open order or booking if any is left (small demos reuse)."""
    state = _pick_state(states, used, rng, lambda s: True)
    if state is None:
        state = states[rng.randrange(len(states))]
    return state


def _job_of(service_type: str, state: VehicleState, words_contains: str = "") -> Job:
    for job in JOBS:
        if job.service_type != service_type or (words_contains and words_contains not in job.words):
            continue
        if job.nev is None or job.nev == state.nev:
            return job
    return next(j for j in JOBS if j.service_type == service_type)


def _busy_day(demo: ServiceDemo, ctx: StoreCtx, states: list[VehicleState], users: dict[str, Any], first: bool) -> None:
    """Today in one store: arrivals and bookings still to come, the reception queue, approvals, every workshop
    state, cars ready for pick-up.  In the first store the demo users hold the work."""
    rng = demo.rng
    now = demo.now
    used: set[int] = set()
    advisor = users["advisor"].pk if first and "advisor" in users else ctx.advisors[0]
    tech = users["technician"].pk if first and "technician" in users else ctx.technicians[0][0]
    others = [uid for uid, _grade in ctx.technicians if uid != tech] or [tech]

    def ago(minutes: float) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes)

    def slot_before(moment: dt.datetime) -> dt.datetime:
        local = moment.astimezone(SHANGHAI).date()
        day = _day_slots(ctx, local) or _day_slots(ctx, local - dt.timedelta(days=1)) or [min(ctx.slots)]
        starts = [s for s in day if s <= moment + dt.timedelta(minutes=20)]
        return starts[-1] if starts else day[0]

    def booked(state: VehicleState, job: Job, arrived: dt.datetime) -> Appointment | None:
        start = slot_before(arrived)
        return demo.appointment(
            ctx,
            state,
            start,
            job.service_type,
            job.words,
            channel=demo.channel(demo.today),
            status=AppointmentStatus.ARRIVED,
            booked_at=start - dt.timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 8)),
        )

    def scripted(
        stop: str,
        service_type: str,
        arrived_ago: float,
        *,
        walk_in: bool = False,
        words: str = "",
        test: Callable[[VehicleState], bool] = lambda s: True,
        **kwargs: Any,
    ) -> RepairOrder | None:
        state = _pick_state(states, used, rng, test)
        if state is None:
            return None  # a tiny demo has fewer cars than today's script
        if kwargs.pop("priority", False) and not state.customer.is_priority:
            # Tier A until the CRM computes tiers: the flag on the customer (SPEC §3.1 priority lane).
            state.customer.is_priority = True
            Customer.objects.filter(pk=state.customer.pk).update(is_priority=True)
        job = _job_of(service_type, state, words)
        arrived = ago(arrived_ago)
        appointment = None if walk_in else booked(state, job, arrived)
        return demo.order(
            ctx, state, job, arrived, appointment=appointment, words=job.words, stop=stop, advisor=advisor, **kwargs
        )

    nev = lambda s: s.nev  # noqa: E731
    ice = lambda s: not s.nev  # noqa: E731
    # Reception queue: a tier-A walk-in in the priority lane, an inspection running late, a plain walk-in.
    scripted(
        S.RECEPTION,
        ServiceType.REPAIR,
        4,
        walk_in=True,
        test=lambda s: s.customer.is_priority and not s.nev,
        priority=True,
    )
    scripted(S.RECEPTION, ServiceType.MAINTENANCE, 42, test=ice)
    scripted(S.RECEPTION, ServiceType.INSPECTION, 7, walk_in=True)
    # Estimates sent, waiting for the customer: one offers OEM or brand-aftermarket brake pads.
    scripted(
        S.RECEPTION,
        ServiceType.REPAIR,
        55,
        words="刹车",
        test=ice,
        timeline={"inspection": ago(40), "sent": ago(28)},
        alternative=True,
    )
    scripted(S.RECEPTION, ServiceType.MAINTENANCE, 38, test=nev, timeline={"inspection": ago(26), "sent": ago(15)})
    # Approved, waiting for a bay.
    scripted(
        S.WAITING,
        ServiceType.MAINTENANCE,
        70,
        test=ice,
        timeline={"inspection": ago(55), "sent": ago(45), "approved": ago(15), S.WAITING: ago(12)},
    )
    bays_free = ["A2", "A1", "A3", "M1", "E1", "M2", "B1", "P1"]
    # The demo technician's jobs: in a bay, at work, waiting for parts (since yesterday afternoon).
    scripted(
        S.IN_BAY,
        ServiceType.MAINTENANCE,
        95,
        test=ice,
        technician=tech,
        bay=bays_free[0],
        timeline={"inspection": ago(80), "sent": ago(72), "approved": ago(60), S.WAITING: ago(58), S.IN_BAY: ago(6)},
    )
    scripted(
        S.IN_PROGRESS,
        ServiceType.REPAIR,
        130,
        words="底盘",
        technician=tech,
        bay=bays_free[1],
        over=False,
        timeline={
            "inspection": ago(115),
            "sent": ago(105),
            "approved": ago(95),
            S.WAITING: ago(93),
            S.IN_BAY: ago(75),
            S.IN_PROGRESS: ago(65),
        },
    )
    yesterday_afternoon = _local(demo.today - dt.timedelta(days=1), dt.time(14, 10))
    scripted(
        S.WAITING_PARTS,
        ServiceType.REPAIR,
        (now - yesterday_afternoon).total_seconds() / 60,
        words="刹车",
        test=ice,
        technician=tech,
        bay=bays_free[2],
        parts_wait=True,
        timeline={
            "inspection": yesterday_afternoon + dt.timedelta(minutes=18),
            "sent": yesterday_afternoon + dt.timedelta(minutes=30),
            "approved": yesterday_afternoon + dt.timedelta(minutes=45),
            S.WAITING: yesterday_afternoon + dt.timedelta(minutes=47),
            S.IN_BAY: yesterday_afternoon + dt.timedelta(minutes=70),
            S.IN_PROGRESS: yesterday_afternoon + dt.timedelta(minutes=80),
            S.WAITING_PARTS: yesterday_afternoon + dt.timedelta(minutes=140),
        },
    )
    # Another technician's job, well over its standard time: the efficiency warning is due.
    scripted(
        S.IN_PROGRESS,
        ServiceType.MAINTENANCE,
        200,
        test=ice,
        technician=others[0],
        bay=bays_free[3],
        over=True,
        timeline={
            "inspection": ago(185),
            "sent": ago(178),
            "approved": ago(170),
            S.WAITING: ago(168),
            S.IN_BAY: ago(160),
            S.IN_PROGRESS: ago(155),
        },
    )
    # Waiting for the foreman's quality check, being washed, ready for pick-up (two).
    scripted(
        S.QC,
        ServiceType.NEV_CHECK,
        150,
        test=nev,
        technician=others[1 % len(others)],
        bay="E1",
        qc_fail=False,
        timeline={
            "inspection": ago(135),
            "sent": ago(128),
            "approved": ago(120),
            S.WAITING: ago(118),
            S.IN_BAY: ago(110),
            S.IN_PROGRESS: ago(105),
            S.QC: ago(9),
        },
    )
    scripted(
        S.WASHING,
        ServiceType.MAINTENANCE,
        140,
        test=ice,
        technician=others[2 % len(others)],
        bay="M2",
        qc_fail=False,
        timeline={
            "inspection": ago(125),
            "sent": ago(118),
            "approved": ago(110),
            S.WAITING: ago(108),
            S.IN_BAY: ago(100),
            S.IN_PROGRESS: ago(95),
            S.QC: ago(35),
            "passed": ago(18),
        },
    )
    for minutes, who in ((40, tech), (125, others[3 % len(others)])):
        scripted(
            S.READY,
            ServiceType.MAINTENANCE,
            minutes + 150,
            test=ice,
            technician=who,
            bay="M1" if who == tech else "A3",
            qc_fail=False,
            timeline={
                "inspection": ago(minutes + 135),
                "sent": ago(minutes + 128),
                "approved": ago(minutes + 120),
                S.WAITING: ago(minutes + 118),
                S.IN_BAY: ago(minutes + 110),
                S.IN_PROGRESS: ago(minutes + 105),
                S.QC: ago(minutes + 45),
                "passed": ago(minutes + 30),
                S.READY: ago(minutes),
            },
        )
    # Deferred work due this week (the advisor calls these customers): brought forward where the history has none.
    open_items = [d for d in demo.built.deferred if d.store is ctx.store and d.status == DeferredStatus.OPEN]
    week = (demo.today, demo.today + dt.timedelta(days=6))
    due = [d for d in open_items if week[0] <= d.suggested_date <= week[1]]
    for offset, item in enumerate(sorted(open_items, key=lambda d: d.created_at, reverse=True)[: max(0, 3 - len(due))]):
        if item not in due:
            item.suggested_date = demo.today + dt.timedelta(days=1 + 2 * offset)
    # Bookings still to come today: one with a pick-up whose driver the advisor has to assign, one the driver
    # collects.
    driver_user = users["driver"].pk if first and "driver" in users else (ctx.drivers[0] if ctx.drivers else None)
    later = [s for s in _day_slots(ctx, demo.today) if s > now]
    for index, start in enumerate(later):
        for _n in range(rng.randint(1, 3)):
            state = _pick_booking(states, used, rng)
            job = demo.job(state, demo.today.month)
            demo.appointment(
                ctx,
                state,
                start,
                job.service_type,
                job.words,
                channel=demo.channel(demo.today),
                status=AppointmentStatus.BOOKED,
                booked_at=min(now, start - dt.timedelta(days=rng.randint(1, 6))),
                pickup=index in (0, 1) and _n == 0,
                driver=False,
                # the second is the demo driver's (the first store) or the store's first driver's to collect
                driver_id=(driver_user if index == 1 else None),
            )
    # And the coming two weeks.
    for offset in range(1, 15):
        day = demo.today + dt.timedelta(days=offset)
        for start in _day_slots(ctx, day):
            for _n in range(rng.choices((0, 1, 2, 3), (3, 4, 2, 1))[0] if offset < 8 else rng.randint(0, 1)):
                state = _pick_booking(states, used, rng)
                job = demo.job(state, day.month)
                demo.appointment(
                    ctx,
                    state,
                    start,
                    job.service_type,
                    job.words,
                    channel=demo.channel(demo.today),
                    status=AppointmentStatus.BOOKED,
                    booked_at=now - dt.timedelta(hours=rng.uniform(1, 120)),
                    pickup=rng.random() < 0.05,
                    driver=offset > 2,
                )


# --- Entry point -----------------------------------------------------------------------------------------

STEPS_PER_STORE = 2  # history, busy day
INSERT_STEPS = ("slots", "appointments", "repair orders", "events", "estimates", "lines", "checks", "deferred work")


def progress_total(stores: int) -> int:
    return stores * STEPS_PER_STORE + len(INSERT_STEPS) + 1


def seed_service(
    *,
    rng: random.Random,
    stores: list[Store],
    users: dict[str, Any],
    today: dt.date,
    months: int,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = lambda step: None,
    batch_size: int = 1000,
    extra_visits: Mapping[int, dt.date] | None = None,
) -> dict[str, int]:
    """Service history and today's busy day for every store; returns counts by kind.

    `extra_visits` maps a vehicle id to a day on which something outside the service history invited it in
    (the seed passes the demo campaign's responses as plain data; this layer knows nothing of campaigns).  The
    vehicle's next visit is brought forward to a maintenance visit that day, built like any other (booking,
    events, estimate, inspection, odometer), unless its next visit comes first anyway or it was at the store
    within `INVITATION_MIN_GAP_DAYS` before.  Days outside the history window are ignored."""
    from aftersales.customers.demo import _month_starts
    from aftersales.organisation.demo import STORE_TEMPLATES

    if now is None:
        now = _local(today, dt.time(11, 0))
    window_start = _month_starts(today, months)[0]
    demo = ServiceDemo(rng=rng, today=today, now=now, window_start=window_start)
    templates = {t.code: t for t in STORE_TEMPLATES}
    contexts = []
    for index, store in enumerate(stores):
        template = templates.get(store.code) or STORE_TEMPLATES[index % len(STORE_TEMPLATES)]
        ctx = _store_ctx(store, template.brand_key)
        _make_slots(ctx, window_start, today + dt.timedelta(days=14))
        customers = {c.pk: c for c in Customer.objects.filter(store=store).order_by("id")}
        states = [
            VehicleState(
                vehicle=v, customer=customers[v.customer_id], nev=v.powertrain in NEV_POWERTRAINS, rate=_yearly_rate(v)
            )
            for v in Vehicle.objects.filter(store=store).order_by("id")
        ]
        contexts.append(ctx)
        rules = interval_rules(store.group_id)

        def first_due(state: VehicleState, rules: list[Any] = rules) -> dt.date | None:
            return _first_due(state, interval_for(state.vehicle, rules))

        _history(demo, ctx, states, extra_visits, first_due=first_due)
        progress(f"history {store.code}")
        if ctx.advisors and ctx.technicians and ctx.bays:
            _busy_day(demo, ctx, states, users, first=index == 0)
        progress(f"today {store.code}")
        _update_mileage(states)
    _first_maintenance_reminders(demo)
    return _insert(demo, contexts, progress, batch_size)


def _first_maintenance_reminders(demo: ServiceDemo) -> None:
    """The first-maintenance reminders the daily sweep would have made over the history (the seed runs the sweep
    once, for today: it makes the coming ones): listed `reminder_horizon_days` before the reminder day (or when the
    car came to the store), unless the car had a maintenance by then; sent on the reminder day, or cancelled when
    the maintenance came first.  The first-maintenance conversion counts these."""
    done: dict[int, list[dt.date]] = defaultdict(list)
    for order in demo.built.orders:
        if order.service_type == ServiceType.MAINTENANCE and order.delivered_at is not None:
            done[order.vehicle_id].append(order.delivered_at.astimezone(SHANGHAI).date())
    values: dict[int, Mapping[str, Any]] = {}
    for ctx, state, due in demo.first_due:
        store = ctx.store
        if store.pk not in values:
            values[store.pk] = setting_values_for_store(store)
        lead = int(values[store.pk]["first_maintenance_reminder_days"])
        horizon = int(values[store.pk]["reminder_horizon_days"])
        remind_on = due - dt.timedelta(days=lead)
        if remind_on >= demo.today:
            continue  # the seed's sweep (today) makes it
        registered = state.customer.created_at.astimezone(SHANGHAI).date()
        listed = max(registered, remind_on - dt.timedelta(days=horizon))
        visits = done.get(state.vehicle.pk, [])
        if any(day < listed for day in visits):
            continue  # maintained before it was ever listed: the sweep never made it
        cancelled = any(day < remind_on for day in visits)
        demo.built.reminders.append(
            Reminder(
                store=store,
                customer_id=state.customer.pk,
                vehicle_id=state.vehicle.pk,
                kind=ReminderKind.FIRST_MAINTENANCE,
                due_key="first",
                due_on=due,
                remind_on=remind_on,
                state=ReminderState.CANCELLED if cancelled else ReminderState.SENT,
                send_count=0 if cancelled else 1,
                sent_at=None if cancelled else _local(remind_on, dt.time(9, 0)),
                created_at=_local(listed, dt.time(7, 0)),
            )
        )


def _update_mileage(states: list[VehicleState]) -> None:
    changed = []
    for state in states:
        if state.last_reading is None:
            continue
        day, reading = state.last_reading
        vehicle = state.vehicle
        if reading > vehicle.mileage_km and (vehicle.mileage_recorded_on is None or day >= vehicle.mileage_recorded_on):
            vehicle.mileage_km, vehicle.mileage_recorded_on = reading, day
            changed.append(vehicle)
    Vehicle.objects.bulk_update(changed, ["mileage_km", "mileage_recorded_on"], batch_size=500)


def _insert(
    demo: ServiceDemo, contexts: list[StoreCtx], progress: Callable[[str], None], batch_size: int
) -> dict[str, int]:
    built = demo.built
    slots = [slot for ctx in contexts for slot in ctx.slots.values()]
    loads = [load for ctx in contexts for load in ctx.loads.values()]
    # Numbers read SH01-20261123-0007: store, day of arrival, running count of the day.
    sequence: dict[tuple[int, dt.date], int] = defaultdict(int)
    for order in sorted(built.orders, key=lambda o: (o.store.pk, o.arrived_at)):
        day = order.arrived_at.astimezone(SHANGHAI).date()
        sequence[(order.store.pk, day)] += 1
        order.number = f"{order.store.code}-{day:%Y%m%d}-{sequence[(order.store.pk, day)]:04d}"
    built.orders.sort(key=lambda o: (o.arrived_at, o.number))
    pickup_events = _pickups(demo)
    steps: tuple[tuple[str, type[models.Model], list[Any]], ...] = (
        ("slots", Slot, slots),
        ("slots", AdvisorSlotLoad, loads),
        ("appointments", Appointment, built.appointments),
        ("repair orders", RepairOrder, built.orders),
        ("events", RepairOrderEvent, built.events),
        ("events", PickupEvent, pickup_events),
        ("estimates", Estimate, built.estimates),
        ("lines", EstimateLine, built.lines),
        ("lines", JobClockSegment, built.segments),
        ("checks", QualityCheck, built.checks),
        ("deferred work", DeferredWork, built.deferred),
        ("deferred work", Reminder, built.reminders),
    )
    for index, (label, model, objects) in enumerate(steps):
        if model is RepairOrderEvent:  # ids in time order (the orders have theirs by now)
            objects.sort(key=lambda e: (e.at, e.order.pk))
        fast_insert(model, objects, batch_size=batch_size)
        if index + 1 == len(steps) or steps[index + 1][0] != label:
            progress(label)
    reset = connection.ops.sequence_reset_sql(no_style(), [model for _label, model, _objects in steps])
    if reset:
        with connection.cursor() as cursor:
            for statement in reset:
                cursor.execute(statement)
    return {
        "slots": len(slots),
        "appointments": len(built.appointments),
        "orders": len(built.orders),
        "events": len(built.events),
        "lines": len(built.lines),
        "deferred": len(built.deferred),
    }


def _pickups(demo: ServiceDemo) -> list[PickupEvent]:
    """Every booking with pick-up moves as the rulebook lets it (transitions.PICKUP): its driver collects the car in
    the window, the advisor's check-in puts it at the store, and once the order is handed over the driver brings it
    back; a car whose order is not done yet stays at the store (a drop-off to come)."""
    orders = {id(order.appointment): order for order in demo.built.orders if order.appointment is not None}
    events: list[PickupEvent] = []
    for appointment in demo.built.appointments:
        order = orders.get(id(appointment))
        if not appointment.pickup or appointment.status != AppointmentStatus.ARRIVED or order is None:
            continue
        state = PickupStatus.PLANNED
        if appointment.driver_id is not None and appointment.pickup_from is not None:
            window = (appointment.pickup_to - appointment.pickup_from).total_seconds() / 60
            collected = min(
                appointment.pickup_from + dt.timedelta(minutes=demo.rng.uniform(0, window)),
                order.arrived_at - dt.timedelta(minutes=15),
            )
            events.append(
                PickupEvent(
                    appointment=appointment,
                    move="collect",
                    from_status=state,
                    to_status=PickupStatus.COLLECTED,
                    at=collected,
                    by_id=appointment.driver_id,
                )
            )
            appointment.collected_at, state = collected, PickupStatus.COLLECTED
        events.append(
            PickupEvent(
                appointment=appointment,
                move="arrive",
                from_status=state,
                to_status=PickupStatus.AT_STORE,
                at=order.arrived_at,
                by_id=order.advisor_id,
            )
        )
        state = PickupStatus.AT_STORE
        if order.status == RepairOrderStatus.DELIVERED and appointment.driver_id is not None and order.delivered_at:
            back = order.delivered_at + dt.timedelta(minutes=demo.rng.uniform(30, 90))
            if back <= demo.now:
                events.append(
                    PickupEvent(
                        appointment=appointment,
                        move="deliver_back",
                        from_status=state,
                        to_status=PickupStatus.DELIVERED_BACK,
                        at=back,
                        by_id=appointment.driver_id,
                    )
                )
                appointment.delivered_back_at, state = back, PickupStatus.DELIVERED_BACK
        appointment.pickup_status = state
    events.sort(key=lambda e: (e.at, id(e.appointment)))
    return events


def fast_insert(model: type[models.Model], objects: list[Any], *, batch_size: int = 1000) -> None:
    """INSERT many new rows with ids given here (the seed runs alone, in one transaction), converting values
    once per field kind instead of through every field's full save path — `bulk_create` spends most of the
    seed's time there.  Foreign keys to objects inserted earlier are resolved; sequences are reset after."""
    if not objects:
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    sqlite = connection.vendor == "sqlite"
    now = timezone.now()
    first = (model._base_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
    pk_name = meta.pk.attname
    for offset, obj in enumerate(objects):
        obj.__dict__[pk_name] = first + offset
        if isinstance(obj, models.Model):
            obj._state.adding, obj._state.db = False, connection.alias

    def getter(f: models.Field) -> Callable[[Any], Any]:
        name = f.attname
        if f.is_relation:

            def related(obj: Any) -> Any:
                value = obj.__dict__.get(name)
                if value is None:
                    target = obj.__dict__.get(f.name)
                    if target is None and isinstance(obj, models.Model) and f.is_cached(obj):
                        target = f.get_cached_value(obj)
                    value = target.pk if target is not None else None
                return value

            return related
        if isinstance(f, models.DateTimeField):
            if getattr(f, "auto_now", False):
                stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ") if sqlite else now
                return lambda obj: stamp
            if sqlite:
                return lambda obj: (
                    None
                    if (v := obj.__dict__[name]) is None
                    else v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
                )
            return lambda obj: obj.__dict__[name]
        if isinstance(f, models.DateField):
            return (
                (lambda obj: None if (v := obj.__dict__[name]) is None else v.isoformat())
                if sqlite
                else (lambda obj: obj.__dict__[name])
            )
        if isinstance(f, models.JSONField) or f.get_internal_type() not in PLAIN_TYPES:
            return lambda obj: f.get_db_prep_save(obj.__dict__[name], connection)
        if isinstance(f, models.CharField | models.TextField):  # choices are str enums: store the plain value
            return lambda obj: v if type(v := obj.__dict__[name]) is str or v is None else str(v)
        return lambda obj: obj.__dict__[name]

    getters = [getter(f) for f in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model, values are parameters
        quote(meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY: the fastest way into PostgreSQL
            columns = ", ".join(quote(f.column) for f in fields)
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
                for obj in objects:
                    copy.write_row(tuple(get(obj) for get in getters))
            return
        for start in range(0, len(objects), batch_size):
            cursor.executemany(sql, [tuple(get(obj) for get in getters) for obj in objects[start : start + batch_size]])


PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "CharField",
        "TextField",
        "BooleanField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "DecimalField",
    }
)


def flush_service() -> None:
    """Delete every service record (the seed's --flush), children first."""
    children: tuple[type[models.Model], ...] = (
        DeferredWork,
        QualityCheck,
        JobClockSegment,
        LinePartIssue,
        EstimateLine,
        Estimate,
        RepairOrderEvent,
    )
    for child in children:
        child._default_manager.all().delete()
    RepairOrder.objects.filter(Q(pk__isnull=False)).delete()
    for model in (AdvisorSlotLoad, Appointment, Slot, Movement, Batch, Stock, Part):  # the parts ledger too
        model.objects.all().delete()
