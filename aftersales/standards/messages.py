"""The SOP alerts' texts (zh-Hans and English), added to the outbox's templates when the app starts."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "sop_acknowledge": {
        "zh-hans": (
            "请阅读新版SOP｜{code} v{number}",
            "{store}：{title}（{code} v{number}）自{effective}起执行。变更说明：{note}。请阅读后点击“我已阅读”。",
        ),
        "en": (
            "New SOP to read – {code} v{number}",
            "{store}: {title} ({code} v{number}) is in force from {effective}. What changed: {note}. "
            'Please read it and press "I have read it".',
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
