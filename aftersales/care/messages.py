"""The care playbooks' message texts (zh-Hans and English), declared like the outbox's own templates and added to
them when the app starts (`apps.CareConfig.ready`).  The customer texts are marketing: the outbox appends the
opt-out line ("回复TD退订") itself.  The `care_task_*` texts are the staff tasks raised through `staff_notify`."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "care_a_benefits": {
        "zh-hans": (
            "{year}年度会员礼遇｜{store}",
            "{name}您好！感谢您一直以来的信任，{store}为您准备了{year}年度礼遇：{benefits}。"
            "您的专属服务顾问：{advisor}，预约请致电{phone}。",
        ),
        "en": (
            "Your {year} benefits – {store}",
            "Dear {name}, thank you for your loyalty. {store} has prepared your {year} benefits: {benefits}. "
            "Your dedicated advisor: {advisor}; to book, call {phone}.",
        ),
    },
    "care_b_suggestion_km": {
        "zh-hans": (
            "保养建议｜{plate}",
            "{name}您好！您的爱车{plate}已行驶约{km}公里，建议进行：{item}。一键预约{store}：{link} ，或致电{phone}。",
        ),
        "en": (
            "Service suggestion – {plate}",
            "Dear {name}, your vehicle {plate} has covered about {km} km; we suggest: {item}. "
            "Book at {store} in one tap: {link}, or call {phone}.",
        ),
    },
    "care_b_suggestion_age": {
        "zh-hans": (
            "保养建议｜{plate}",
            "{name}您好！您的爱车{plate}已使用{months}个月，建议进行：{item}。"
            "一键预约{store}：{link} ，或致电{phone}。",
        ),
        "en": (
            "Service suggestion – {plate}",
            "Dear {name}, your vehicle {plate} is {months} months old; we suggest: {item}. "
            "Book at {store} in one tap: {link}, or call {phone}.",
        ),
    },
    "care_b_upgrade": {
        "zh-hans": (
            "专享优惠｜{store}",
            "{name}您好！{store}为您准备了专享优惠：{offer}{discount}%优惠，详情请致电{phone}。",
        ),
        "en": (
            "An offer for you – {store}",
            "Dear {name}, {store} has an offer for you: {offer} at {discount}% off. Call {phone} for details.",
        ),
    },
    "care_c_welcome": {
        "zh-hans": (
            "欢迎礼｜{store}",
            "{name}您好！感谢您在{store}完成首次保养，我们为您准备了欢迎礼：{gift}，下次到店即可领取。咨询电话{phone}。",
        ),
        "en": (
            "A welcome gift – {store}",
            "Dear {name}, thank you for your first maintenance at {store}. A welcome gift awaits you on your next "
            "visit: {gift}. Questions: {phone}.",
        ),
    },
    "care_d_recall": {
        "zh-hans": (
            "好久不见｜{store}",
            "{name}您好！您的爱车已{months}个月未到店保养，为了您的行车安全，{store}邀请您回店免费检测。"
            "一键预约：{link} ，或致电{phone}。",
        ),
        "en": (
            "We miss you – {store}",
            "Dear {name}, your vehicle has not been serviced for {months} months. For your safety, {store} invites "
            "you for a free check. Book in one tap: {link}, or call {phone}.",
        ),
    },
    "care_d_win_back": {
        "zh-hans": (
            "回店专享｜{store}",
            "{name}您好！{store}为您准备了回店专享：工时费{discount}%优惠。一键预约：{link} ，或致电{phone}。",
        ),
        "en": (
            "Welcome back – {store}",
            "Dear {name}, {store} welcomes you back with {discount}% off labour. Book in one tap: {link}, "
            "or call {phone}.",
        ),
    },
    "care_task_a_advisor": {
        "zh-hans": (
            "忠诚客户：{customer}",
            "{customer}已进入A类（忠诚）客户，您是其专属服务顾问。请主动联系客户，介绍专属服务与优先通道。",
        ),
        "en": (
            "Loyal customer: {customer}",
            "{customer} is now a tier-A (loyal) customer and you are their dedicated advisor. Please get in touch "
            "and introduce the dedicated service and the priority lane.",
        ),
    },
    "care_task_d_call": {
        "zh-hans": (
            "回访任务：{customer}",
            "{customer}已{months}个月未到店（流失风险）。请致电了解原因，并记录客户的反馈。",
        ),
        "en": (
            "Call task: {customer}",
            "{customer} has not been in for {months} months (churn risk). Please call to ask why and note what "
            "the customer says.",
        ),
    },
    "care_task_d_call_no_offer": {
        "zh-hans": (
            "回访任务：{customer}",
            "{customer}已{months}个月未到店（流失风险）。请致电了解原因，并记录客户的反馈。"
            "客户未同意接收营销信息：请勿推荐优惠。",
        ),
        "en": (
            "Call task: {customer}",
            "{customer} has not been in for {months} months (churn risk). Please call to ask why and note what "
            "the customer says. The customer has not agreed to marketing: make no offers.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
