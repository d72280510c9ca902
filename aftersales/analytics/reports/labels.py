"""Words both report formats share (in the report's language: call them inside `translation.override`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from aftersales.analytics.catalogue import KpiResult
from aftersales.analytics.periods import Period

RAG_FILL = {"green": "#C6EFCE", "amber": "#FFEB9C", "red": "#FFC7CE"}  # Excel's own good / neutral / bad fills
RAG_FONT = {"green": "#006100", "amber": "#9C5700", "red": "#9C0006"}


def unit_label(unit: str) -> str:
    return {
        "percent": "%",
        "points": _("points"),
        "minutes": _("min"),
        "hours": _("h"),
        "currency": _("CNY"),
        "number": "",
    }.get(unit, unit)


def status_label(status: str | None) -> str:
    if not status:
        return "—"
    return {"green": _("On target"), "amber": _("Near target"), "red": _("Off target")}[status]


def period_label(period: Period) -> str:
    if period.kind == "month":
        return _("Month %(period)s") % {"period": period}
    if period.kind == "quarter":
        return _("Quarter %(period)s") % {"period": period}
    return _("Year %(period)s") % {"period": period}


def number(value: Decimal | int | float | None) -> float | int | None:
    """A figure as a spreadsheet number (None stays empty)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)
    return value


def shown(value: Any) -> str:
    """A figure as text for the PDF: two decimals at most, a dash for none."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        text = f"{value:,.2f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value:,}" if isinstance(value, int) else str(value)


def note(result: KpiResult) -> str:
    """Why a figure is empty or partial: the catalogue's reason, or the count of records still pending."""
    parts = [result.reason] if result.reason else []
    if result.pending:
        parts.append(_("%(count)s pending (clock still running)") % {"count": result.pending})
    return "; ".join(parts)
