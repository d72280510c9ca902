"""List pagination.  The API's: `{"items": [...], "count": n}` with `limit` and `offset`, both bounded so that
no number a client sends can reach the database as an out-of-range value.  The staff pages': `page_of` and the
filter helpers below."""

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator

from aftersales.core import dates

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000


class BoundedPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT, description=f"rows per page, at most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="rows to skip")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)


# --------------------------------------------------------------------------------------------- sync filters
# Every API list of records takes the same sync parameters (`SyncFilter`, mixed into the list's own filter schema)
# and applies them with `sync_apply`, which also gives the list a stable order: whatever the sort, the primary
# key breaks ties in the same direction, so paging with limit/offset neither repeats nor skips a row.

SyncSort = Literal["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at"]
_M = TypeVar("_M", bound=Model)


def _moment(value: dt.datetime) -> dt.datetime:
    """A filter's time: the day as written within the bounds of a list filter (core/dates.py: ANY_DAY, so year
    9999 is a 422, not an overflow); a value without an offset is the store's time (Asia/Shanghai)."""
    try:
        dates.ANY_DAY(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value


SyncMoment = Annotated[dt.datetime, AfterValidator(_moment)]


class SyncFilter(Schema):
    """Sync and range parameters shared by every list of records (mixed into each list's filter schema)."""

    updated_since: SyncMoment | None = Field(
        None,
        description="Only rows changed at or after this time (updated_at >= it), ISO 8601; without an offset "
        "the store's time (+08:00). To sync: keep the largest `updated_at` you received and ask again with it "
        "(rows changed at that very instant come again: de-duplicate by id).",
    )
    created_from: SyncMoment | None = Field(None, description="Only rows created at or after this time (inclusive)")
    created_to: SyncMoment | None = Field(None, description="Only rows created before this time (exclusive)")
    updated_from: SyncMoment | None = Field(None, description="Only rows changed at or after this time (inclusive)")
    updated_to: SyncMoment | None = Field(None, description="Only rows changed before this time (exclusive)")
    sort: SyncSort | None = Field(
        None,
        description="The order: by id, creation or last change, `-` for descending; the id breaks ties in the "
        "same direction, so pages are stable. Omitted: the list's usual order (see the operation), also stable.",
    )


def sync_apply(queryset: QuerySet[_M], filters: SyncFilter, *, default: Sequence[str] = ("id",)) -> QuerySet[_M]:
    """`queryset` narrowed by the sync parameters and ordered by `filters.sort` (or `default`), with the primary
    key as the final tiebreak in the direction of the first key.  A range whose start is after its end is a 422
    naming the start."""
    for name in ("created", "updated"):
        start, end = getattr(filters, f"{name}_from"), getattr(filters, f"{name}_to")
        if start is not None and end is not None and start > end:
            raise ValidationError(
                {
                    f"{name}_from": [
                        gettext("The start of the range must not be after its end ({field}).").format(
                            field=f"{name}_to"
                        )
                    ]
                }
            )
        if start is not None:
            queryset = queryset.filter(**{f"{name}_at__gte": start})
        if end is not None:
            queryset = queryset.filter(**{f"{name}_at__lt": end})
    if filters.updated_since is not None:
        queryset = queryset.filter(updated_at__gte=filters.updated_since)
    return queryset.order_by(*stable_order(filters.sort or None, default))


def stable_order(sort: str | None, default: Sequence[str] = ("id",)) -> list[str]:
    """The order keys of `sort` (or `default`), ending on the primary key in the direction of the first key."""
    keys = [sort] if sort else list(default) or ["id"]
    if keys[-1].lstrip("-") in ("id", "pk"):
        return keys
    descending = keys[0].startswith("-")
    return [*keys, "-pk" if descending else "pk"]


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
