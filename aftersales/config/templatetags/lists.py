"""The staff list pages' shared pieces: `{% pager page %}` under a list and `{% list_filters filters %}` above it."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.paginator import Page

from aftersales.core.pagination import Filter

register = template.Library()


def _url(request: Any, **changes: Any) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return "?" + query.urlencode() if query else "?"


@register.inclusion_tag("shell/partials/_pager.html", takes_context=True)
def pager(context: Any, page: Page, param: str = "page") -> dict[str, Any]:
    """Previous / page n of m / next, keeping the other filters of the address; `param` names the page number
    when a page has two paged lists."""
    request = context["request"]
    return {
        "page": page,
        "previous_url": _url(request, **{param: page.previous_page_number()}) if page.has_previous() else "",
        "next_url": _url(request, **{param: page.next_page_number()}) if page.has_next() else "",
        "first_url": _url(request, **{param: None}) if page.number > 2 else "",
        "last_url": _url(request, **{param: page.paginator.num_pages})
        if page.number < page.paginator.num_pages - 1
        else "",
    }


@register.inclusion_tag("shell/partials/_filters.html", takes_context=True)
def list_filters(context: Any, filters: list[Filter], keep: str = "") -> dict[str, Any]:
    """A GET form with the list's filters (a new filter starts again at page 1); `keep` names other parameters
    (comma-separated, e.g. a tab) that the form carries along as hidden fields."""
    request = context["request"]
    names = [name.strip() for name in keep.split(",") if name.strip()]
    active = any(f.text for f in filters)
    return {
        "filters": filters,
        "hidden": [(name, request.GET.get(name, "")) for name in names if request.GET.get(name)],
        "clear_url": _url(request, page=None, **{f.name: None for f in filters}) if active else "",
    }
