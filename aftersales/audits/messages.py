"""The audit alerts' texts (zh-Hans and English), added to the outbox's templates when the app starts."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "audit_assigned": {
        "zh-hans": (
            "审核任务｜{store}",
            "您被指派为{store}的{kind}审核员（{audit}），请于{due}前完成并提交。",
        ),
        "en": (
            "Audit to do – {store}",
            "You are the auditor of {store}'s {kind} ({audit}); fill it in and submit it by {due}.",
        ),
    },
    "audit_submitted": {
        "zh-hans": (
            "审核结果｜{store} {score}分",
            "{store}的{kind}（{audit}）已提交，得分{score}，发现问题{findings}项，请查看并安排整改。",
        ),
        "en": (
            "Audit result – {store}: {score}",
            "{store}'s {kind} ({audit}) has been submitted: score {score}, {findings} finding(s). "
            "Read it and arrange the corrective actions.",
        ),
    },
    "audit_finding_opened": {
        "zh-hans": (
            "审核发现问题｜{store}",
            "{store}的{kind}（{audit}）发现问题：{finding}。您是负责人，请于{due}前整改并关闭。",
        ),
        "en": (
            "Audit finding – {store}",
            "{store}'s {kind} ({audit}) found: {finding}. You own it: put it right and close it by {due}.",
        ),
    },
    "audit_finding_overdue": {
        "zh-hans": (
            "审核问题已超时｜{store}",
            "{store}的审核问题“{finding}”（负责人{owner}）应于{due}前整改，目前仍未关闭。",
        ),
        "en": (
            "Audit finding overdue – {store}",
            "{store}'s audit finding “{finding}” (owner {owner}) was due by {due} and is still open.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
