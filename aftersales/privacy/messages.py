"""The rights-request alerts' texts (zh-Hans and English), added to the outbox's templates on first use."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "rights_request_assigned": {
        "zh-hans": (
            "个人信息权利请求｜{number}",
            "{store}：客户个人信息请求{number}（{kind}）由您负责，须于{due}前答复。",
        ),
        "en": (
            "Rights request to handle – {number}",
            "{store}: the customer's personal-data request {number} ({kind}) is yours; it must be answered by {due}.",
        ),
    },
    "rights_request_due_soon": {
        "zh-hans": (
            "个人信息请求即将超时｜{number}",
            "{store}：客户个人信息请求{number}（{kind}，负责人{owner}）须于{due}前答复，时限已过八成。",
        ),
        "en": (
            "Rights request nearly due – {number}",
            "{store}: the customer's personal-data request {number} ({kind}, owner {owner}) must be answered "
            "by {due}; 80 % of its time has run.",
        ),
    },
    "rights_request_overdue": {
        "zh-hans": (
            "个人信息请求已超时｜{number}",
            "{store}：客户个人信息请求{number}（{kind}，负责人{owner}）应于{due}前答复，至今未答复，已升级给您。",
        ),
        "en": (
            "Rights request overdue – {number}",
            "{store}: the customer's personal-data request {number} ({kind}, owner {owner}) was due by {due} "
            "and has no answer yet; it is escalated to you.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
