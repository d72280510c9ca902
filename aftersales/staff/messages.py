"""The staff alerts' texts (zh-Hans and English), added to the outbox's templates when the app starts."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "staff_certificate_expiring": {
        "zh-hans": (
            "证书即将到期｜{name}",
            "{store}：{name}的{kind}（编号{number}）将于{expires}到期，请安排复审或换证。",
        ),
        "en": (
            "Certificate expiring – {name}",
            "{store}: {name}'s {kind} (number {number}) expires on {expires}; arrange its renewal.",
        ),
    },
    "staff_certificate_expired": {
        "zh-hans": (
            "证书已过期｜{name}",
            "{store}：{name}的{kind}（编号{number}）已于{expires}到期，换证前不能派此类作业。",
        ),
        "en": (
            "Certificate expired – {name}",
            "{store}: {name}'s {kind} (number {number}) expired on {expires}; work that needs it cannot be "
            "dispatched to them until it is renewed.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
