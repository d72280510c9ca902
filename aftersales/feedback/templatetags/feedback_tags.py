"""Template helpers of the feedback pages."""

from __future__ import annotations

from typing import Any

from django import template

from aftersales.feedback.choices import ItemKind

register = template.Library()


@register.filter
def score_badge(value: int | None, kind: str = ItemKind.SCORE_0_10) -> str:
    """Bootstrap colour of a score: on 0–10, 9–10 good, 7–8 middling, 0–6 poor (the NPS bands); on 1–5,
    4–5 good, 3 middling, 1–2 poor."""
    if value is None:
        return "secondary"
    good, middling = (9, 7) if kind != ItemKind.SCALE_1_5 else (4, 3)
    if value >= good:
        return "success"
    return "warning" if value >= middling else "danger"


@register.simple_tag
def survey_link(order: Any) -> str:
    """The customer's signed survey link of a delivered order (shown under its QR code on the order page)."""
    from aftersales.feedback.services import survey_link_url

    return survey_link_url(order)
