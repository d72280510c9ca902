"""What the feedback pages share: the customer picker that opens the intake forms.  Role checks come from
`organisation.access` (`require`, `capability_required`) and the rulebook (`transitions.*_moves_for`); lists narrow
with `for_user(user, capability)` through the selectors."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from aftersales.core.scoping import store_ids_where
from aftersales.customers import selectors as customer_selectors
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.permissions import Capability

CUSTOMER_MATCHES = 10  # the picker shows the best few; the search narrows further


def customer_pick_page(request: HttpRequest, template: str, capabilities: Iterable[Capability]) -> HttpResponse:
    """Step one of an intake form: search the customers of the stores where the user holds one of `capabilities`
    (the intake move's, from the rulebook) by name, mobile, last four digits or plate.  The channel chosen on the
    page that linked here is carried over."""
    store_ids = frozenset[int]().union(*(store_ids_where(request.user, c) for c in capabilities))
    query = request.GET.get("q", "").strip()[:60]
    found = (
        list(
            customer_selectors.customer_list(
                user=request.user,
                store_ids=current_store_ids(request) & store_ids,
                query=query,
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
