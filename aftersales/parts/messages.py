"""The parts ledger's alert texts (zh-Hans and English), added to the outbox's templates when the app starts."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "parts_low_stock": {
        "zh-hans": (
            "库存低于安全库存｜{code}",
            "{store}：配件{code} {name}库存{on_hand}{unit}，低于安全库存{safety}{unit}，请及时补货。",
        ),
        "en": (
            "Low stock – {code}",
            "{store}: part {code} {name} is down to {on_hand} {unit}, below its safety stock of {safety} {unit}. "
            "Please reorder.",
        ),
    },
}


def register() -> None:
    """Add the texts to the outbox's templates (once; a name the outbox already has is left alone)."""
    from aftersales.messaging import templates

    for key, texts in TEMPLATES.items():
        templates.TEMPLATES.setdefault(key, texts)
