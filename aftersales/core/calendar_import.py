"""Entering a year of China's official calendar from the State Council's notice (docs/calendar.md).

The file format (the public contract of `aftersales calendar import FILE`, also pasted or uploaded on
/settings/calendar/<year>/):

    {"year": 2027, "notice": "国办发明电〔2026〕x号",
     "holidays": ["2027-01-01", "2027-02-05", …], "workdays": ["2027-02-14", …]}

* `year`: a whole number, 2000–2100;
* `holidays`: every day off the notice gives (weekend days inside a holiday block may be listed or left out: a
  weekend day is a rest day anyway), at least one;
* `workdays`: the make-up working days (调休), each a Saturday or a Sunday; may be empty;
* `notice` (optional): the notice's number, up to 120 characters.

Every date is ISO (YYYY-MM-DD) and lies in the notice's range: the year itself, or the last days of December of
the year before (from 25 December), which a notice sometimes moves (the 2023 notice gave Sat 31 Dec 2022 off; the
2012 one made Sat 31 Dec 2011 a working day).  A date is listed once and is not both a holiday and a workday.
Importing a year again replaces it whole.  This module is layer 0: the capability check is the caller's
(`organisation.calendar_services` for the page; the command line is the server's operator).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.core import calendar, clock
from aftersales.core.audit import audit_record
from aftersales.core.models import OfficialCalendarYear

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_FILE_BYTES = 64 * 1024
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELDS = ("year", "holidays", "workdays", "notice")


def notice_range(year: int) -> tuple[dt.date, dt.date]:
    """The first and last day a notice for `year` may name."""
    return dt.date(year - 1, *calendar.SPILL_FROM), dt.date(year, 12, 31)


def calendar_year_parse(text: str | bytes) -> dict[str, Any]:
    """The JSON object of an uploaded or pasted file; ValidationError on the field "file" when it is not one."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ValidationError({"file": [_("The file is larger than 64 KB: it is not a calendar year.")]})
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": [_("The file is not UTF-8 text.")]}) from exc
    try:
        data = json.loads(text.removeprefix("\ufeff"))  # a BOM pasted with the text
    except ValueError as exc:
        raise ValidationError({"file": [_("The file is not valid JSON: %(error)s") % {"error": str(exc)}]}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"file": [_("The file must hold one JSON object with year, holidays and workdays.")]})
    return data


def _dates(
    errors: dict[str, list[str]], data: dict[str, Any], field: str, year: int | None, *, weekend_only: bool
) -> list[dt.date]:
    raw = data.get(field)
    if raw is None and field == "workdays":
        return []
    if not isinstance(raw, list):
        errors.setdefault(field, []).append(_("%(field)s: a list of dates is required.") % {"field": field})
        return []
    seen: dict[dt.date, int] = {}
    for index, value in enumerate(raw):
        where = f"{field}[{index}]"
        day: dt.date | None = None
        if isinstance(value, str) and _ISO_DATE.match(value):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                day = None
        if day is None:
            errors.setdefault(field, []).append(
                _("%(where)s: %(value)s is not a date (YYYY-MM-DD).") % {"where": where, "value": value}
            )
            continue
        if day in seen:
            errors.setdefault(field, []).append(
                _("%(where)s: %(value)s is listed twice (also at %(first)d).")
                % {"where": where, "value": value, "first": seen[day]}
            )
            continue
        seen[day] = index
        if year is not None:
            first, last = notice_range(year)
            if not first <= day <= last:
                errors.setdefault(field, []).append(
                    _("%(where)s: %(value)s is outside the notice's range (%(first)s to %(last)s).")
                    % {"where": where, "value": value, "first": first.isoformat(), "last": last.isoformat()}
                )
                continue
        if weekend_only and day.weekday() < 5:
            errors.setdefault(field, []).append(
                _("%(where)s: %(value)s is a weekday; a make-up working day is a Saturday or a Sunday.")
                % {"where": where, "value": value}
            )
    return list(seen)


def calendar_year_validate(data: Any) -> tuple[int, list[dt.date], list[dt.date], str]:
    """(year, holidays, workdays, notice) of a notice file, sorted; ValidationError naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationError({"file": [_("The file must hold one JSON object with year, holidays and workdays.")]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        errors["file"] = [
            _("Unknown field(s): %(fields)s (expected year, holidays, workdays, notice).")
            % {"fields": ", ".join(unknown)}
        ]
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        errors["year"] = [
            _("year: %(value)s is not a year from %(min)d to %(max)d.")
            % {"value": json.dumps(year, ensure_ascii=False), "min": MIN_YEAR, "max": MAX_YEAR}
        ]
        year = None
    holidays = _dates(errors, data, "holidays", year, weekend_only=False)
    workdays = _dates(errors, data, "workdays", year, weekend_only=True)
    if "holidays" not in errors and not holidays:
        errors["holidays"] = [_("holidays: the notice gives at least one holiday.")]
    both = sorted(set(holidays) & set(workdays))
    for day in both:
        errors.setdefault("workdays", []).append(
            _("workdays[%(index)d]: %(value)s is also a holiday.")
            % {"index": workdays.index(day), "value": day.isoformat()}
        )
    notice = data.get("notice", "")
    if notice is None:
        notice = ""
    if not isinstance(notice, str) or len(notice.strip()) > 120:
        errors["notice"] = [_("notice: up to 120 characters of text (the notice's number).")]
        notice = ""
    if errors:
        raise ValidationError(errors)
    assert year is not None  # noqa: S101 - errors would have been raised
    return year, sorted(holidays), sorted(workdays), notice.strip()


@transaction.atomic
def calendar_year_import(data: dict[str, Any], *, by: User | None) -> OfficialCalendarYear:
    """Enter (or replace) a year of the official calendar from a notice file's object; nothing is written when any
    field is wrong.  The clocks use the year from the next computation on (in this process at once; in the others
    within `calendar._ENTERED_TTL` seconds).  Due times already stored do not move."""
    year, holidays, workdays, notice = calendar_year_validate(data)
    existing = OfficialCalendarYear.objects.select_for_update().filter(year=year).first()
    row = existing or OfficialCalendarYear(year=year)
    before = {"holidays": list(row.holidays), "workdays": list(row.workdays), "notice": row.notice}
    row.holidays = [d.isoformat() for d in holidays]
    row.workdays = [d.isoformat() for d in workdays]
    row.notice = notice
    row.entered_by = by if getattr(by, "is_authenticated", False) else None
    row.entered_at = clock.now()
    row.save()
    audit_record(
        actor=by,
        action="calendar.import",
        obj=row,
        changes={
            "year": year,
            "notice": notice,
            "holidays": row.holidays,
            "workdays": row.workdays,
            **({"replaced": before} if existing is not None else {}),
        },
    )
    calendar.forget_entered_years()
    transaction.on_commit(calendar.forget_entered_years)
    return row
