"""Our 404 and 403 pages: a member of staff stays inside the shell (menu, store and language switch), a customer
gets the customer pages' look in the language of the link (core/language.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from aftersales.core.language import is_customer_page, requested_language


def _activate_link_language(request: HttpRequest) -> None:
    # A URL that matched no view never reached the customer_page decorator: `?lang=` still names the language.
    from django.utils import translation

    chosen = requested_language(request)
    if chosen:
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    _activate_link_language(request)
    template = "shell/customer_not_found.html" if is_customer_page(request) else "shell/not_found.html"
    return render(request, template, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The reason is shown when the refusal gave one: ours are translated sentences ("Your role may not …")."""
    _activate_link_language(request)
    reason = str(exception) if exception is not None and exception.args else ""
    template = "shell/customer_forbidden.html" if is_customer_page(request) else "shell/forbidden.html"
    return render(request, template, {"reason": reason}, status=403)
