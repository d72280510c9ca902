"""Request-level protections the web shell adds in front of every app: the client's address as the login
lockout and the rate limits count it, and the per-address limit on POSTs to public pages (docs/SECURITY.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

RATE_LIMITED = 429


def client_ip(request: HttpRequest) -> str:
    """The address of the client: the connection's, or, behind AFTERSALES_PROXY_COUNT trusted proxies that each
    append to X-Forwarded-For, the entry the first of them added (entries before it are the client's word)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count = settings.AFTERSALES_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    return hops[-count] if len(hops) >= count else remote


class PublicPostRateLimitMiddleware:
    """At most AFTERSALES_PUBLIC_POST_RATE = (requests, seconds) POSTs per client address to pages that need no
    log-in (customer links, online booking, the log-in form).  The API (bearer tokens) and staff pages are not
    counted.  A fixed window in the cache: shared by every web process when the cache is Redis."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        rate = settings.AFTERSALES_PUBLIC_POST_RATE
        if rate is None or request.method != "POST" or getattr(view_func, "login_required", True):
            return None
        match = request.resolver_match
        if match is not None and "api" in match.namespaces:
            return None
        limit, seconds = rate
        window = int(timezone.now().timestamp()) // seconds
        key = f"rate:public-post:{client_ip(request)}:{window}"
        cache.add(key, 0, timeout=seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens the next window
            cache.set(key, 1, timeout=seconds + 1)
            count = 1
        if count <= limit:
            return None
        response = render(request, "shell/too_many_requests.html", {"seconds": seconds}, status=RATE_LIMITED)
        response["Retry-After"] = str(seconds)
        return response


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """django-axes' answer to a locked-out log-in: the shell's page in the visitor's language (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=RATE_LIMITED)
