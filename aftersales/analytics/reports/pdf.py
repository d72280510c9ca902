"""The PDF report: a cover, the summary table of every KPI with its RAG status and change, and the trends of
the key KPIs as SVG charts drawn here (charts.py).  Rendered by WeasyPrint with the system's CJK fonts (Debian's
fonts-noto-cjk, the same the bill declares), page numbers from CSS paged media."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from aftersales.analytics.reports import charts, labels
from aftersales.analytics.reports.content import ReportContent

Progress = Callable[[int, str], None]


def report_html(content: ReportContent, *, language: str) -> str:
    """The report as HTML (in the active language): the PDF's source, also what a test can read."""
    areas = []
    for _key, area_label, lines in content.areas():
        rows = []
        for line in lines:
            result = line.result
            rows.append(
                {
                    "label": line.kpi.label,
                    "definition": line.kpi.definition,
                    "value": _with_unit(result.value, line.kpi.unit),
                    "counts": f"{labels.shown(result.numerator)} / {labels.shown(result.denominator)}",
                    "target": labels.shown(result.target),
                    "status": result.status or "",
                    "status_label": labels.status_label(result.status),
                    "previous": labels.shown(line.previous.value if line.previous else None),
                    "change": "—" if line.change is None else f"{line.change:+.2f}",
                    "note": labels.note(result),
                    "parts": [
                        {
                            "label": part_label,
                            "value": _with_unit(part.value, line.kpi.unit),
                            "counts": f"{labels.shown(part.numerator)} / {labels.shown(part.denominator)}",
                        }
                        for part_label, part in line.parts()
                    ],
                }
            )
        areas.append({"label": area_label, "rows": rows})
    trend_charts = []
    for key, points in content.trends.items():
        charted = content.line(key)
        if charted is None:
            continue
        svg = charts.line_chart(
            [charts.Point(str(period), value) for period, value in points],
            title=str(charted.kpi.label),
            unit=labels.unit_label(charted.kpi.unit),
            target=charted.result.target,
        )
        trend_charts.append(mark_safe(svg))  # noqa: S308 - built by charts.py, every text escaped there
    statuses = [line.result.status for line in content.lines]
    return render_to_string(
        "analytics/report_pdf.html",
        {
            "content": content,
            "language": language,
            "period_label": labels.period_label(content.period),
            "computed": timezone.localtime(content.now),
            "areas": areas,
            "charts": trend_charts,
            "tally": {status: statuses.count(status) for status in ("green", "amber", "red")},
            "trend_count": len(next(iter(content.trends.values()), [])),
        },
    )


def _with_unit(value: Any, unit: str) -> str:
    """ "6.92 h", "89.5 %"; a bare dash without a figure."""
    return f"{labels.shown(value)} {labels.unit_label(unit)}".strip() if value is not None else "—"


def write_pdf(content: ReportContent, path: str, *, language: str, progress: Progress, span: tuple[int, int]) -> None:
    from weasyprint import HTML  # imported here: pango is needed only by the worker that renders

    low, high = span
    progress(low, _("Laying out the pages"))
    html = report_html(content, language=language)
    progress(low + (high - low) // 3, _("Rendering the PDF"))
    HTML(string=html).write_pdf(path)
    progress(high, _("PDF rendered"))
