"""Small SVG charts for the PDF report, drawn on the server: no browser and no JavaScript in the worker, and the
SVG is vector in the PDF (sharp when printed).  Text is escaped; labels use the report's CJK font."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

FONT = "Noto Sans CJK SC, Noto Sans SC, sans-serif"
LINE = "#0d6efd"
TARGET = "#198754"
GRID = "#dee2e6"
MUTED = "#6c757d"


@dataclass(frozen=True)
class Point:
    label: str  # the period, e.g. 2026-05
    value: Decimal | float | None  # None: no population in that period (a gap, never a zero)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.1f}"


def _nice_step(span: float) -> float:
    """A step of 1, 2, 2.5 or 5 × 10ⁿ giving about four intervals."""
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _nice_bounds(values: Sequence[float]) -> tuple[float, float, float]:
    """(low, high, step) on round numbers around the values (and the target); never below zero when every value
    is positive — a share or a duration has no negative axis."""
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    step = _nice_step(high - low)
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    if low >= 0 > bottom:
        bottom = 0.0
    return bottom, top, step


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    unit: str = "",
    target: Decimal | float | None = None,
    width: int = 340,
    height: int = 170,
) -> str:
    """A line chart of a KPI's trend with its target as a dashed line; periods without a value are gaps."""
    left, right, top, bottom = 34, 20, 22, 26  # room for the first and last period's label
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(p.value) for p in points if p.value is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="9">',
        f'<text x="{left}" y="13" font-size="10.5" font-weight="bold" fill="#222">{escape(title)}'
        + (f' <tspan fill="{MUTED}" font-weight="normal">({escape(unit)})</tspan>' if unit else "")
        + "</text>",
    ]
    scale_values = values + ([float(target)] if target is not None else [])
    if not values:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">—</text></svg>')
        return "".join(parts)
    low, high, step = _nice_bounds(scale_values)
    count = max(len(points), 2)

    def x(index: int) -> float:
        return left + plot_w * index / (count - 1)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    levels = [low + step * n for n in range(round((high - low) / step) + 1)]
    for level in levels:  # horizontal grid with its values
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" stroke="{GRID}" '
            'stroke-width="0.6"/>'
            f'<text x="{left - 3}" y="{y(level) + 3:.1f}" text-anchor="end" fill="{MUTED}">{_fmt(level)}</text>'
        )
    if target is not None:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(float(target)):.1f}" y2="{y(float(target)):.1f}" '
            f'stroke="{TARGET}" stroke-width="1" stroke-dasharray="4 3"/>'
        )
    # the line, broken where a period has no value
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, point in enumerate(points):
        if point.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(index):.1f},{y(float(point.value)):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" stroke-width="1.6"/>')
    for index, point in enumerate(points):
        if point.value is not None:
            parts.append(f'<circle cx="{x(index):.1f}" cy="{y(float(point.value)):.1f}" r="2" fill="{LINE}"/>')
    # x labels: first, every third, last (13 labels would overlap)
    for index, point in enumerate(points):
        if index in (0, len(points) - 1) or index % 3 == 0:
            parts.append(
                f'<text x="{x(index):.1f}" y="{height - 10}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(point.label)}</text>"
            )
    last = next((p for p in reversed(points) if p.value is not None), None)
    if last is not None:
        parts.append(
            f'<text x="{width - right}" y="13" text-anchor="end" font-weight="bold" fill="{LINE}">'
            f"{_fmt(float(last.value))}</text>"  # type: ignore[arg-type]
        )
    parts.append("</svg>")
    return "".join(parts)
