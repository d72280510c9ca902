"""The XLSX report: a summary sheet (every KPI with its definition, value, counts, target, RAG status and the
change against the previous period) and one sheet per area with the records behind each KPI.

Written with xlsxwriter in `constant_memory` mode — each row is flushed to a temporary file as soon as the next
one starts, so a group's yearly report with hundreds of thousands of records needs no more memory than a
store's month.  The rows come from `tables.rows_for` (one streamed query per KPI)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.analytics import selectors
from aftersales.analytics.reports import labels, tables
from aftersales.analytics.reports.content import ReportContent

EXCEL_MAX_ROWS = 1_048_576
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
Progress = Callable[[int, str], None]


def _sheet_name(text: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique (case-insensitively)."""
    base = _BAD_SHEET_CHARS.sub(" ", text).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name, n = f"{base[:26]} {n}", n + 1
    used.add(name.lower())
    return name


def write_xlsx(
    content: ReportContent,
    path: str,
    *,
    see_plates: bool,
    progress: Progress,
    span: tuple[int, int],
    pseudonym_salt: str | None = None,
) -> None:
    """Write the workbook to `path` (a temporary file: constant-memory mode needs one).  With `pseudonym_salt`
    (a group's report) customers appear by pseudonym, never by name (`tables.customer_pseudonym`)."""
    book = xlsxwriter.Workbook(
        path, {"constant_memory": True, "default_date_format": "yyyy-mm-dd hh:mm", "remove_timezone": True}
    )
    fmt = _formats(book)
    used: set[str] = set()
    _summary(book.add_worksheet(_sheet_name(_("Summary"), used)), content, fmt)
    low, high = span
    total = max(len(content.lines), 1)
    done = 0
    for _key, area_label, lines in content.areas():
        sheet = book.add_worksheet(_sheet_name(str(area_label), used))
        sheet.set_column(0, 0, 10)
        sheet.set_column(1, 30, 16)
        row = 0
        sheet.write(row, 0, str(area_label), fmt["title"])
        row += 2
        for line in lines:
            progress(
                low + (high - low) * done // total,
                _("Sheet %(sheet)s: %(kpi)s")
                % {
                    "sheet": area_label,
                    "kpi": line.kpi.label,
                },
            )
            row = _records_block(sheet, row, line, content, fmt, see_plates=see_plates, salt=pseudonym_salt)
            done += 1
    progress(high, _("Writing the workbook"))
    book.close()


def _formats(book: xlsxwriter.Workbook) -> dict[str, Any]:
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "muted": book.add_format({"font_color": "#666666"}),
        "head": book.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1, "text_wrap": True, "valign": "top"}),
        "kpi": book.add_format({"bold": True, "font_size": 12}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "num": book.add_format({"num_format": "#,##0.##", "valign": "top"}),
        "signed": book.add_format({"num_format": "+#,##0.00;-#,##0.00;0", "valign": "top"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }
    for status, fill in labels.RAG_FILL.items():
        fmt[status] = book.add_format(
            {"bg_color": fill, "font_color": labels.RAG_FONT[status], "bold": True, "valign": "top"}
        )
    return fmt


def _summary(sheet: Any, content: ReportContent, fmt: dict[str, Any]) -> None:
    headings = [
        _("Indicator"),
        _("Definition"),
        _("Value"),
        _("Unit"),
        _("Numerator"),
        _("Denominator"),
        _("Target"),
        _("Status"),
        _("Previous period"),
        _("Change vs previous period"),
        _("Note"),
        _("Key"),
    ]
    widths = [26, 60, 10, 8, 12, 12, 10, 12, 12, 14, 30, 28]
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.write(0, 0, _("KPI report: %(scope)s") % {"scope": content.title}, fmt["title"])
    sheet.write(1, 0, labels.period_label(content.period), fmt["kpi"])
    computed = timezone.localtime(content.now).strftime("%Y-%m-%d %H:%M")
    sheet.write(2, 0, _("Computed at %(time)s") % {"time": computed}, fmt["muted"])
    sheet.write_row(4, 0, headings, fmt["head"])
    sheet.freeze_panes(5, 1)
    row = 5
    for _key, area_label, lines in content.areas():
        sheet.write(row, 0, str(area_label), fmt["kpi"])
        row += 1
        for line in lines:
            result = line.result
            sheet.write(row, 0, str(line.kpi.label), fmt["wrap"])
            sheet.write(row, 1, str(line.kpi.definition), fmt["wrap"])
            _number(sheet, row, 2, result.value, fmt["num"])
            sheet.write(row, 3, labels.unit_label(line.kpi.unit))
            _number(sheet, row, 4, result.numerator, fmt["num"])
            _number(sheet, row, 5, result.denominator, fmt["num"])
            _number(sheet, row, 6, result.target, fmt["num"])
            sheet.write(row, 7, labels.status_label(result.status), fmt.get(result.status or "", fmt["wrap"]))
            _number(sheet, row, 8, line.previous.value if line.previous else None, fmt["num"])
            _number(sheet, row, 9, line.change, fmt["signed"])
            sheet.write(row, 10, labels.note(result), fmt["wrap"])
            sheet.write(row, 11, line.kpi.key, fmt["muted"])
            row += 1
            for part_label, part in line.parts():  # e.g. the repair duration per service type
                sheet.write(row, 0, f"  · {part_label}", fmt["wrap"])
                _number(sheet, row, 2, part.value, fmt["num"])
                sheet.write(row, 3, labels.unit_label(line.kpi.unit))
                _number(sheet, row, 4, part.numerator, fmt["num"])
                _number(sheet, row, 5, part.denominator, fmt["num"])
                row += 1


def _number(sheet: Any, row: int, col: int, value: Any, cell_format: Any) -> None:
    figure = labels.number(value)
    if figure is None:
        sheet.write_blank(row, col, None, cell_format)
    else:
        sheet.write_number(row, col, figure, cell_format)


def _records_block(
    sheet: Any,
    row: int,
    line: Any,
    content: ReportContent,
    fmt: dict[str, Any],
    *,
    see_plates: bool,
    salt: str | None = None,
) -> int:
    """One KPI's block on its area sheet: a heading with the figure, the column headings, the records."""
    result = line.result
    figure = "—" if result.value is None else f"{labels.shown(result.value)} {labels.unit_label(line.kpi.unit)}".strip()
    sheet.write(
        row,
        0,
        f"{line.kpi.label}: {figure} ({labels.shown(result.numerator)} / {labels.shown(result.denominator)})",
        fmt["kpi"],
    )
    row += 1
    records = selectors.kpi_drilldown(line.kpi.key, content.scope, content.period, now=content.now)
    if records is None:
        sheet.write(row, 0, _("This KPI has no list of records."), fmt["muted"])
        return row + 2
    columns = tables.columns_for(records, pseudonymise=salt is not None)
    sheet.write_row(row, 0, [column.heading for column in columns], fmt["head"])
    row += 1
    written = 0
    for values in tables.rows_for(records, columns, see_plates=see_plates, salt=salt or ""):
        if row >= EXCEL_MAX_ROWS - 2:
            sheet.write(row, 0, _("More records than a sheet holds; the list stops here."), fmt["muted"])
            return row + 1
        for col, value in enumerate(values):
            if value is None:
                continue
            if hasattr(value, "year") and hasattr(value, "hour"):
                sheet.write_datetime(row, col, value, fmt["date"])
            else:
                sheet.write(row, col, value)
        row += 1
        written += 1
    if not written:
        sheet.write(row, 0, _("No records."), fmt["muted"])
        row += 1
    return row + 1
