"""List pagination.  The API's: `{"items": [...], "count": n}` with `limit` and `offset`, both bounded so that
no number a client sends can reach the database as an out-of-range value.  The staff pages': `page_of` and the
filter helpers below."""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000


class BoundedPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT, description=f"rows per page, at most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="rows to skip")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)


# --------------------------------------------------------------------------------------------- the staff pages
# Every staff list page shows one page of rows (`page_of`), a filter bar (`Filter`, rendered by
# `{% list_filters filters %}`) and the pager (`{% pager page %}`), both in `aftersales/config/templatetags/lists.py`.

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
SEARCH_MAX = 60


def page_of(request: HttpRequest, rows: Any, *, per_page: int = PAGE_SIZE, param: str = "page") -> Page:
    """One page of `rows` (a queryset or a list) for `?page=`: at most `per_page` rows (never more than
    MAX_PAGE_SIZE); a missing, bad or too large number gives the first or the last page, never an error."""
    return Paginator(rows, max(1, min(per_page, MAX_PAGE_SIZE))).get_page(request.GET.get(param))


def search_param(request: HttpRequest, name: str = "q") -> str:
    """The search box's text, trimmed and bounded (a longer text cannot match anything useful)."""
    return request.GET.get(name, "").strip()[:SEARCH_MAX]


def date_param(request: HttpRequest, name: str) -> dt.date | None:
    """A `YYYY-MM-DD` filter; anything else (empty, a typo, an impossible day) means no filter."""
    try:
        return dt.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


def choice_param(request: HttpRequest, name: str, allowed: Iterable[str]) -> str:
    """A filter's value when it is one of `allowed`, else "" (no filter)."""
    value = request.GET.get(name, "")
    return value if value in set(allowed) else ""


@dataclass
class Filter:
    """One control of a list's filter bar: `kind` is "search", "select" or "date"."""

    name: str
    label: str
    kind: str = "select"
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.value.isoformat() if isinstance(self.value, dt.date) else str(self.value or "")


def date_range_filters(start: dt.date | None, end: dt.date | None) -> list[Filter]:
    """The "from" and "to" pair (`?from=`, `?to=`)."""
    return [
        Filter("from", gettext("From"), "date", start or ""),
        Filter("to", gettext("To"), "date", end or ""),
    ]


# --------------------------------------------------------------------------------------------- background sweeps


def keyset_chunks(queryset: Any, size: int = 500) -> Iterator[list[Any]]:
    """A sweep's rows in primary-key chunks (keyset pagination: no OFFSET, stable while rows are added)."""
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk
