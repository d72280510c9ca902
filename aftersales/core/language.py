"""The language of a customer's page.

A customer opens our pages from links, without an account, often in a phone browser whose own language is not the
one they read us in.  The language they chose travels with the link as `?lang=<code>`: every link between customer
pages carries it, and the page remembers it in the language cookie, so a form that posts elsewhere and a link that
has been cut or tampered with (the signed part no longer opens, the `lang` beside it still does) answer in the same
language as the page the customer came from.  Without `lang`, Django's order applies (cookie, then the browser).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def requested_language(request: HttpRequest) -> str | None:
    """The supported language named by `?lang=` (e.g. zh-Hans, zh-hans, en), or None."""
    code = request.GET.get("lang", "")
    if not code or len(code) > 16:
        return None
    try:
        return translation.get_supported_language_variant(code.lower())
    except LookupError:
        return None


def customer_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view as a customer page: it answers in the link's language, and our 404 page for it is the
    customer's page, not the staff shell's."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        chosen = requested_language(request)
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = view(request, *args, **kwargs)
        if chosen:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                samesite="Lax",
            )
        return response

    wrapped.customer_page = True  # type: ignore[attr-defined]
    return wrapped


def is_customer_page(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and getattr(match.func, "customer_page", False))
