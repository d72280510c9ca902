"""The hierarchies a store or group starts from (SPEC §8).  Indicators read the 1–5 items of the default survey
instrument (feedback migration 0002) by key; a store's own instrument may add items and indicators."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    code: str
    item_key: str
    zh_hans: str
    en: str


@dataclass(frozen=True)
class Criterion:
    code: str
    zh_hans: str
    en: str
    weight: float  # the preset's starting weight (its criteria matrix is the consistent one of these weights)
    indicators: tuple[Indicator, ...]


def _i(item_key: str, zh_hans: str, en: str) -> Indicator:
    return Indicator(item_key, item_key, zh_hans, en)


# SERVQUAL (Parasuraman, Zeithaml & Berry 1988): five dimensions, equal until the experts judge them.
SERVQUAL = (
    Criterion("tangibles", "有形性", "Tangibles", 0.2, (_i("facility", "环境设施", "Facility and environment"),)),
    Criterion("reliability", "可靠性", "Reliability", 0.2, (_i("quality", "维修质量", "Repair quality"),)),
    Criterion(
        "responsiveness",
        "响应性",
        "Responsiveness",
        0.2,
        (_i("waiting", "等待时间", "Waiting time"), _i("timeliness", "交车及时", "Timeliness of delivery")),
    ),
    Criterion(
        "assurance",
        "保证性",
        "Assurance",
        0.2,
        (_i("price_transparency", "价格透明", "Price transparency"), _i("explanation", "维修解释", "Explanation")),
    ),
    Criterion("empathy", "移情性", "Empathy", 0.2, (_i("attitude", "服务态度", "Service attitude"),)),
)

# J.D. Power's China CSI factors; its 2014 and 2015 studies published factor weights between 17 % and 24 %, service
# quality the heaviest.  These starting weights lie in that range in that order; the store's experts refine them.
JD_POWER = (
    Criterion(
        "service_initiation", "服务启动", "Service initiation", 0.19, (_i("waiting", "等待时间", "Waiting time"),)
    ),
    Criterion(
        "service_advisor",
        "服务顾问",
        "Service advisor",
        0.21,
        (_i("attitude", "服务态度", "Service attitude"), _i("explanation", "维修解释", "Explanation")),
    ),
    Criterion("service_facility", "服务设施", "Service facility", 0.17, (_i("facility", "环境设施", "Facility"),)),
    Criterion(
        "vehicle_pickup",
        "提车",
        "Vehicle pick-up",
        0.19,
        (
            _i("timeliness", "交车及时", "Timeliness of delivery"),
            _i("price_transparency", "价格透明", "Price transparency"),
        ),
    ),
    Criterion("service_quality", "服务质量", "Service quality", 0.24, (_i("quality", "维修质量", "Repair quality"),)),
)

PRESETS: dict[str, tuple[Criterion, ...]] = {"servqual": SERVQUAL, "jd_power": JD_POWER}
