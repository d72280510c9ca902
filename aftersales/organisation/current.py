"""The store a user is working in, kept in the session; None means "all my stores"."""

from __future__ import annotations

from django.http import HttpRequest

from aftersales.core.scoping import visible_store_ids
from aftersales.organisation.models import Store

SESSION_KEY = "aftersales_store_id"
_CACHE_ATTR = "_aftersales_current_store"


def current_store(request: HttpRequest) -> Store | None:
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    store = None
    store_id = request.session.get(SESSION_KEY)
    if store_id and store_id in visible_store_ids(request.user):
        store = Store.objects.select_related("group").filter(pk=store_id).first()
    elif store_id:
        request.session.pop(SESSION_KEY, None)
    setattr(request, _CACHE_ATTR, store)
    return store


def current_store_ids(request: HttpRequest) -> frozenset[int]:
    """The store ids pages should list: the chosen store, or every store the user may see."""
    store = current_store(request)
    return frozenset({store.pk}) if store else visible_store_ids(request.user)


def set_current_store(request: HttpRequest, store_id: int | None) -> bool:
    """Switch stores; refuses (False) a store the user may not see."""
    if store_id is None:
        request.session.pop(SESSION_KEY, None)
    elif store_id in visible_store_ids(request.user):
        request.session[SESSION_KEY] = store_id
    else:
        return False
    if hasattr(request, _CACHE_ATTR):
        delattr(request, _CACHE_ATTR)
    return True
