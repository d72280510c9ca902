"""Small SVG charts for the PDF report, drawn on the server: no browser and no JavaScript in the worker, and the
SVG is vector in the PDF (sharp when printed).  Text is escaped; labels use the report's CJK font."""

from __future__ import annotations

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


def _nice_bounds(values: Sequence[float]) -> tuple[float, float]:
    """A y range with a little air that includes zero for shares and the target line."""
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    return low - pad, high + pad


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
    left, right, top, bottom = 34, 8, 22, 26
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
    low, high = _nice_bounds(scale_values)
    count = max(len(points), 2)

    def x(index: int) -> float:
        return left + plot_w * index / (count - 1)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    for step in range(5):  # horizontal grid with its values
        level = low + (high - low) * step / 4
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
