"""What the feedback pages share: the capability check, the stores a list covers, and the customer picker
that opens the intake forms."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from aftersales.customers import selectors as customer_selectors
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability, user_can

CUSTOMER_MATCHES = 10  # the picker shows the best few; the search narrows further


def require_capability(request: HttpRequest, capability: Capability, store_id: int | None = None) -> None:
    if not user_can(request.user, capability, store_id):
        raise PermissionDenied(_("Your role may not do this."))


def stores_where(request: HttpRequest, capability: Capability) -> frozenset[int]:
    """The listed stores (the chosen one, or all the user's), narrowed to those where the role has the
    capability (a technician of one store may be an advisor of another)."""
    return frozenset(s for s in current_store_ids(request) if user_can(request.user, capability, s))


def customer_pick_page(request: HttpRequest, template: str, capability: Capability) -> HttpResponse:
    """Step one of an intake form: search the stores' customers by name, mobile, last four digits or plate.
    The channel chosen on the page that linked here is carried over."""
    query = request.GET.get("q", "").strip()[:60]
    found = (
        list(
            customer_selectors.customer_list(
                user=request.user, store_ids=stores_where(request, capability), query=query
            )[:CUSTOMER_MATCHES]
        )
        if query
        else []
    )
    keep = {k: request.GET[k] for k in ("channel",) if request.GET.get(k)}
    return render(
        request,
        template,
        {"query": query, "found": found, "keep": urlencode(keep), "keep_channel": keep.get("channel", "")},
    )
