"""The reminders' message texts (zh-Hans and English), declared like the outbox's own templates and added to
them when the app starts (`apps.RemindersConfig.ready`): the outbox renders and checks them as any other."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "reminder_first_maintenance": {
        "zh-hans": (
            "首保提醒｜{plate}",
            "{name}您好！您的爱车{plate}首次保养到期：{due}或约{km}公里（以先到者为准），"
            "一键预约{store}：{link} ，或致电{phone}。",
        ),
        "en": (
            "First maintenance due – {plate}",
            "Dear {name}, the first maintenance of your vehicle {plate} falls due on {due} or at about {km} km, "
            "whichever comes first. "
            "Book at {store} in one tap: {link}, or call {phone}.",
        ),
    },
    "reminder_maintenance": {
        "zh-hans": (
            "保养提醒｜{plate}",
            "{name}您好！您的爱车{plate}保养到期：{due}或约{km}公里（以先到者为准），"
            "一键预约{store}：{link} ，或致电{phone}。",
        ),
        "en": (
            "Maintenance due – {plate}",
            "Dear {name}, the maintenance of your vehicle {plate} falls due on {due} or at about {km} km, "
            "whichever comes first. "
            "Book at {store} in one tap: {link}, or call {phone}.",
        ),
    },
    "reminder_insurance": {
        "zh-hans": (
            "保险到期提醒｜{plate}",
            "{name}您好！您的爱车{plate}的保险将于{due}到期，请及时续保。如需协助，请联系{store}，电话{phone}。",
        ),
        "en": (
            "Insurance expires soon – {plate}",
            "Dear {name}, the insurance of your vehicle {plate} expires on {due}; please renew it in time. "
            "{store} can help: {phone}.",
        ),
    },
    "reminder_inspection": {
        "zh-hans": (
            "年检提醒｜{plate}",
            "{name}您好！您的爱车{plate}需在{due}前完成年检，一键预约{store}检测：{link} ，或致电{phone}。",
        ),
        "en": (
            "Annual inspection due – {plate}",
            "Dear {name}, your vehicle {plate} must pass its annual inspection by {due}. "
            "Book a check at {store} in one tap: {link}, or call {phone}.",
        ),
    },
    "reminder_deferred_work": {
        "zh-hans": (
            "维修建议提醒｜{plate}",
            "{name}您好！上次到店时为您的爱车{plate}建议的项目“{work}”，建议完成日期：{due}。"
            "一键预约{store}：{link} ，或致电{phone}。",
        ),
        "en": (
            "Recommended work – {plate}",
            "Dear {name}, the work we recommended for {plate} at your last visit, “{work}”, is suggested for {due}. "
            "Book at {store} in one tap: {link}, or call {phone}.",
        ),
    },
    "reminder_birthday": {
        "zh-hans": ("生日快乐｜{store}", "{name}您好！{store}全体员工祝您生日快乐，一路平安！"),
        "en": (
            "Happy birthday – {store}",
            "Dear {name}, everyone at {store} wishes you a happy birthday and safe driving!",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
