"""The rescue alerts' texts (zh-Hans and English), raised through `staff_notify` and added to the outbox's
templates when the app starts (`apps.RescueConfig.ready`)."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "rescue_unmatched": {
        "zh-hans": (
            "救援请求{number}暂无可派门店",
            "救援请求{number}（{road}，{fault}）：集团内没有空闲的救援班组。请尽快人工安排，系统每分钟重试匹配。",
        ),
        "en": (
            "Rescue request {number}: no store free",
            "Rescue request {number} ({road}, {fault}): no store of the group has a free rescue crew. Please "
            "arrange it by hand; the system tries again every minute.",
        ),
    },
    "rescue_overdue": {
        "zh-hans": (
            "救援请求{number}匹配已超时",
            "救援请求{number}（{road}，{fault}）已等待{minutes}分钟仍未匹配门店，已超过匹配时限。请立即处理。",
        ),
        "en": (
            "Rescue request {number}: matching overdue",
            "Rescue request {number} ({road}, {fault}) has waited {minutes} minutes without a store, past the "
            "matching target. Please act now.",
        ),
    },
    "rescue_dispatched": {
        "zh-hans": (
            "救援任务{number}：{road}",
            "您被指派为救援请求{number}的班组负责人（{crew}）：{fault}。车牌{plate}。到场时限{eta}。打开任务查看位置和车辆历史。",
        ),
        "en": (
            "Rescue job {number}: {road}",
            "You lead the crew of rescue request {number} ({crew}): {fault}. Plate {plate}. On site by {eta}. Open the "
            "job for the location and the car's history.",
        ),
    },
    # To the customer (a service notice: it rests on the rescue they asked for, sent at any hour).
    "rescue_matched": {
        "zh-hans": (
            "道路救援｜{store}",
            "您的救援请求已由{store}受理，救援人员预计{eta}前到达。查看进度：{link} 。如有变化请致电{phone}。",
        ),
        "en": (
            "Roadside rescue – {store}",
            "{store} has taken your rescue request; the crew should be with you by {eta}. Follow it here: {link}. "
            "Anything changes? Call {phone}.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
