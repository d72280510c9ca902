"""The telematics texts (zh-Hans and English), added to the outbox's templates when the app starts
(`apps.TelematicsConfig.ready`): the staff alerts raised through `staff_notify`, and the owner's booking
suggestion (a service notice about a fault the car reported)."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "telematics_alert": {
        "zh-hans": (
            "车联网报警：{plate}",
            "{customer}的{vehicle}（{plate}）于{time}上报：{detail}。触发规则：{rule}。请联系车主并安排检查。",
        ),
        "en": (
            "Connected-car alert: {plate}",
            "{customer}'s {vehicle} ({plate}) reported at {time}: {detail}. Rule: {rule}. "
            "Please contact the owner and arrange a check.",
        ),
    },
    "telematics_alert_rescue": {
        "zh-hans": (
            "三级报警：{plate}",
            "{customer}的{vehicle}（{plate}）于{time}上报最高等级（三级）报警：{detail}。救援：{rescue}。"
            "请立即致电车主，确认人员安全。",
        ),
        "en": (
            "Level-3 alarm: {plate}",
            "{customer}'s {vehicle} ({plate}) reported the highest alarm level at {time}: {detail}. "
            "Rescue: {rescue}. Call the owner now and make sure everyone is safe.",
        ),
    },
    "telematics_booking_suggestion": {
        "zh-hans": (
            "车辆检查建议｜{plate}",
            "{name}您好！您的爱车{plate}上报：{detail}。建议尽快到店检查，一键预约{store}：{link} ，或致电{phone}。",
        ),
        "en": (
            "Please have your vehicle checked – {plate}",
            "Dear {name}, your vehicle {plate} reported: {detail}. We suggest a check soon. "
            "Book at {store} in one tap: {link}, or call {phone}.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
